"""The transcribe job: an audio file in, a Transcript with word times out."""

from __future__ import annotations

from pathlib import Path

from hear2see_desktop.core.asr.select import open_engine
from hear2see_desktop.core.audio import Audio
from hear2see_desktop.core.errors import BadInputError
from hear2see_desktop.core.jobs import CancelledFn, ProgressFn, raise_if_cancelled
from hear2see_desktop.core.transcript import Transcript


def no_speech_error(audio_path: Path) -> BadInputError:
    """The sentence for a take with nothing to recognise."""
    return BadInputError(
        f"No speech detected in {audio_path.name}: record the narration again closer to the microphone."
    )


class TranscribeJob:
    """Decode the file, pick the ASR engine, recognise the words."""

    def __init__(self, audio_path: Path, engine: str = "auto", asr_model: str | None = None,
                 audio: Audio | None = None, language: str | None = None, allow_no_words: bool = False) -> None:
        """`audio` is the already decoded file (the GUI decodes once to draw the waveform); `language`
        picks the installed speech model for that language (see `asr.select.open_engine`); `allow_no_words`
        returns an empty transcript for a take that is not silent but has no words (its sounds make the
        scenes) instead of refusing it."""
        self.audio_path = audio_path
        self.engine = engine
        self.asr_model = asr_model
        self.language = language
        self.audio = audio
        self.allow_no_words = allow_no_words

    def run(self, progress: ProgressFn, cancelled: CancelledFn) -> Transcript:
        from hear2see_desktop.core.audio import is_silent, load_audio

        audio = self.audio or load_audio(self.audio_path)  # bad files fail here, before any progress is shown
        if is_silent(audio):
            raise no_speech_error(self.audio_path)
        # A missing model also fails here, before any progress is shown.
        engine = open_engine(self.engine, self.asr_model, self.language)
        raise_if_cancelled(cancelled)

        def asr_progress(done: int, total: int, message: str, preview: object = None) -> None:
            progress(done, total, f"Transcribing ({engine.name})", None)

        transcript = engine.transcribe(audio.samples, asr_progress, cancelled)
        transcript.duration_s = audio.duration_s
        if not transcript.text.strip() and not self.allow_no_words:
            raise no_speech_error(self.audio_path)
        return transcript


class LoadAudioJob:
    """Decode a narration file (any container) off the UI thread."""

    def __init__(self, audio_path: Path) -> None:
        self.audio_path = audio_path

    def run(self, progress: ProgressFn, cancelled: CancelledFn) -> Audio:
        from hear2see_desktop.core.audio import load_audio

        progress(0, 1, f"Reading {self.audio_path.name}", None)
        audio = load_audio(self.audio_path)
        progress(1, 1, f"Read {self.audio_path.name}", None)
        return audio
