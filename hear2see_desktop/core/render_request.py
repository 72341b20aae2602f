"""What to render: the narration, where the MP4 goes, the settings, and what the render may skip.

A request comes from a front end (CLI flags, the window's settings panel) or from a logged run
(`replay_request`); the render job (render_job.py) checks it (render_preflight.py) and runs it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hear2see_desktop.core.errors import BadInputError
from hear2see_desktop.core.hashing import sha256_file
from hear2see_desktop.core.run_record import RunRecord
from hear2see_desktop.core.settings import RenderSettings
from hear2see_desktop.core.storyboard.board import Storyboard
from hear2see_desktop.core.transcript import Transcript


@dataclass
class RenderRequest:
    """What to render: the narration, where the MP4 goes, and the settings.

    `transcript` skips ASR (replays pass the logged one). An empty `settings.prompt` means
    "build the prompt from the transcript".
    """

    audio_path: Path
    out_path: Path
    settings: RenderSettings
    engine: str = "auto"
    asr_model: str | None = None
    asr_language: str | None = None  # an ISO code: the installed Vosk model for that language
    runs_log: Path | None = None
    transcript: Transcript | None = None
    replay_of: str | None = None
    frames_dir: Path | None = None  # also keep each distinct image as frame_0001.png ... here
    storyboard: Storyboard | None = None  # scene times and prompts (default: split from the transcript)
    srt_path: Path | None = None
    vtt_path: Path | None = None
    cache_dir: Path | None = None  # the frame cache (default: the app's cache folder)
    use_cache: bool = True
    ass_path: Path | None = None  # subtitles with the caption style (core/subtitles_ass.py)
    sound_model: str | None = None  # a sound-event tagger (folder or catalogue name): sounds shape the scenes
    cluster: str | None = None  # a Ray cluster address (core/cluster/address.py) to render on; None: this computer

    def subtitle_paths(self) -> list[Path]:
        """The subtitle files asked for: SRT, WebVTT, ASS."""
        return [path for path in (self.srt_path, self.vtt_path, self.ass_path) if path is not None]


def replay_request(record: RunRecord, out_path: Path, runs_log: Path | None) -> RenderRequest:
    """A request that renders a logged run again: same audio (and music), transcript, prompt, settings and
    storyboard."""

    audio_path = Path(record.audio.path)
    if not audio_path.is_file():
        raise BadInputError(f"The narration of run {record.id} is gone ({audio_path}): restore it to replay.")
    if sha256_file(audio_path) != record.audio.sha256:
        raise BadInputError(f"The narration {audio_path.name} changed since run {record.id}: the replay would differ.")
    if record.music is not None:
        music_path = Path(record.music.path)
        if not music_path.is_file():
            raise BadInputError(f"The music of run {record.id} is gone ({music_path}): restore it to replay.")
        if sha256_file(music_path) != record.music.sha256:
            raise BadInputError(f"The music {music_path.name} changed since run {record.id}: the replay would differ.")
    return RenderRequest(audio_path=audio_path, out_path=out_path, settings=record.settings, runs_log=runs_log,
                         transcript=record.transcript, replay_of=record.id, storyboard=record.storyboard)
