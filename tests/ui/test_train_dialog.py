"""The "Train a style" dialog as a user meets it: the tiny SD pipeline trained for a few steps on four 64 px
shapes, a live loss curve, validation images, Cancel keeping a checkpoint that Resume finishes from, and the
finished style in the main window's LoRA picker. Worker signals arrive queued, so the tests wait with
`qtbot.waitUntil`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtGui import QImage
from pytestqt.qtbot import QtBot

from hear2see_desktop.core.models.choices import lora_choices
from hear2see_desktop.core.models.registry import models_root
from hear2see_desktop.core.training.checkpoints import checkpoints_dir, saved_checkpoints
from hear2see_desktop.core.training.settings import TrainSettings
from hear2see_desktop.ui.loss_plot import LossPlot, smooth
from hear2see_desktop.ui.main_window import MainWindow
from hear2see_desktop.ui.sample_strip import SampleStrip
from hear2see_desktop.ui.settings_store import SettingsStore
from hear2see_desktop.ui.train_dialog import TrainDialog
from tests.tiny_dataset import write_shapes_dataset
from tests.ui.driving import choose, click
from tests.ui.window_setup import Dialogs, make_window

TIMEOUT_MS = 90_000


def fill_tiny(dialog: TrainDialog, dataset: Path, steps: int = 6, every: int = 3) -> None:
    """Settings that train the tiny model in seconds on two CPU cores."""
    dialog.set_dataset(str(dataset))
    dialog.form.rank.setValue(4)
    dialog.form.steps.setValue(steps)
    dialog.form.learning_rate.setValue(0.001)
    dialog.form.resolution.setValue(64)
    dialog.form.batch.setValue(2)
    dialog.form.every.setValue(every)
    dialog.form.validation_prompt.setText("a red square")
    dialog.form.validation_steps.setValue(2)
    dialog.form.device.setCurrentText("cpu")


@pytest.fixture
def made(qtbot: QtBot) -> Iterator[list[TrainDialog]]:
    """The dialogs a test made, held until their threads have ended (Qt aborts on a running thread's
    destruction, and qtbot only holds a weak reference)."""
    dialogs: list[TrainDialog] = []
    yield dialogs
    for dialog in dialogs:
        try:
            threads = dialog.stop_training()
        except RuntimeError:  # its window was closed and took it along, after waiting for its threads
            continue
        for thread in threads:
            thread.wait(TIMEOUT_MS)


def make_dialog(qtbot: QtBot, made: list[TrainDialog], dialogs: Dialogs, base: Path) -> TrainDialog:
    dialog = TrainDialog(base_model=str(base), confirm=dialogs.confirm, show_error=dialogs.error)
    qtbot.addWidget(dialog)
    made.append(dialog)
    dialog.show()
    return dialog


def test_a_style_trained_from_the_render_menu_lands_in_the_lora_picker(
    qtbot: QtBot, made: list[TrainDialog], tmp_path: Path, tiny_models: tuple[Path, Path, Path]
) -> None:
    dialogs = Dialogs()
    store = SettingsStore(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    window = MainWindow(store=store, confirm=dialogs.confirm, show_error=dialogs.error, list_devices=lambda: [],
                        warm_up_asr=False)
    qtbot.addWidget(window)
    window.settings_panel.model_edit.setText(str(tiny_models[0]))
    choose(window, "Render", "Train a style…")
    dialog = window.train_dialog
    assert dialog is not None and dialog.isVisible()
    made.append(dialog)
    assert dialog.form.base_edit.text() == str(tiny_models[0])  # the render's model is the default base

    fill_tiny(dialog, write_shapes_dataset(tmp_path / "shapes", count=4))
    qtbot.waitUntil(lambda: dialog.dataset is not None, timeout=TIMEOUT_MS)
    assert dialog.dataset_label.text().startswith("4 captioned images found")
    out = models_root() / "training" / "shapes.safetensors"
    assert dialog.output_edit.text() == str(out)  # named after the dataset folder

    click(qtbot, dialog.start_button)
    assert not dialog.start_button.isEnabled() and dialog.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: not dialog.is_training(), timeout=TIMEOUT_MS)
    assert dialogs.errors == []
    assert [step for step, _ in dialog.loss_plot.points] == [1, 2, 3, 4, 5, 6]
    assert [step for step, _ in dialog.samples.samples] == [3, 6]
    assert out.is_file()
    installed = dialog.trained_path
    assert installed is not None and installed.parent == models_root() / "loras"
    assert dialog.status_label.text().startswith(f"Saved {installed}")
    assert str(installed) in [choice.path for choice in lora_choices()]
    menu_paths = [action.data() for action in window.settings_panel.lora_menu.actions()]
    assert str(installed) in menu_paths  # the picker was refreshed without reopening anything

    assert dialog.use_button.isVisible()
    click(qtbot, dialog.use_button)
    assert window.settings_panel.lora_edit.text() == str(installed)
    window.close()


def test_cancel_keeps_a_checkpoint_and_resume_finishes(
    qtbot: QtBot, made: list[TrainDialog], tmp_path: Path, tiny_models: tuple[Path, Path, Path]
) -> None:
    dialogs = Dialogs()
    dialog = make_dialog(qtbot, made, dialogs, tiny_models[0])
    out = tmp_path / "style.safetensors"
    fill_tiny(dialog, write_shapes_dataset(tmp_path / "shapes", count=4), steps=8, every=4)
    dialog.output_edit.setText(str(out))
    dialog.start_button.click()
    qtbot.waitUntil(lambda: len(dialog.loss_plot.points) >= 1, timeout=TIMEOUT_MS)
    dialog.cancel_button.click()
    assert not dialog.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: not dialog.is_training(), timeout=TIMEOUT_MS)

    assert not out.exists()
    kept = saved_checkpoints(checkpoints_dir(out))
    assert kept, "a cancelled run keeps its steps as a checkpoint"
    assert "is kept: press Resume" in dialog.status_label.text()
    assert dialog.start_button.isEnabled() and dialog.start_button.text() == "Resume"
    assert dialog.resume.isChecked()
    steps_done = kept[-1][0]

    dialog.start_button.click()
    qtbot.waitUntil(lambda: not dialog.is_training(), timeout=TIMEOUT_MS)
    assert dialogs.errors == []
    assert out.is_file()
    assert dialog.loss_plot.points[-1][0] == 8
    assert [step for step, _ in dialog.loss_plot.points] == list(range(1, 9))  # the curve continues
    assert steps_done < 8 and dialog.start_button.text() == "Start"


def test_closing_while_training_asks_then_cancels_and_closes(
    qtbot: QtBot, made: list[TrainDialog], tmp_path: Path, tiny_models: tuple[Path, Path, Path]
) -> None:
    dialogs = Dialogs(answer=False)
    dialog = make_dialog(qtbot, made, dialogs, tiny_models[0])
    fill_tiny(dialog, write_shapes_dataset(tmp_path / "shapes", count=4))
    dialog.output_edit.setText(str(tmp_path / "style.safetensors"))
    dialog.start_button.click()
    dialog.reject()
    assert dialogs.questions == ["Training running"] and dialog.isVisible() and dialog.is_training()
    dialogs.answer = True
    dialog.reject()
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=TIMEOUT_MS)
    assert not dialog.is_training()
    assert not (tmp_path / "style.safetensors").exists()


def test_a_bad_dataset_folder_says_so_in_one_sentence(
    qtbot: QtBot, made: list[TrainDialog], tmp_path: Path, tiny_models: tuple[Path, Path, Path]
) -> None:
    dialogs = Dialogs()
    dialog = make_dialog(qtbot, made, dialogs, tiny_models[0])
    (tmp_path / "empty").mkdir()
    fill_tiny(dialog, tmp_path / "empty")
    dialog.output_edit.setText(str(tmp_path / "style.safetensors"))
    qtbot.waitUntil(lambda: "has no images" in dialog.dataset_label.text(), timeout=TIMEOUT_MS)

    dialog.start_button.click()
    qtbot.waitUntil(lambda: bool(dialogs.errors), timeout=TIMEOUT_MS)
    (title, text), = dialogs.errors
    assert title == "Cannot train" and "has no images" in text
    assert "\n" not in text and text.endswith(".") and "Traceback" not in text  # one sentence
    assert dialog.start_button.isEnabled() and not dialog.is_training()
    assert dialog.loss_plot.points == [] and not (tmp_path / "style.safetensors").exists()


def test_settings_out_of_range_are_refused_before_any_work(
    qtbot: QtBot, made: list[TrainDialog], tmp_path: Path, tiny_models: tuple[Path, Path, Path]
) -> None:
    dialogs = Dialogs()
    dialog = make_dialog(qtbot, made, dialogs, tiny_models[0])
    assert dialog.form.settings() == TrainSettings(base=str(tiny_models[0]))  # the form starts at the CLI's defaults
    dialog.form.alpha.setValue(8)
    dialog.form.warmup.setValue(0)
    assert (dialog.form.settings().alpha, dialog.form.settings().warmup_steps) == (8.0, 0)
    dialog.form.precision.setCurrentText("fp16")
    dialog.form.gradient_checkpointing.setCurrentText("on")
    assert (dialog.form.settings().precision, dialog.form.settings().gradient_checkpointing) == ("fp16", "on")
    fill_tiny(dialog, write_shapes_dataset(tmp_path / "shapes", count=4))
    dialog.form.resolution.setValue(100)
    dialog.start_button.click()
    assert dialogs.errors == [("Cannot train", "The resolution must be a multiple of 8 between 64 and 2048 pixels "
                                               "(got 100).")]
    assert not dialog.is_training()


def test_the_loss_plot_draws_raw_and_smoothed_points(qtbot: QtBot) -> None:
    plot = LossPlot()
    qtbot.addWidget(plot)
    plot.resize(400, 200)
    assert not plot.grab().isNull()  # the empty plot paints its hint
    plot.set_total_steps(10)
    for step, loss in enumerate([1.0, 0.8, 0.9, 0.5, float("nan"), 0.4], 1):
        plot.add_point(step, loss)
    assert [step for step, _ in plot.points] == [1, 2, 3, 4, 6]  # a NaN step is left out
    smoothed = plot.smoothed()
    assert smoothed[0] == pytest.approx(1.0) and max(smoothed) <= 1.0 and smoothed[-1] > 0.4
    image = plot.grab().toImage()
    assert image.width() == 400 and len({image.pixel(x, 100) for x in range(60, 390)}) > 1  # a curve was drawn
    plot.add_point(3, 0.7)  # a resume from step 2: the later points give way
    assert plot.points == [(1, 1.0), (2, 0.8), (3, 0.7)]
    plot.clear()
    assert plot.points == [] and not plot.grab().isNull()
    assert smooth([2.0, 2.0, 2.0]) == pytest.approx([2.0, 2.0, 2.0])


def test_the_sample_strip_shows_the_latest_image_large(qtbot: QtBot) -> None:
    strip = SampleStrip()
    qtbot.addWidget(strip)
    for step, colour in ((3, 0xFFFF0000), (6, 0xFF00FF00)):
        image = QImage(64, 64, QImage.Format.Format_RGB888)
        image.fill(colour)
        strip.add_sample(step, image)
    assert [step for step, _ in strip.samples] == [3, 6]
    assert strip.caption.text() == "Validation image after step 6"
    strip.show_sample(0)
    assert strip.caption.text() == "Validation image after step 3"
    strip.clear()
    assert strip.samples == [] and strip.caption.text() == ""


def test_a_base_model_that_is_not_installed_is_named_with_a_link_to_the_models_dialog(
    qtbot: QtBot, tmp_path: Path, tiny_models: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-hub-cache"))
    window = make_window(qtbot, tmp_path, Dialogs(), warm_up_asr=False)
    choose(window, "Render", "Train a style…")
    dialog = window.train_dialog
    assert dialog is not None
    notice = dialog.form.base_notice
    assert dialog.form.base_edit.text() == "stable-diffusion-v1-5/stable-diffusion-v1-5"
    assert notice.isVisible() and "Not installed" in notice.text() and "4.3 GB" in notice.text()
    notice.linkActivated.emit("models")
    assert window.models_dialog is not None and window.models_dialog.isVisible()
    window.models_dialog.reject()
    dialog.form.set_base(str(tiny_models[0]))
    assert not notice.isVisible()
    dialog.close()
    window.close()
