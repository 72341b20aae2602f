"""The Models dialog as a user meets it: a catalogue served from 127.0.0.1 (internet blocked), real downloads,
real imports into an isolated models folder, and the Model / LoRA pickers that follow them.

Message boxes and file pickers are answered by `Answers`; worker signals arrive queued, so the tests wait
with `qtbot.waitUntil`.
"""

from __future__ import annotations

import json
import os
import pickle
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from pytestqt.qtbot import QtBot
from safetensors.numpy import save_file

from hear2see_desktop.core import paths
from hear2see_desktop.core.models.importing import list_imported
from hear2see_desktop.core.models.registry import models_root
from hear2see_desktop.core.models.thumbnails import save_thumbnail
from hear2see_desktop.ui.models_dialog import TRUST_QUESTION, ModelsDialog
from hear2see_desktop.ui.render_settings_panel import RenderSettingsPanel
from tests.model_server import ModelServer, Served, block_internet, model_server, sha256
from tests.ui.driving import choose, click

WEIGHTS = os.urandom(64 * 1024)
SLOW_BYTES = 2 * 1024 * 1024  # served 4 KB per 10 ms: about five seconds, long enough to cancel
TIMEOUT_MS = 20_000


class Answers:
    """Stands in for the message boxes and pickers: answers as told, records what was asked and shown."""

    def __init__(self) -> None:
        self.yes = True
        self.file = ""
        self.folder = ""
        self.questions: list[tuple[str, str]] = []
        self.errors: list[tuple[str, str]] = []
        self.opened: list[Path] = []

    def confirm(self, _parent: object, title: str, text: str) -> bool:
        self.questions.append((title, text))
        return self.yes

    def error(self, _parent: object, title: str, text: str) -> None:
        self.errors.append((title, text))


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[ModelServer]:
    """A local hub and a catalogue pointing at it: a LoRA, a slow SD model and a file the server lost."""
    block_internet(monkeypatch)
    with model_server() as running:
        running.files["/lora.safetensors"] = Served(WEIGHTS, etag=sha256(WEIGHTS))
        running.files["/slow.bin"] = Served(os.urandom(SLOW_BYTES), delay_s=0.01)

        def entry(name: str, kind: str, folder: str, path: str, url: str) -> dict:
            return {"name": name, "kind": kind, "title": name.title(), "licence": "MIT", "size_bytes": 64_000,
                    "folder": folder, "marker": path,
                    "files": [{"url": running.url(url), "path": path, "sha256": None, "size": 64_000}]}

        catalogue = {"models": [
            entry("tiny-lora", "lora", "loras", "tiny.safetensors", "/lora.safetensors"),
            entry("slow-sd", "sd", "sd/slow", "slow.safetensors", "/slow.bin"),
            entry("gone", "clip", "clip", "config.json", "/gone.json"),
        ]}
        path = tmp_path / "catalogue.json"
        path.write_text(json.dumps(catalogue))
        monkeypatch.setenv("HEAR2SEE_CATALOGUE", str(path))
        yield running


@pytest.fixture
def answers() -> Answers:
    return Answers()


@pytest.fixture
def dialog(qtbot: QtBot, server: ModelServer, answers: Answers) -> Iterator[ModelsDialog]:
    shown = ModelsDialog(confirm=answers.confirm, show_error=answers.error, choose_file=lambda _p: answers.file,
                         choose_folder=lambda _p, _start: answers.folder, open_folder=answers.opened.append)
    qtbot.addWidget(shown)
    shown.show()
    yield shown
    if shown._worker is not None:  # a failed test must not leave a thread running into the next one
        shown.stop_download()
        qtbot.waitUntil(lambda: shown._worker is None, timeout=TIMEOUT_MS)


def installed_lora() -> Path:
    return models_root() / "loras" / "tiny.safetensors"


def sd15_lora(path: Path) -> Path:
    """A LoRA with SD 1.5's layer widths (768), tiny otherwise: it passes the import check."""
    save_file({
        "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.lora_down.weight":
            np.zeros((4, 768), np.float32),
        "lora_te_text_model_encoder_layers_0_self_attn_q_proj.lora_down.weight": np.zeros((4, 768), np.float32),
    }, str(path))
    return path


def sd15_checkpoint(path: Path) -> Path:
    """A header-true SD 1.5 single-file checkpoint: the layers the check reads have their real widths."""
    save_file({
        "model.diffusion_model.input_blocks.0.0.weight": np.zeros((320, 4, 3, 3), np.float16),
        "model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight":
            np.zeros((320, 768), np.float16),
        "first_stage_model.decoder.conv_in.bias": np.zeros(4, np.float32),
        "cond_stage_model.transformer.text_model.final_layer_norm.bias": np.zeros(4, np.float32),
    }, str(path))
    return path


