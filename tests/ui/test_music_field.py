"""The Music row of the render settings: chosen through the file dialog, cleared, its level kept in the settings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
from pytestqt.qtbot import QtBot

from hear2see_desktop.core.settings import RenderSettings
from hear2see_desktop.ui.render_settings_panel import RenderSettingsPanel
from tests.ui.driving import Modals, click


def test_music_is_browsed_for_levelled_and_cleared_in_the_settings(qtbot: QtBot, modals: Modals,
                                                                   tmp_path: Path) -> None:
    song = tmp_path / "theme.flac"
    sf.write(song, np.zeros((4800, 2), dtype=np.float32), 48000)
    panel = RenderSettingsPanel()
    qtbot.addWidget(panel)
    panel.show()
    music = panel.music
    assert panel.settings().music_path is None, "no music unless the user chooses some"
    assert not music.level.isEnabled() and not music.clear_button.isEnabled()

    modals.expect_file(song)
    with qtbot.waitSignal(panel.settings_changed):
        click(qtbot, music.browse_button)
    modals.wait_answered(qtbot)
    assert panel.settings().music_path == str(song)
    assert music.level.isEnabled()
    with qtbot.waitSignal(panel.settings_changed):
        music.level.setValue(-22.5)
    assert panel.settings().music_level_db == -22.5

    click(qtbot, music.clear_button)
    assert panel.settings().music_path is None and not music.level.isEnabled()

    # A project's settings come back into the row as they were saved.
    panel.set_settings(RenderSettings(music_path=str(song), music_level_db=-8.0))
    assert (panel.settings().music_path, panel.settings().music_level_db) == (str(song), -8.0)
