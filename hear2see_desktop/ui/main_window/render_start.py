"""What a render of the work takes now: the checked settings and the request, the same for Render and the queue.

The Render button (render_session.py) and "Add to queue" (render_queue_part.py) both start from here, so a
queued render is the render the button would have started with the same form.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from hear2see_desktop.core import paths
from hear2see_desktop.core.errors import BadInputError
from hear2see_desktop.core.render.model_source import missing_model, model_missing_text
from hear2see_desktop.core.render_request import RenderRequest
from hear2see_desktop.ui.fix_words import sentence

if TYPE_CHECKING:
    from hear2see_desktop.core.settings import RenderSettings
    from hear2see_desktop.ui.main_window.host import WindowHost


def checked_settings(window: WindowHost) -> RenderSettings | None:
    """The settings the next render uses (a fresh seed unless locked), or None after saying what is wrong:
    a bad setting in a dialog, a missing model with the offer to get it (now, not after a worker starts)."""
    window.settings_panel.seed_for_next_render()
    settings = window.current_settings()
    try:
        settings.validate()
    except BadInputError as error:
        window.show_error(window, "Check the settings", sentence(error))
        return None
    missing = missing_model(settings.model)
    if missing is not None:
        if window.confirm(window, "Model needed", f"{model_missing_text(missing)}\n\nOpen File > Models… now?"):
            window.open_models_dialog()
        return None
    return settings


def request_for(window: WindowHost, settings: RenderSettings) -> RenderRequest:
    """A render of the work as it stands (narration, transcript as typed, scenes) into a fresh render folder:
    the MP4 there and each distinct image under its frames folder, on this computer or the Ray cluster chosen
    under Render > Render on…. The narration must be in."""
    audio_path = window.work.audio_path
    assert audio_path is not None
    folder = paths.render_folder(datetime.now())
    folder.mkdir(parents=True, exist_ok=True)
    return RenderRequest(
        audio_path=audio_path,
        out_path=folder / "video.mp4",
        settings=settings,
        transcript=window.transcript_for_render(),
        frames_dir=folder / paths.RENDER_FRAMES_FOLDER,
        storyboard=window.storyboard_for_render(settings),
        cluster=window.store.render_on(),  # Render > Render on…: None renders on this computer
        sound_model=window.sound_model(),
    )


__all__ = ["checked_settings", "request_for"]
