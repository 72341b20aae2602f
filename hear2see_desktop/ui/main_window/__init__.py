"""The main window, a feature package: `window.MainWindow` composes the parts that live beside it.

menu_bar (menus that emit requests), work (the open work, plain data), workers (the running tasks), and
the parts that do the window's work through it (see host.WindowHost): take (import, transcription,
recording, playback), storyboard (prompt and scenes), render_session, export_session, project_files,
autosave_keeper and tool_dialogs.
"""

from hear2see_desktop.ui.main_window.autosave_keeper import AUTOSAVE_DELAY_MS, RECOVER_QUESTION
from hear2see_desktop.ui.main_window.project_files import PROJECT_FILTER, STORYBOARD_LENGTH_TOLERANCE_S
from hear2see_desktop.ui.main_window.render_session import format_eta
from hear2see_desktop.ui.main_window.storyboard import SCENE_REBUILD_DELAY_MS
from hear2see_desktop.ui.main_window.take import AUDIO_FILTER
from hear2see_desktop.ui.main_window.window import MainWindow, ask_yes_no

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
