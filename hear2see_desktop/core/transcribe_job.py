"""The transcribe job: an audio file in, a Transcript with word times out."""

from __future__ import annotations

from pathlib import Path

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

    def __init__(self, audio_path: Path, engine: str = "auto", asr_model: str | None = None) -> None:
        self.audio_path = audio_path
        self.engine = engine
        self.asr_model = asr_model

    def run(self, progress: ProgressFn, cancelled: CancelledFn) -> Transcript:
        from hear2see_desktop.core.asr.select import open_engine
        from hear2see_desktop.core.audio import is_silent, load_audio

        audio = load_audio(self.audio_path)  # bad files fail here, before any progress is shown
        if is_silent(audio):
            raise no_speech_error(self.audio_path)
        engine = open_engine(self.engine, self.asr_model)  # a missing model also fails before any progress
        raise_if_cancelled(cancelled)

        def asr_progress(done: int, total: int, message: str, preview: object = None) -> None:
            progress(done, total, f"Transcribing ({engine.name})", None)

        transcript = engine.transcribe(audio.samples, asr_progress, cancelled)
        transcript.duration_s = audio.duration_s
        if not transcript.text.strip():
            raise no_speech_error(self.audio_path)
        return transcript
