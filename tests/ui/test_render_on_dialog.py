"""Render > Render on… as a user meets it: the address checked as it is typed, Test connection listing the
nodes (off the UI thread), the install command where Ray is missing, and the choice kept for the next start."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QSettings, Qt
from PySide6.QtWidgets import QRadioButton
from pytestqt.qtbot import QtBot

from hear2see_desktop.core.cluster.address import INSTALL_COMMAND
from hear2see_desktop.core.settings import RenderSettings
from hear2see_desktop.ui import render_on_dialog
from hear2see_desktop.ui.render_on_dialog import RenderOnDialog
from hear2see_desktop.ui.settings_store import RenderOn, SettingsStore
from tests.ui.driving import button_named, choose, click, type_text
from tests.ui.window_setup import Dialogs, make_window

TIMEOUT_MS = 60_000


def store_in(tmp_path: Path) -> SettingsStore:
    return SettingsStore(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))


@pytest.fixture
def made(qtbot: QtBot) -> Iterator[list[RenderOnDialog]]:
    """The dialogs a test made, held until their connection tests have ended (Qt aborts on a running thread's
    destruction)."""
    dialogs: list[RenderOnDialog] = []
    yield dialogs
    for dialog in dialogs:
        thread = dialog.stop()
        if thread is not None:
            thread.wait(TIMEOUT_MS)  # type: ignore[attr-defined]


def open_dialog(qtbot: QtBot, made: list[RenderOnDialog], store: SettingsStore, **kwargs: object) -> RenderOnDialog:
    dialog = RenderOnDialog(store, **kwargs)  # type: ignore[arg-type]
    qtbot.addWidget(dialog)
    made.append(dialog)
    dialog.show()
    return dialog


def test_a_wrong_address_is_said_beside_the_field_and_ok_keeps_the_dialog_open(
        qtbot: QtBot, made: list[RenderOnDialog], tmp_path: Path) -> None:
    store = store_in(tmp_path)
    dialog = open_dialog(qtbot, made, store, ray_available=True)
    assert dialog.this_computer.isChecked() and not dialog.address.isEnabled()
    assert not dialog.address_error.isVisible(), "a fresh dialog opens without a complaint"

    pick(qtbot, dialog.cluster)
    type_text(qtbot, dialog.address, "ray:/gpu-box")
    assert dialog.address_error.isVisible()
    assert "'ray:/gpu-box' is not a cluster address" in dialog.address_error.text()
    assert not dialog.test_button.isEnabled(), "nothing to test until the address is one"
    click(qtbot, button_named(dialog, "OK"))
    assert dialog.isVisible() and store.render_on() is None, "a wrong address is not saved"

    type_text(qtbot, dialog.address, "ray://gpu-box:10001")
    assert not dialog.address_error.isVisible() and dialog.test_button.isEnabled()


def test_an_empty_address_is_asked_for_on_ok(qtbot: QtBot, made: list[RenderOnDialog], tmp_path: Path) -> None:
    dialog = open_dialog(qtbot, made, store_in(tmp_path), ray_available=True)
    pick(qtbot, dialog.cluster)
    assert not dialog.address_error.isVisible()
    click(qtbot, button_named(dialog, "OK"))
    assert dialog.isVisible() and dialog.address_error.isVisible()
    assert dialog.address_error.text().startswith("Give the cluster's address")


def test_test_connection_lists_this_computer_for_local(qtbot: QtBot, made: list[RenderOnDialog], tmp_path: Path,
                                                       tiny_models: tuple[Path, Path, Path]) -> None:
    dialog = open_dialog(qtbot, made, store_in(tmp_path), ray_available=True)
    dialog.set_render_settings(RenderSettings(model=str(tiny_models[0])))
    pick(qtbot, dialog.cluster)
    type_text(qtbot, dialog.address, "local:2")
    click(qtbot, dialog.test_button)
    assert not dialog.test_button.isEnabled(), "one test at a time"
    qtbot.waitUntil(lambda: "starts 2 workers" in dialog.result.text(), timeout=TIMEOUT_MS)

    lines = dialog.result.text().splitlines()
    assert lines[0].startswith("local:2 starts 2 workers on this computer")
    assert f"{_count(os.cpu_count() or 1, 'CPU')}" in lines[1]
    assert f"has {tiny_models[0]}" in lines[1], "the form's model is found on the node"
    qtbot.waitUntil(dialog.test_button.isEnabled, timeout=TIMEOUT_MS)


def test_an_unreachable_cluster_is_one_sentence_in_the_dialog(qtbot: QtBot, made: list[RenderOnDialog],
                                                              tmp_path: Path) -> None:
    pytest.importorskip("ray")
    from tests.core.cluster.ray_head import free_port

    dialog = open_dialog(qtbot, made, store_in(tmp_path), ray_available=True)
    pick(qtbot, dialog.cluster)
    address = f"ray://127.0.0.1:{free_port()}"
    type_text(qtbot, dialog.address, address)
    click(qtbot, dialog.test_button)
    qtbot.waitUntil(lambda: dialog.result.text().startswith("Cannot reach"), timeout=TIMEOUT_MS)
    assert address in dialog.result.text() and "\n" not in dialog.result.text()


def test_without_ray_the_cluster_choice_is_greyed_out_with_the_install_command(
        qtbot: QtBot, made: list[RenderOnDialog], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(render_on_dialog, "ray_installed", lambda: False)
    store = store_in(tmp_path)
    store.set_render_on(RenderOn.CLUSTER, "local:2")  # chosen before Ray went away
    dialog = open_dialog(qtbot, made, store)

    assert not dialog.cluster.isEnabled() and dialog.this_computer.isChecked()
    assert not dialog.address.isEnabled() and not dialog.test_button.isEnabled()
    assert dialog.install_note.isVisible() and INSTALL_COMMAND in dialog.install_note.text()


def test_with_ray_there_is_no_install_note(qtbot: QtBot, made: list[RenderOnDialog], tmp_path: Path) -> None:
    dialog = open_dialog(qtbot, made, store_in(tmp_path), ray_available=True)
    assert dialog.cluster.isEnabled() and not dialog.install_note.isVisible()


def test_the_choice_made_from_the_render_menu_is_kept_for_the_next_start(qtbot: QtBot, tmp_path: Path) -> None:
    pytest.importorskip("ray")  # the cluster choice needs Ray
    window = make_window(qtbot, tmp_path, Dialogs(), warm_up_asr=False)
    assert window.store.render_on() is None, "renders run on this computer until told otherwise"
    choose(window, "Render", "Render on…")
    dialog = window.tool_dialogs.render_on_dialog
    assert dialog is not None and dialog.isVisible()
    pick(qtbot, dialog.cluster)
    type_text(qtbot, dialog.address, "ray://gpu-box:10001")
    click(qtbot, button_named(dialog, "OK"))
    assert not dialog.isVisible()
    window.close()

    again = make_window(qtbot, tmp_path, Dialogs(), warm_up_asr=False)  # the next start reads the same settings
    assert again.store.render_on() == "ray://gpu-box:10001"
    choose(again, "Render", "Render on…")
    dialog = again.tool_dialogs.render_on_dialog
    assert dialog is not None and dialog.cluster.isChecked() and dialog.address.text() == "ray://gpu-box:10001"
    pick(qtbot, dialog.this_computer)
    click(qtbot, button_named(dialog, "OK"))
    assert again.store.render_on() is None
    assert again.store.cluster_address() == "ray://gpu-box:10001", "the address waits for the next switch"


def pick(qtbot: QtBot, radio: QRadioButton) -> None:
    """Click a radio button's circle, as a person does (the button spans the dialog's width)."""
    assert radio.isVisible() and radio.isEnabled(), f"{radio.text()!r} cannot be chosen"
    qtbot.mouseClick(radio, Qt.MouseButton.LeftButton, pos=QPoint(8, radio.height() // 2))
    assert radio.isChecked(), f"clicking {radio.text()!r} did not choose it"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def test_the_window_s_render_goes_where_render_on_says(qtbot: QtBot, tmp_path: Path, narration_wav: Path) -> None:
    from hear2see_desktop.ui.main_window.render_start import request_for
    from tests.ui.test_render_estimate_panel import with_narration

    window = make_window(qtbot, tmp_path, Dialogs(), warm_up_asr=False)
    with_narration(qtbot, window, narration_wav)
    settings = window.current_settings()
    assert request_for(window, settings).cluster is None, "this computer, until told otherwise"
    window.store.set_render_on(RenderOn.CLUSTER, "local:2")
    assert request_for(window, settings).cluster == "local:2"
    window.store.set_render_on(RenderOn.THIS_COMPUTER, "local:2")
    assert request_for(window, settings).cluster is None