class WritesAFile:
    """A pickle payload: unpickling it writes a file, as a malicious checkpoint would run code."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (Path.write_text, (self.marker, "this pickle ran code"))


def menu_paths(menu: object) -> dict[str, str]:
    """Label -> path of a picker menu's model entries (not the hint, the separator or Browse…)."""
    return {action.text(): action.data() for action in menu.actions() if action.data()}  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------------------------------------
# The list


def test_the_list_shows_each_entry_with_its_size_licence_and_state(dialog: ModelsDialog) -> None:
    assert [row.key for row in dialog.rows] == ["tiny-lora", "slow-sd", "gone"]
    assert {key: dialog.state_text(key) for key in ("tiny-lora", "slow-sd", "gone")} == dict.fromkeys(
        ("tiny-lora", "slow-sd", "gone"), "not installed")
    row = dialog.row_index("slow-sd")
    assert [dialog.table.item(row, column).text() for column in range(5)] == [
        "Slow-Sd", "Pictures (Stable Diffusion model)", "64 kB", "MIT", "not installed"]

    installed_lora().parent.mkdir(parents=True)
    installed_lora().write_bytes(WEIGHTS)
    part = models_root() / "sd" / "slow" / "slow.safetensors.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(b"x" * 5000)
    dialog.refresh()
    assert dialog.state_text("tiny-lora") == "installed"
    assert dialog.state_text("slow-sd") == "partly downloaded (5.0 kB)"
    dialog.select("slow-sd")
    assert dialog.download_button.isEnabled() and dialog.download_button.text() == "Resume"
    dialog.select("tiny-lora")
    assert not dialog.download_button.isEnabled() and dialog.remove_button.isEnabled()


def test_download_fetches_the_file_and_the_row_becomes_installed(qtbot: QtBot, dialog: ModelsDialog,
                                                                  server: ModelServer) -> None:
    dialog.select("tiny-lora")
    with qtbot.waitSignal(dialog.models_changed, timeout=TIMEOUT_MS):
        dialog.download_button.click()
        assert not dialog.download_button.isEnabled() and not dialog.import_button.isEnabled()
        assert dialog.progress_bar.isVisible() and dialog.cancel_button.isEnabled()
    assert dialog.state_text("tiny-lora") == "installed"
    assert installed_lora().read_bytes() == WEIGHTS
    assert not dialog.progress_bar.isVisible() and dialog.status_label.text() == "Installed Tiny-Lora."
    assert server.ranges("/lora.safetensors") == [None]


def test_cancel_mid_download_leaves_no_final_file_and_the_row_can_resume(qtbot: QtBot, dialog: ModelsDialog,
                                                                         answers: Answers) -> None:
    dialog.select("slow-sd")
    dialog.download_button.click()
    # The message under way shows the speed and the time left, and the bar moves.
    qtbot.waitUntil(lambda: "/s, " in dialog.status_label.text() and " left" in dialog.status_label.text(),
                    timeout=TIMEOUT_MS)
    assert dialog.progress_bar.maximum() == 1000 and 0 < dialog.progress_bar.value() < 1000
    dialog.cancel_button.click()
    qtbot.waitUntil(lambda: dialog._worker is None, timeout=TIMEOUT_MS)
    final = models_root() / "sd" / "slow" / "slow.safetensors"
    assert not final.exists() and final.with_name(final.name + ".part").stat().st_size > 0
    assert dialog.state_text("slow-sd").startswith("partly downloaded (")
    assert "cancelled" in dialog.status_label.text() and dialog.download_button.text() == "Resume"
    assert answers.errors == []  # a cancel is not a failure


def test_a_failed_download_shows_one_sentence(qtbot: QtBot, dialog: ModelsDialog, answers: Answers) -> None:
    dialog.select("gone")
    dialog.download_button.click()
    qtbot.waitUntil(lambda: bool(answers.errors), timeout=TIMEOUT_MS)
    [(title, text)] = answers.errors
    assert title == "Download failed"
    assert "HTTP 404" in text and text.endswith(".") and "\n" not in text
    assert dialog.state_text("gone") == "not installed" and dialog.import_button.isEnabled()


def test_closing_during_a_download_asks_then_cancels_before_closing(qtbot: QtBot, dialog: ModelsDialog,
                                                                    answers: Answers) -> None:
    dialog.select("slow-sd")
    dialog.download_button.click()
    qtbot.waitUntil(lambda: dialog.progress_bar.value() > 0, timeout=TIMEOUT_MS)
    answers.yes = False
    dialog.reject()
    assert dialog.isVisible() and dialog._worker is not None  # "No": the download goes on
    assert answers.questions[-1][0] == "Download running"
    answers.yes = True
    dialog.close()
    assert dialog.isVisible()  # it closes once the worker has stopped, never under a running thread
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=TIMEOUT_MS)
    assert dialog._worker is None
    assert not (models_root() / "sd" / "slow" / "slow.safetensors").exists()


