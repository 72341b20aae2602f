"""The prompt and the scenes: built from the transcript in workers, edited by the user, kept through rebuilds."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QTimer

from hear2see_desktop.core.errors import BadInputError, CancelledError, Hear2SeeError
from hear2see_desktop.core.jobs import CallJob, CancelledFn, ProgressFn
from hear2see_desktop.core.prompt.builder import build_prompt
from hear2see_desktop.core.sounds.tagger import DEFAULT_SOUND_MODEL, resolve_sound_model
from hear2see_desktop.core.storyboard.board import build_storyboard, rebuild_prompts
from hear2see_desktop.core.storyboard.edits import board_for_render, carry_scene_edits, same_cuts
from hear2see_desktop.core.storyboard.sounds import HeardStoryboardJob
from hear2see_desktop.ui.fix_words import sentence
from hear2see_desktop.ui.job_worker import JobWorker
from hear2see_desktop.ui.main_window.host import Part, WindowHost
from hear2see_desktop.ui.settings_store import Key

if TYPE_CHECKING:
    from hear2see_desktop.core.storyboard.board import Storyboard

SCENE_REBUILD_DELAY_MS = 500
"""Wait this long after the last change of the scene lengths before cutting the scenes again."""


class _HeardBuild:
    """A storyboard build that hears the take first, numbered so only the latest lands; a failure (no tagger,
    nothing to picture) becomes the status bar's sentence rather than a dialog."""

    def __init__(self, request: int, job: HeardStoryboardJob) -> None:
        self.request = request
        self.job = job

    def run(self, progress: ProgressFn, cancelled: CancelledFn) -> tuple[int, Storyboard | str, bool]:
        try:
            board, from_sounds = self.job.run(progress, cancelled)
        except CancelledError:
            raise
        except Hear2SeeError as error:
            return self.request, sentence(error), False
        return self.request, board, from_sounds


