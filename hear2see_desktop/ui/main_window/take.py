"""The narration, the take: importing a file, transcribing it, recording from the microphone, playing it back."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QFileDialog

from hear2see_desktop.core import paths
from hear2see_desktop.core.asr.installed import speech_choices
from hear2see_desktop.core.asr.select import open_engine
from hear2see_desktop.core.audio import Audio
from hear2see_desktop.core.errors import Hear2SeeError
from hear2see_desktop.core.jobs import CallJob
from hear2see_desktop.core.playback import TakePlayer
from hear2see_desktop.core.transcript import Transcript
from hear2see_desktop.ui.audio_bar import format_clock
from hear2see_desktop.ui.fix_words import sentence
from hear2see_desktop.ui.job_worker import JobWorker
from hear2see_desktop.ui.main_window.host import Part, WindowHost
from hear2see_desktop.ui.settings_store import Key

AUDIO_FILTER = "Audio (*.wav *.flac *.ogg *.mp3 *.m4a *.aac *.opus *.webm *.mp4);;All files (*)"
WARM_UP_DELAY_MS = 1500
"""Load the speech model this long after start-up (see `TakeController.warm_up_later`)."""


class TakeController(Part):
    """The audio bar's work: a narration in, its transcript out, and the recorder and player while they run."""

    player_finished = Signal()  # the player reached the end (emitted from the audio thread)

    def __init__(self, window: WindowHost, input_stream_factory: Callable[..., Any] | None = None,
                 output_stream_factory: Callable[..., Any] | None = None) -> None:
        super().__init__(window)
        self.input_stream_factory = input_stream_factory
        self.output_stream_factory = output_stream_factory
        self.recorder: Any = None  # the RecordingWorker while a take is recorded
        self.player: Any = None  # the TakePlayer of the narration, made on the first Play
        self.warm_worker: JobWorker | None = None
        self._pending_audio_path: Path | None = None
        self._take: tuple[Path, Audio, Transcript | None] | None = None
        self.player_finished.connect(self._on_player_finished)

    # Speech recognition

    def warm_up_later(self) -> None:
        # Loading the speech model holds Python's GIL for ~0.1 s inside ctranslate2/vosk; doing it
        # once shortly after start-up keeps that hiccup out of recording and transcription.
        QTimer.singleShot(WARM_UP_DELAY_MS, self._warm_up_asr)

    def _warm_up_asr(self) -> None:

        if self.warm_worker is not None:
            return
        # Not in the window's workers: it neither blocks the user's actions nor reports a missing model
        # (that is said when a transcription needs it).
        chosen = self.window.audio_bar.selected_speech_model()
        worker = JobWorker(CallJob(lambda: open_engine("auto", chosen).name, "Loading speech recognition"),
                           "warm-up")
        worker.finished.connect(self._on_warmed_up)
        worker.failed.connect(self._on_warmed_up)
        self.warm_worker = worker
        worker.start()

    def _on_warmed_up(self, *_args: object) -> None:
        self.warm_worker = None

    def refresh_speech_choices(self) -> None:
        """List the installed speech models in the audio bar, keeping the user's choice."""

        remembered = self.window.store.text(Key.SPEECH_MODEL) or None
        self.window.audio_bar.set_speech_choices(speech_choices(), remembered)

    def on_speech_model_chosen(self, _index: int) -> None:
        self.window.store.set(Key.SPEECH_MODEL, self.window.audio_bar.selected_speech_model() or "")

    def refresh_devices(self, list_devices: Callable[[], list[Any]] | None) -> None:
        from hear2see_desktop.core.recording import list_input_devices, no_microphone_reason

        devices = (list_devices or list_input_devices)()
        reason = None if devices else (no_microphone_reason() or "No microphone was found: connect one, "
                                       "or import an audio file.")
        self.window.audio_bar.set_devices(devices, reason)
        self.window.menu_bar.record_action.setEnabled(self.window.audio_bar.record_button.isEnabled())

    # Import and transcription

    def choose_audio(self) -> None:
        window = self.window
        start = window.store.text(Key.LAST_FOLDER, str(Path.home()))
        path, _ = QFileDialog.getOpenFileName(window, "Import a narration", start, AUDIO_FILTER)
        if path:
            self.import_audio(Path(path))

    def import_audio(self, path: Path) -> None:
        """Decode the file in a worker; the waveform appears, then transcription starts."""
        if self.recorder is not None or "load" in self.window.workers:
            return
        from hear2see_desktop.core.transcribe_job import LoadAudioJob

        self.window.store.set(Key.LAST_FOLDER, str(path.parent))
        worker = JobWorker(LoadAudioJob(path), "load")
        worker.progress.connect(self.window.show_progress)
        worker.finished.connect(self._on_audio_loaded)
        self._pending_audio_path = path
        self.window.run_worker("load", worker)

    def _on_audio_loaded(self, audio: Audio) -> None:
        assert self._pending_audio_path is not None
        self.set_audio(self._pending_audio_path, audio)
        self.transcribe()

    def set_audio(self, path: Path, audio: Audio, transcript: Transcript | None = None) -> None:
        """Make `path` the narration: waveform, timeline axis, player."""
        window, work = self.window, self.window.work
        self.stop_playback()
        work.audio_path = path
        work.audio = audio
        self.player = None
        work.transcript = transcript
        window.waveform.set_live(False)
        window.waveform.set_samples(audio.samples, audio.sample_rate_hz)
        window.waveform.set_words(transcript.words if transcript else [])
        window.timeline.clear()
        window.timeline.set_duration(audio.duration_s)
        window.scene_strip.set_duration(audio.duration_s)
        window.adopt_storyboard(None)  # the scenes of another narration mean nothing here
        window.audio_bar.elapsed_label.setText(format_clock(audio.duration_s))
        window.setWindowTitle(f"HEAR2SEE — {path.name}")
        window.statusBar().showMessage(f"{path.name}: {audio.duration_s:.1f} s")
        window.update_actions()
        window.mark_changed()

    def transcribe(self) -> None:
        work = self.window.work
        if work.audio_path is None or work.audio is None:
            return
        from hear2see_desktop.core.transcribe_job import TranscribeJob

        worker = JobWorker(TranscribeJob(work.audio_path, asr_model=self.window.audio_bar.selected_speech_model(),
                                         audio=work.audio, allow_no_words=self.window.sound_model() is not None),
                           "transcribe")
        worker.progress.connect(self.window.show_progress)
        worker.finished.connect(self._on_transcribed)
        self.window.run_worker("transcribe", worker)

    def _on_transcribed(self, transcript: Transcript) -> None:
        self.window.progress_bar.setFormat("Transcribed")
        self.apply_transcript(transcript)

    def apply_transcript(self, transcript: Transcript) -> None:
        """Show a new transcript and the prompt built from it, asking before replacing the user's edits."""
        window = self.window
        if window.prompt_panel.transcript_edit.edited and not window.confirm(
            window, "Replace your transcript?", "You edited the transcript. Replace it with the new recognition?"
        ):
            return
        window.work.transcript = transcript
        window.prompt_panel.set_transcript(transcript.text)
        window.waveform.set_words(transcript.words)
        window.statusBar().showMessage(
            f"Transcribed with {transcript.engine} ({transcript.model}): {len(transcript.words)} words."
        )
        window.rebuild_prompt(ask=True)
        window.rebuild_storyboard()
        window.update_actions()

    # Recording

    def toggle_recording(self) -> None:
        window = self.window
        if self.recorder is not None:
            self.recorder.request_stop()
            window.audio_bar.record_button.setEnabled(False)
            window.statusBar().showMessage("Finishing the take…")
            return
        if not window.audio_bar.record_button.isEnabled() or window.is_busy():
            return
        from hear2see_desktop.ui.recording_worker import RecordingWorker, start_recording_thread

        self.stop_playback()
        worker = RecordingWorker(
            engine="auto", model_path=window.audio_bar.selected_speech_model(),
            device=window.audio_bar.selected_device(), stream_factory=self.input_stream_factory
        )
        worker.amplitude_changed.connect(window.audio_bar.level_meter.set_level)
        worker.elapsed_changed.connect(self._on_record_elapsed)
        worker.partial_text.connect(window.prompt_panel.show_live_transcript)
        worker.finished.connect(self._on_take_finished)
        worker.failed.connect(self._on_take_failed)
        worker.device_lost.connect(window.statusBar().showMessage)
        self.recorder = worker
        window.waveform.clear()
        window.waveform.set_live(True)
        window.timeline.clear()
        window.scene_strip.set_storyboard(None)  # the old scenes don't belong to the take being recorded
        window.audio_bar.set_recording(True)
        window.statusBar().showMessage("Recording… press R or Stop to end the take.")
        start_recording_thread(worker)
        window.update_actions()

    def _on_record_elapsed(self, seconds: float) -> None:
        self.window.audio_bar.elapsed_label.setText(format_clock(seconds))

    def _on_take_finished(self, take: Any) -> None:
        self.recorder = None
        self.window.audio_bar.set_recording(False)
        self.window.audio_bar.record_button.setEnabled(True)
        folder = paths.takes_dir()
        path = folder / f"take-{datetime.now():%Y%m%d-%H%M%S}.wav"
        audio = take.to_audio()
        # Keep the take on disk (a short WAV write) in a worker, then show it.
        worker = JobWorker(CallJob(lambda: (folder.mkdir(parents=True, exist_ok=True), take.save(path))[1],
                                   "Saving the take"), "save-take")
        self._take = (path, audio, take.transcript)
        worker.finished.connect(self._on_take_saved)
        self.window.run_worker("save-take", worker)

    def _on_take_saved(self, _path: object) -> None:
        assert self._take is not None
        path, audio, transcript = self._take
        self.set_audio(path, audio)
        if transcript is not None and transcript.text.strip():
            transcript.duration_s = audio.duration_s
            self.window.prompt_panel.transcript_edit.edited = False  # the live text was ours, not the user's
            self.apply_transcript(transcript)
        else:
            self.transcribe()

    def _on_take_failed(self, message: str) -> None:
        window = self.window
        self.recorder = None
        window.audio_bar.set_recording(False)
        window.audio_bar.record_button.setEnabled(True)
        window.waveform.set_live(False)
        window.scene_strip.set_storyboard(window.work.storyboard)
        window.update_actions()
        window.show_error(window, "Recording failed", message)

    # Playback

    def toggle_playback(self) -> None:
        window, audio = self.window, self.window.work.audio
        if audio is None:
            return

        if self.player is None:
            self.player = TakePlayer(audio.samples, audio.sample_rate_hz, stream_factory=self.output_stream_factory,
                                     on_finished=self.player_finished.emit)
        if self.player.is_playing:
            self.player.pause()
            window.audio_bar.set_playing(False)
            return
        try:
            self.player.play()
        except Hear2SeeError as error:
            window.show_error(window, "Cannot play", sentence(error))
            return
        window.audio_bar.set_playing(True)
        self.startTimer(50)  # moves the playhead (timerEvent) while it plays

    def timerEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        if self.player is not None and self.player.is_playing:
            self.window.waveform.set_playhead(self.player.position_s)
            self.window.timeline.set_playhead(self.player.position_s)
        else:
            self.killTimer(event.timerId())

    def _on_player_finished(self) -> None:
        self.window.audio_bar.set_playing(False)
        self.window.waveform.set_playhead(None)
        self.window.timeline.set_playhead(None)

    def stop_playback(self) -> None:
        if self.player is not None:
            self.player.stop()
            self._on_player_finished()

    def forget_player(self) -> None:
        """Stop and drop the player (its narration is going away)."""
        self.stop_playback()
        self.player = None

    def seek(self, seconds: float) -> None:
        self.window.waveform.set_playhead(seconds)
        if self.player is not None:
            self.player.seek(seconds)


__all__ = ["AUDIO_FILTER", "TakeController"]
