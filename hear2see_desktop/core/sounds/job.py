"""The sounds job: a take in, its sound-event track out (for `hear2see sounds`, the storyboard and the render)."""

from __future__ import annotations

from pathlib import Path

from hear2see_desktop.core.audio import Audio
from hear2see_desktop.core.errors import BadInputError
from hear2see_desktop.core.jobs import CancelledFn, ProgressFn, raise_if_cancelled
from hear2see_desktop.core.sounds.track import SoundTrack, tag_audio


def silence_error(audio_path: Path) -> BadInputError:
    """The sentence for a take that is silence alone: no speech and no sound to picture."""
    return BadInputError(f"{audio_path.name} is silent: there is neither speech nor sound to picture, so record "
                         "it again closer to the microphone.")


class SoundsJob:
    """Decode the take (unless given), load the tagger, tag the take window by window."""

    def __init__(self, audio_path: Path, sound_model: str | None = None, audio: Audio | None = None) -> None:
        """`sound_model`: a tagger folder or catalogue name (default: the catalogue's tagger)."""
        self.audio_path = audio_path
        self.sound_model = sound_model
        self.audio = audio

    def run(self, progress: ProgressFn, cancelled: CancelledFn) -> SoundTrack:
        from hear2see_desktop.core.audio import is_silent, load_audio
        from hear2see_desktop.core.sounds.tagger import load_tagger

        audio = self.audio or load_audio(self.audio_path)
        if is_silent(audio):
            raise silence_error(self.audio_path)
        tagger = load_tagger(self.sound_model)  # a missing model fails here, before any progress is shown
        raise_if_cancelled(cancelled)
        return tag_audio(audio, tagger, progress, cancelled)