class StoryboardController(Part):
    """The prompt panel's and the scene strip's work; the storyboard itself lives in the window's `work`."""

    def __init__(self, window: WindowHost) -> None:
        super().__init__(window)
        self._request = 0  # only the latest storyboard build may land
        self.sound_model_spec = DEFAULT_SOUND_MODEL  # the tagger "Hear sound events" uses (a folder in tests)
        self.sound_model: str | None = None  # the tagger in use while sound events are heard, else None
        self._hearing: JobWorker | None = None  # the latest build that hears the take
        self.rebuild_timer = QTimer(self)
        self.rebuild_timer.setSingleShot(True)
        self.rebuild_timer.setInterval(SCENE_REBUILD_DELAY_MS)
        self.rebuild_timer.timeout.connect(self.rebuild_storyboard)

    # The prompt

    def rebuild_prompt(self, *, ask: bool = True) -> None:
        """Build the prompt from the transcript in a worker; with `ask`, the user's edited prompt is asked about first.

        `ask` is keyword-only: this is a slot, and a signal's argument must never land in it.
        """

        window = self.window
        text = window.prompt_panel.transcript_text()
        if not text:
            return
        if ask and window.prompt_panel.prompt_edited() and not window.confirm(
            window, "Replace your prompt?", "You edited the prompt. Replace it with one built from the transcript?"
        ):
            return
        style = window.prompt_panel.style()

        def build() -> object:
            try:
                return build_prompt(text, style=style)
            except BadInputError as error:  # nothing to picture: say so in the status bar, not a dialog
                return sentence(error)

        # The first build loads the lexicon and tokenizer (~0.4 s): never on the UI thread.
        worker = JobWorker(CallJob(build, "Building the prompt"), f"prompt-{time.monotonic()}")
        worker.finished.connect(self._on_prompt_built)
        window.run_worker(worker.name, worker)

    def _on_prompt_built(self, built: Any) -> None:
        if isinstance(built, str):
            self.window.statusBar().showMessage(built)
            return
        self.window.prompt_panel.set_prompt(built.prompt, built.negative_prompt, built.dropped)

    def on_style_changed(self, style: str) -> None:
        self.window.store.set(Key.STYLE, style)
        if self.window.prompt_panel.transcript_text():
            self.rebuild_prompt(ask=True)
            self.restyle_storyboard(style)

    # The scenes

    def rebuild_storyboard(self) -> None:
        """Cut the transcript into scenes with prompts, in a worker (the first build loads the tokenizer).

        The result keeps every prompt the user wrote whose scene still exists with the same times;
        when some of the user's work would be lost, `_on_storyboard_built` asks first.
        """

        window = self.window
        if window.work.audio is None or window.recorder is not None:
            return
        transcript = window.transcript_for_render()
        if not transcript.text.strip() and self.sound_model is None:
            return
        settings = window.current_settings()
        duration_s = window.work.audio.duration_s
        self._request += 1
        request = self._request
        if self.sound_model is not None and window.work.audio_path is not None:
            self._hear_and_build(request, transcript, settings)
            return

        def build() -> tuple[int, Storyboard | str]:
            try:
                return request, build_storyboard(transcript, duration_s=duration_s, style=settings.style,
                                                  min_scene_s=settings.min_scene_s, max_scene_s=settings.max_scene_s)
            except BadInputError as error:  # nothing to picture, bad limits: the status bar says so
                return request, sentence(error)

        self._run_build(build, "Cutting the narration into scenes")

    def _hear_and_build(self, request: int, transcript: Any, settings: Any) -> None:
        """Cut the scenes with the take's sounds in a worker: the tagger hears the take unless the board already
        holds its track (hearing costs seconds per second of audio on a CPU)."""
        work = self.window.work
        assert work.audio is not None and work.audio_path is not None
        board = work.storyboard
        track = board.sounds if board is not None and board.sounds is not None and abs(
            board.sounds.duration_s - work.audio.duration_s) < 1e-3 else None
        job = HeardStoryboardJob(work.audio, work.audio_path, transcript, self.sound_model, track,
                                 style=settings.style, min_scene_s=settings.min_scene_s,
                                 max_scene_s=settings.max_scene_s)
        if self._hearing is not None:
            self._hearing.cancel()  # its board would be dropped anyway: free the CPU for this one
        worker = self._hearing = JobWorker(_HeardBuild(request, job), f"storyboard-{time.monotonic()}")
        worker.progress.connect(self.window.show_progress)
        worker.finished.connect(self._on_heard_storyboard_built)
        self.window.run_worker(worker.name, worker)

    def _on_heard_storyboard_built(self, result: tuple[int, Storyboard | str, bool]) -> None:
        request, built, from_sounds = result
        before = self._request
        self._on_storyboard_built((request, built))
        adopted = request == before and self._request != before  # adopting the board moves the count on
        path = self.window.work.audio_path
        if from_sounds and adopted and path is not None:
            self.window.statusBar().showMessage(f"No speech detected in {path.name}: the scenes follow its sounds.")

    def restore_hearing(self) -> None:
        """Hear sound events again when the user left them on and the tagger is still installed (else the notice)."""
        if self.window.store.text(Key.HEAR_SOUNDS, "false").lower() != "true":
            return
        if self._tagger_problem() is None:
            self.sound_model = self.sound_model_spec
            self.window.scene_sounds.set_hearing(True)
        else:
            self.window.scene_sounds.set_model_needed(True)

    def _tagger_problem(self) -> str | None:
        """Why the chosen tagger cannot be used, or None (file checks only: the tagger loads in a worker)."""
        try:
            resolve_sound_model(self.sound_model_spec)
        except Hear2SeeError as error:
            return sentence(error)
        return None

    def on_hearing_toggled(self, on: bool) -> None:
        """Hear the take's sound events (when the tagger is installed) or stop, and cut the scenes again."""
        window = self.window
        problem = self._tagger_problem() if on else None
        if problem is not None:
            window.scene_sounds.set_hearing(False)
            window.scene_sounds.set_model_needed(True)
            window.statusBar().showMessage(problem)
            return
        window.store.set(Key.HEAR_SOUNDS, on)
        window.scene_sounds.set_model_needed(False)
        self.sound_model = self.sound_model_spec if on else None
        if on:
            window.statusBar().showMessage("Hearing the take's sound events…")
        self.rebuild_storyboard()

    def restyle_storyboard(self, style: str) -> None:
        """Rebuild the scenes' prompts in another style, keeping their times and the prompts the user wrote."""

        board = self.window.work.storyboard
        if board is None:
            self.rebuild_storyboard()
            return
        self._request += 1
        request = self._request

        def build() -> tuple[int, Storyboard | str]:
            try:
                return request, rebuild_prompts(board, style=style)
            except BadInputError as error:
                return request, sentence(error)

        self._run_build(build, "Restyling the scenes")

    def _run_build(self, build: Callable[[], tuple[int, Storyboard | str]], message: str) -> None:
        worker = JobWorker(CallJob(build, message), f"storyboard-{time.monotonic()}")
        worker.finished.connect(self._on_storyboard_built)
        self.window.run_worker(worker.name, worker)

    def _on_storyboard_built(self, result: tuple[int, Storyboard | str]) -> None:
        window, work = self.window, self.window.work
        request, built = result
        if request != self._request:
            return  # a newer build (or another narration) took its place
        if isinstance(built, str):
            window.statusBar().showMessage(built)
            return
        # Merged with the board as it is now: the user may have edited it while the worker ran.
        old = work.storyboard

        board, lost = carry_scene_edits(old, built, work.scene_times_edited)
        if lost and not window.confirm(
            window, "Replace your scenes?",
            "The narration was cut into new scenes, and some of your scene edits (prompts you wrote, cuts you "
            "moved) don't fit them. Replace the scenes anyway?",
        ):
            return
        # A restyle keeps the times, so cuts the user moved stay theirs.
        self.adopt_storyboard(board, times_edited=work.scene_times_edited and same_cuts(old, board))
        window.statusBar().showMessage(f"{len(board.scenes)} scene{'s' if len(board.scenes) != 1 else ''}: "
                                       "double-click one to edit its prompt, drag an edge to move a cut.")

    def adopt_storyboard(self, board: Storyboard | None, times_edited: bool = False) -> None:
        """Make `board` the work's storyboard; builds still running for the old one are dropped."""
        self._request += 1
        self._set_storyboard(board)
        self.window.work.scene_times_edited = times_edited

    def _set_storyboard(self, board: Storyboard | None) -> None:
        window = self.window
        window.work.storyboard = board
        window.scene_strip.set_storyboard(board)
        window.sound_lane.set_track(board.sounds if board is not None else None)
        selected = window.scene_strip.selected_index()
        window.scene_sounds.show_scene(selected if selected is not None else window.scene_sounds.shown_index(), board)
        window.mark_changed()

    def on_scene_selected(self, index: int) -> None:
        board = self.window.work.storyboard
        self.window.scene_sounds.show_scene(index, board)
        if board is not None and 0 <= index < len(board.scenes):
            self.window.seek(board.scenes[index].start_s)

    def on_scene_prompt_edited(self, index: int, prompt: str) -> None:

        if self.window.work.storyboard is None:
            return
        try:
            board = self.window.work.storyboard.with_scene_prompt(index, prompt)
        except BadInputError as error:
            self.window.statusBar().showMessage(sentence(error))
            return
        self._set_storyboard(board)
        self.window.statusBar().showMessage(f"Scene {index + 1} has your prompt; rebuilding the scenes keeps it.")

    def on_scene_sound_words_edited(self, index: int, words: str, on: bool) -> None:
        """The user's sound words for scene `index` (or the switch that keeps them out of its prompt)."""
        board = self.window.work.storyboard
        if board is None:
            return
        try:
            board = board.with_scene_sound_words(index, words, on)
        except BadInputError as error:
            self.window.statusBar().showMessage(sentence(error))
            return
        self._set_storyboard(board)
        state = "has your sound words" if on else "leaves its sounds out of its prompt"
        self.window.statusBar().showMessage(f"Scene {index + 1} {state}; hearing the take again keeps that.")

    def on_scene_boundary_moved(self, index: int, time_s: float) -> None:

        work = self.window.work
        if work.storyboard is None:
            return
        try:
            board = work.storyboard.with_boundary(index, time_s)
        except BadInputError as error:
            self.window.statusBar().showMessage(sentence(error))
            return
        work.scene_times_edited = True
        self._set_storyboard(board)
        self.window.statusBar().showMessage(f"Scene {index + 1} now starts at {board.scenes[index].start_s:.2f} s.")

    def storyboard_for_render(self, settings: Any) -> Storyboard | None:
        """The scenes a render uses (see `core.storyboard.edits.board_for_render`)."""

        work, panel = self.window.work, self.window.prompt_panel
        if work.storyboard is None:
            return None
        return board_for_render(
            work.storyboard, settings.mode, settings.prompt, settings.negative_prompt,
            prompt_typed=panel.prompt_edit.edited and bool(settings.prompt.strip()),
            negative_typed=panel.negative_edit.edited,
            scenes_edited=work.storyboard_edited(),
        )


__all__ = ["SCENE_REBUILD_DELAY_MS", "StoryboardController"]
