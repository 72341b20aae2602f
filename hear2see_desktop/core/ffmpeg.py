"""Where the ffmpeg program is: the binary imageio-ffmpeg ships, so nothing depends on the system's."""

from __future__ import annotations

from hear2see_desktop.core.errors import Hear2SeeError


def ffmpeg_exe() -> str:
    """Path of the bundled ffmpeg; a broken install gets one sentence, not an ImportError."""
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError) as e:
        raise Hear2SeeError("The bundled ffmpeg program is missing; reinstall HEAR2SEE Desktop.") from e