def test_remove_asks_first_then_deletes_the_files(qtbot: QtBot, dialog: ModelsDialog, answers: Answers) -> None:
    installed_lora().parent.mkdir(parents=True)
    installed_lora().write_bytes(WEIGHTS)
    dialog.refresh()
    dialog.select("tiny-lora")
    answers.yes = False
    dialog.remove_button.click()
    assert answers.questions[-1][0] == "Remove model" and installed_lora().exists()
    answers.yes = True
    with qtbot.waitSignal(dialog.models_changed, timeout=TIMEOUT_MS):
        dialog.remove_button.click()
    assert not installed_lora().exists()
    assert dialog.state_text("tiny-lora") == "not installed"
    assert dialog.status_label.text() == "Removed Tiny-Lora, freeing 66 kB."


# ---------------------------------------------------------------------------------------------------------
# Imports and the pickers


def test_imports_add_rows_and_the_pickers_list_them(qtbot: QtBot, dialog: ModelsDialog, answers: Answers,
                                                    tmp_path: Path) -> None:
    panel = RenderSettingsPanel()
    qtbot.addWidget(panel)
    dialog.models_changed.connect(panel.refresh_model_choices)
    assert menu_paths(panel.model_menu) == {} and menu_paths(panel.lora_menu) == {}
    assert any(not action.isEnabled() and "No models installed" in action.text()
               for action in panel.model_menu.actions())

    for source in (sd15_lora(tmp_path / "ink-style.safetensors"), sd15_checkpoint(tmp_path / "dreamy.safetensors")):
        answers.file = str(source)
        with qtbot.waitSignal(dialog.models_changed, timeout=TIMEOUT_MS):
            dialog.import_button.click()
    lora, checkpoint = models_root() / "loras" / "ink-style.safetensors", models_root() / "sd" / "dreamy.safetensors"
    assert dialog.state_text(str(lora)) == "imported" and dialog.state_text(str(checkpoint)) == "imported"
    assert dialog.table.item(dialog.row_index(str(lora)), 1).text() == "Pictures (imported LoRA)"
    assert dialog.selected_row().key == str(checkpoint)  # the new row is selected
    assert not dialog.remove_button.isEnabled() and answers.errors == []

    # A catalogue SD model downloaded earlier is listed too, and a thumbnail a render left shows as its icon.
    slow = models_root() / "sd" / "slow" / "slow.safetensors"
    slow.parent.mkdir(parents=True)
    slow.write_bytes(b"weights")
    assert save_thumbnail(str(checkpoint), np.full((64, 80, 3), 200, np.uint8)) is not None
    panel.refresh_model_choices()
    assert menu_paths(panel.model_menu) == {"Slow-Sd": str(slow), "dreamy (imported)": str(checkpoint)}
    assert menu_paths(panel.lora_menu) == {"ink-style (imported)": str(lora)}
    icons = {action.text(): action.icon().isNull() for action in panel.model_menu.actions() if action.data()}
    assert icons == {"Slow-Sd": True, "dreamy (imported)": False}

    [choice] = [action for action in panel.lora_menu.actions() if action.data()]
    choice.trigger()
    assert panel.lora_edit.text() == str(lora) and panel.settings().loras[0].path == str(lora)
    [choice] = [action for action in panel.model_menu.actions() if action.data() == str(slow)]
    choice.trigger()
    assert panel.model_edit.text() == str(slow) and panel.settings().model == str(slow)


def test_a_pickle_asks_for_trust_and_no_imports_nothing(qtbot: QtBot, dialog: ModelsDialog, answers: Answers,
                                                        tmp_path: Path) -> None:
    marker = tmp_path / "marker.txt"
    evil = tmp_path / "evil.ckpt"
    evil.write_bytes(pickle.dumps({"state_dict": {}, "payload": WritesAFile(marker)}))
    answers.file = str(evil)
    answers.yes = False
    dialog.import_button.click()
    [(title, question)] = answers.questions
    assert title == "Import a pickle-based file" and question.endswith(TRUST_QUESTION)
    assert dialog._worker is None and dialog.status_label.text() == "evil.ckpt was not imported."
    assert list_imported() == [] and not marker.exists()
    assert not models_root().exists() or not [p for p in models_root().rglob("*") if p.is_file()]


