"""The main window, a feature package: `window.MainWindow` composes the parts that live beside it."""

from hear2see_desktop.ui.main_window.window import (
    AUDIO_FILTER,
    AUTOSAVE_DELAY_MS,
    PROJECT_FILTER,
    RECOVER_QUESTION,
    SCENE_REBUILD_DELAY_MS,
    STORYBOARD_LENGTH_TOLERANCE_S,
    MainWindow,
    ask_yes_no,
    format_eta,
)

__all__ = [
    "AUDIO_FILTER",
    "AUTOSAVE_DELAY_MS",
    "PROJECT_FILTER",
    "RECOVER_QUESTION",
    "SCENE_REBUILD_DELAY_MS",
    "STORYBOARD_LENGTH_TOLERANCE_S",
    "MainWindow",
    "ask_yes_no",
    "format_eta",
]