def test_a_trusted_pickle_is_converted_and_a_malicious_one_refused(qtbot: QtBot, dialog: ModelsDialog,
                                                                   answers: Answers, tmp_path: Path) -> None:
    import torch
    from safetensors.numpy import load_file

    plain = tmp_path / "old-lora.pt"
    arrays = load_file(sd15_lora(tmp_path / "x.safetensors"))
    torch.save({name: torch.from_numpy(array) for name, array in arrays.items()}, plain)
    answers.file = str(plain)
    with qtbot.waitSignal(dialog.models_changed, timeout=TIMEOUT_MS):
        dialog.import_button.click()
    assert dialog.state_text(str(models_root() / "loras" / "old-lora.safetensors")) == "imported"
    assert [entry["converted_from"] for entry in list_imported()] == ["pt"]

    marker = tmp_path / "marker.txt"
    evil = tmp_path / "evil.pt"
    torch.save({"state_dict": {"model.diffusion_model.x": torch.zeros(2)}, "payload": WritesAFile(marker)}, evil)
    answers.file = str(evil)
    dialog.import_button.click()
    qtbot.waitUntil(lambda: bool(answers.errors), timeout=TIMEOUT_MS)
    [(title, text)] = answers.errors
    assert title == "Cannot import" and "cannot be converted safely" in text
    assert not marker.exists() and len(list_imported()) == 1


# ---------------------------------------------------------------------------------------------------------
# The models folder


def test_change_folder_and_use_default_update_the_shown_path(qtbot: QtBot, dialog: ModelsDialog, answers: Answers,
                                                              tmp_path: Path) -> None:
    default = paths.data_dir() / "models"
    assert dialog.folder_label.text() == str(default) and not dialog.override_label.isVisible()
    chosen = tmp_path / "usb-drive" / "models"
    (chosen / "loras").mkdir(parents=True)
    (chosen / "loras" / "tiny.safetensors").write_bytes(WEIGHTS)
    answers.folder = str(chosen)
    with qtbot.waitSignal(dialog.models_changed):
        dialog.change_folder_button.click()
    assert dialog.folder_label.text() == str(chosen) and models_root() == chosen
    assert dialog.state_text("tiny-lora") == "installed"

    answers.folder = str(tmp_path / "a-file")
    (tmp_path / "a-file").write_text("not a folder")
    dialog.change_folder_button.click()
    assert answers.errors[-1][0] == "Cannot use that folder" and models_root() == chosen

    dialog.open_folder_button.click()
    assert answers.opened == [chosen]
    dialog.default_folder_button.click()
    assert dialog.folder_label.text() == str(default) and dialog.state_text("tiny-lora") == "not installed"


def test_an_environment_override_is_shown_and_fixes_the_folder(qtbot: QtBot, server: ModelServer,
                                                               monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HEAR2SEE_MODELS_DIR", str(tmp_path / "env-models"))
    shown = ModelsDialog()
    qtbot.addWidget(shown)
    shown.show()
    assert shown.folder_label.text() == str(tmp_path / "env-models")
    assert shown.override_label.isVisible() and not shown.change_folder_button.isEnabled()


# ---------------------------------------------------------------------------------------------------------
# The main window


def test_the_main_window_opens_the_dialog_and_its_pickers_follow(qtbot: QtBot, server: ModelServer,
                                                                 tmp_path: Path) -> None:
    from PySide6.QtCore import QSettings

    from hear2see_desktop.ui.main_window import MainWindow
    from hear2see_desktop.ui.settings_store import SettingsStore

    answers = Answers()
    store = SettingsStore(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    window = MainWindow(store=store, confirm=answers.confirm, show_error=answers.error, list_devices=lambda: [],
                        warm_up_asr=False)
    qtbot.addWidget(window)
    window.show()
    choose(window, "File", "Models…")
    dialog = window.models_dialog
    assert dialog is not None and dialog.isVisible() and dialog.windowTitle() == "Models"
    dialog.choose_file = lambda _parent: str(sd15_lora(tmp_path / "watercolour.safetensors"))
    with qtbot.waitSignal(dialog.models_changed, timeout=TIMEOUT_MS):
        click(qtbot, dialog.import_button)
    imported = str(models_root() / "loras" / "watercolour.safetensors")
    assert menu_paths(window.settings_panel.lora_menu) == {"watercolour (imported)": imported}

    imported_file = Path(imported)  # removed behind the app's back: closing the dialog refreshes the pickers
    imported_file.unlink()
    dialog.close()
    qtbot.waitUntil(lambda: not dialog.isVisible())
    assert menu_paths(window.settings_panel.lora_menu) == {}
    choose(window, "File", "Models…")
    assert window.models_dialog is dialog and dialog.isVisible()
    dialog.close()
