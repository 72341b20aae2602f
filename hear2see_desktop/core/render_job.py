"""The render job: narration file in, MP4 out (and subtitles when asked), one run record appended.

Stages: check the request (render_preflight.py) -> read the narration -> transcribe -> build the prompt
(and, in the smooth, fast and animate modes or with a given storyboard, one prompt per scene) -> load the
model (and animate mode's motion model) -> render the frames of the mode (mode_renderers.py, sharing one
render_context.RenderContext) -> stream them into the video writer -> write subtitles -> append the run
record (run_record.py). Each stage reports through the job protocol (core/jobs.py) and can be cancelled; a
cancelled or failed render leaves nothing under the output names and no run record. Finished frames stay in
the frame cache (not yet in animate mode), so a cancelled render continues where it stopped when it is
started again.
"""

from __future__ import annotations

import logging
import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hear2see_desktop import __version__
from hear2see_desktop.core import paths
from hear2see_desktop.core.errors import CancelledError, Hear2SeeError
from hear2see_desktop.core.hashing import sha256_file
from hear2see_desktop.core.jobs import CancelledFn, ProgressFn, never_cancelled, no_progress, raise_if_cancelled
from hear2see_desktop.core.mode_renderers import Made, render_animate, render_classic, render_sequence
from hear2see_desktop.core.part_files import part_path
from hear2see_desktop.core.prompt.builder import build_prompt
from hear2see_desktop.core.render.devices import resolve_device
from hear2see_desktop.core.render.events import NO_EVENTS, RenderEvents
from hear2see_desktop.core.render.frame_cache import FrameCache
from hear2see_desktop.core.render.memory_ladder import ladder_for
from hear2see_desktop.core.render.motion_pipeline import animate_pipeline
from hear2see_desktop.core.render.pipeline_cache import apply_loras, get_pipeline, render_failed_for
from hear2see_desktop.core.render.taesd import Decoders
from hear2see_desktop.core.render.vae_tiling import vae_tile_px
from hear2see_desktop.core.render.weights_hash import cached_sha256, weights_fingerprint, weights_sha256
from hear2see_desktop.core.render_context import RenderContext, first_picture_thumbnails, frame_pngs, save_png
from hear2see_desktop.core.render_estimate import RenderEstimate, estimate_render
from hear2see_desktop.core.render_preflight import Checked, check_output_path, no_words, preflight
from hear2see_desktop.core.render_request import RenderRequest, replay_request
from hear2see_desktop.core.run_record import (
    AudioUsed,
    DeviceUsed,
    LoraUsed,
    ModelUsed,
    MotionUsed,
    MusicUsed,
    OutputMade,
    RunRecord,
)
from hear2see_desktop.core.runlog import append_record, new_run_id
from hear2see_desktop.core.settings import RenderSettings
from hear2see_desktop.core.storyboard.board import build_storyboard
from hear2see_desktop.core.subtitle_files import write_subtitles
from hear2see_desktop.core.subtitles import styled_cues
from hear2see_desktop.core.transcript import Transcript
from hear2see_desktop.core.unit_costs import SampleClock, clock_limit, record_sample_cost

if TYPE_CHECKING:
    from hear2see_desktop.core.audio import Audio
    from hear2see_desktop.core.cluster.cluster_cache import ClusterCache
    from hear2see_desktop.core.cluster.cluster_render import ClusterRender
    from hear2see_desktop.core.cluster.session import ClusterSession
    from hear2see_desktop.core.cluster.units import RenderSpec
    from hear2see_desktop.core.storyboard.board import Storyboard

log = logging.getLogger(__name__)


@dataclass
class RenderResult:
    """The finished MP4, the run id it was logged under, and the record itself."""

    out_path: Path
    run_id: str
    record: RunRecord


@dataclass
class _Narration:
    """The stages before the model: the checked request, its words, its final settings and scenes."""

    checked: Checked
    audio_sha: str
    transcript: Transcript
    settings: RenderSettings
    board: Storyboard | None
    soundtrack: Audio | None = None  # the narration with the music under it; None: the narration file itself
    music: MusicUsed | None = None


@dataclass
class _Prepared:
    """What `RenderJob.prepare` settled: the narration, the stage timings so far, the frame cache's identity and
    the cache itself (on a cluster, the one the workers fill), and how long it took."""

    narration: _Narration
    timings: dict[str, float]
    identity: dict[str, Any]
    cache: FrameCache
    prepare_s: float


class RenderJob:
    """Runs one render request; see the module docstring for the stages."""

    def __init__(self, request: RenderRequest, events: RenderEvents = NO_EVENTS,
                 on_estimate: Callable[[RenderEstimate], None] | None = None) -> None:
        """`events` hear the plan, each denoising step and each finished image (the GUI's timeline);
        `on_estimate` hears the render's time estimate once its scenes are known, before the model loads."""
        self.request = request
        self.events = events
        self.on_estimate = on_estimate
        self._session: ClusterSession | None = None
        self._cluster: ClusterRender | None = None
        self._prepared: _Prepared | None = None
        self._progress: ProgressFn = no_progress
        self._cancelled: CancelledFn = never_cancelled

    def prepare(self, progress: ProgressFn, cancelled: CancelledFn, ahead: bool = False) -> None:
        """The stages before the model: check the request, transcribe, settle the scenes, and on a cluster the
        workers' models checked and the render's units handed out. `run` does it first when nobody did; the
        render queue calls it for the next items on a cluster (`ahead`: their units wait while the item that
        renders now has units to send), so the workers render them while the client finishes the one before.
        Once only; `discard` stops the units of a prepared job that will not run."""
        if self._prepared is not None:
            return
        self._progress, self._cancelled = progress, cancelled
        started = time.perf_counter()
        timings: dict[str, float] = {}
        if self.request.cluster:  # an unreachable cluster is one sentence before anything starts
            from hear2see_desktop.core.cluster.session import connect

            progress(0, 1, "Connecting to the cluster", None)
            self._session = connect(self.request.cluster)
            timings["cluster_connect_s"] = time.perf_counter() - started
        narration = self._narration(progress, cancelled, timings)
        settings, source = narration.settings, narration.checked.source
        identity = _cache_identity(source, resolve_device(settings.device), settings, narration.checked.motion)
        cluster_spec = self._cluster_models(settings, source, identity, narration.checked.motion, progress)
        identity = cluster_spec.identity if cluster_spec is not None else identity  # the workers' precision
        cache_root = (self.request.cache_dir or paths.cache_dir() / "frames") if self.request.use_cache else None
        if cluster_spec is None:
            cache = FrameCache(cache_root)
        else:  # (the cluster's modules stay off the window's start-up path: they reach the frame planner)
            from hear2see_desktop.core.cluster.cluster_cache import ClusterCache

            # The cache asks the job's current cancel check and progress: a job prepared ahead gets the ones of
            # its own run later.
            cache = ClusterCache(cache_root, lambda: self._cancelled(),
                                 on_wait=lambda: self._waiting_for_cluster(self._progress))
            self._cluster = self._cluster_units(cluster_spec, narration, cache, ahead)
        self._prepared = _Prepared(narration, timings, identity, cache, time.perf_counter() - started)

    def discard(self) -> None:
        """Stop what a prepared job handed out to the cluster (a job prepared ahead that will not run)."""
        if self._cluster is not None:
            self._cluster.close()

    def on_cluster_workers(self) -> int:
        """How many live workers the prepared job's cluster has (0 when it renders on this computer)."""
        return len(self._session.live()) if self._session is not None and self._cluster is not None else 0

    def run(self, progress: ProgressFn, cancelled: CancelledFn) -> RenderResult:
        started = time.perf_counter()
        try:
            prepared_ahead = self._prepared is not None
            self.prepare(progress, cancelled)
            assert self._prepared is not None
            prepared = self._prepared
            if prepared_ahead:  # its stages count in the render's time, not the wait for the render before it
                started -= prepared.prepare_s
            self._progress, self._cancelled = progress, cancelled
            if self._cluster is not None:
                self._cluster.read_now()
            raise_if_cancelled(cancelled)
            narration = prepared.narration
            if self.on_estimate is not None:
                self.on_estimate(estimate_render(narration.settings, narration.checked.audio.duration_s,
                                                 narration.board, narration.checked.audio))
            return self._render(prepared, started, progress, cancelled)
        finally:  # whatever happened, nothing of this render goes on running on the cluster
            self.discard()

    # --- before the model ---------------------------------------------------------------------
    def _narration(self, progress: ProgressFn, cancelled: CancelledFn, timings: dict[str, float]) -> _Narration:
        """Check the request, read and transcribe the narration, and settle the prompts and scenes."""

        request = self.request
        settings = replace(request.settings)
        stage = time.perf_counter()
        checked = preflight(request, settings)
        soundtrack, music = _music_under(request.audio_path, settings)  # a bad music file: one line, before any work
        progress(0, 1, "Reading the narration", None)
        audio_sha = sha256_file(request.audio_path)
        timings["audio_s"] = time.perf_counter() - stage
        raise_if_cancelled(cancelled)

        transcript = request.transcript
        if transcript is None:
            transcript = self._transcribe(checked, progress, cancelled, timings)
        if (not settings.prompt.strip() and not transcript.text.strip() and request.storyboard is None
                and checked.tagger is None):
            raise no_words(request.audio_path)

        stage = time.perf_counter()
        board = request.storyboard
        if board is None and checked.tagger is not None:
            board = self._heard_storyboard(checked, settings, transcript, progress, cancelled)
        if board is not None:
            settings = replace(settings, prompt=settings.prompt or board.scenes[0].prompt,
                               negative_prompt=settings.negative_prompt or board.scenes[0].negative_prompt)
        else:
            settings = _with_prompt(settings, transcript)
            # Scene by scene, as the window renders: only a classic render of a typed prompt is the paper's
            # one picture for the whole clip (and a replay of a run made that way, whose prompt was logged).
            if settings.mode != "classic" or not request.settings.prompt.strip():
                board = self._storyboard(settings, transcript, checked.audio.duration_s)
        timings["prompt_s"] = time.perf_counter() - stage
        raise_if_cancelled(cancelled)
        return _Narration(checked, audio_sha, transcript, settings, board, soundtrack, music)

    def _storyboard(self, settings: RenderSettings, transcript: Transcript, duration_s: float) -> Storyboard:
        """Scenes from the narration; a prompt the user typed is the picture of every scene."""

        board = build_storyboard(transcript, duration_s=duration_s, style=settings.style,
                                 negative=settings.negative_prompt or None,
                                 min_scene_s=settings.min_scene_s, max_scene_s=settings.max_scene_s)
        if self.request.settings.prompt.strip():
            for scene in board.scenes:
                scene.prompt = settings.prompt
                scene.negative_prompt = settings.negative_prompt
        return board

    def _heard_storyboard(self, checked: Checked, settings: RenderSettings, transcript: Transcript,
                          progress: ProgressFn, cancelled: CancelledFn) -> Storyboard:
        """Scenes with the words of their sound events; for a take without speech, scenes cut from its sounds."""
        from hear2see_desktop.core.sounds.changes import strong_onsets
        from hear2see_desktop.core.sounds.track import tag_audio
        from hear2see_desktop.core.storyboard.sounds import storyboard_for_take

        track = tag_audio(checked.audio, checked.tagger, progress, cancelled)
        board, from_sounds = storyboard_for_take(
            transcript, track, strong_onsets(checked.audio) if not transcript.text.strip() else [],
            style=settings.style, negative=settings.negative_prompt or None,
            min_scene_s=settings.min_scene_s, max_scene_s=settings.max_scene_s)
        if from_sounds:
            progress(0, 1, f"No speech detected in {self.request.audio_path.name}: the scenes follow its sounds", None)
        return board

    @staticmethod
    def _transcribe(checked: Checked, progress: ProgressFn, cancelled: CancelledFn,
                    timings: dict[str, float]) -> Transcript:
        engine, audio = checked.engine, checked.audio
        if engine is None:
            # A silent take with a user prompt: nothing to recognise.
            return Transcript(text="", words=[], engine="none", model="", duration_s=audio.duration_s)
        stage = time.perf_counter()

        def asr_progress(done: int, total: int, message: str, preview: Any = None) -> None:
            progress(done, total, f"Transcribing ({engine.name})", None)

        transcript = engine.transcribe(audio.samples, asr_progress, cancelled)
        transcript.duration_s = audio.duration_s
        timings["asr_s"] = time.perf_counter() - stage
        return transcript

    # --- the model, the frames, the video -------------------------------------------------------
    def _render(self, prepared: _Prepared, started: float, progress: ProgressFn,
                cancelled: CancelledFn) -> RenderResult:
        from hear2see_desktop.core.video import VideoWriter

        narration, timings, identity, cache = prepared.narration, prepared.timings, prepared.identity, prepared.cache
        request, settings, source = self.request, narration.settings, narration.checked.source
        device = resolve_device(settings.device)
        stage = time.perf_counter()
        progress(0, 1, "Loading the model", None)
        loaded = get_pipeline(source, device)
        apply_loras(loaded, settings.loras)
        checked = narration.checked
        animate = (animate_pipeline(loaded, checked.motion, checked.motion_shape)
                   if checked.motion is not None and checked.motion_shape is not None else None)
        decoders = Decoders(loaded.pipe, settings.decoder)
        ladder = ladder_for(loaded, settings.width, settings.height, settings.cfg > 1.0, settings.decoder, animate)
        timings["model_load_s"] = time.perf_counter() - stage
        progress(1, 1, f"Model ready in {timings['model_load_s']:.1f} s", None)
        raise_if_cancelled(cancelled)

        wants_cues = settings.captions or request.subtitle_paths()
        cues = styled_cues(narration.transcript.words, settings.caption_style()) if wants_cues else []
        subscribers = [] if request.frames_dir is None else [frame_pngs(request.frames_dir)]
        # The first picture made with a model or LoRA shows it in the pickers.
        subscribers += [first_picture_thumbnails([str(source.path),
                                                  *(str(Path(lo.path).expanduser()) for lo in settings.loras)]),
                        self.events.image]
        temps: list[tuple[Path, Path]] = []
        stage = time.perf_counter()
        try:
            with VideoWriter(request.out_path, settings.width, settings.height, settings.fps,
                             audio_path=request.audio_path if narration.soundtrack is None else None,
                             audio=narration.soundtrack) as writer:
                cluster = self._cluster
                clock = SampleClock(clock_limit(settings.steps))
                unet = (animate if animate is not None else loaded.pipe).unet
                timing = unet.register_forward_pre_hook(clock, with_kwargs=True)
                ctx = RenderContext(request, settings, narration.checked.audio, loaded, decoders, ladder, cache,
                                    identity, self.events, progress, cancelled,
                                    _captioned(writer.write_frame, settings, cues), subscribers)
                try:
                    if settings.mode == "classic":
                        made = render_classic(ctx, narration.board)
                    elif settings.mode == "animate":
                        assert animate is not None, "the pre-flight resolves animate mode's motion model"
                        made = render_animate(ctx, _required(narration.board), animate)
                    else:
                        made = render_sequence(ctx, _required(narration.board))
                finally:  # a cancelled render's first steps measured this machine as well as a finished one's
                    if cluster is not None:
                        cluster.close()
                    timing.remove()
                    _keep_sample_cost(clock, device.device, animate is not None, settings)
                progress(1, 1, "Finishing the video", None)
                temps = _write_subtitles(request, settings, cues)
        except (Hear2SeeError, KeyboardInterrupt):
            _discard(temps)
            raise
        except (RuntimeError, MemoryError) as error:
            _discard(temps)
            log.exception("render failed")
            raise render_failed_for(error, f"{settings.width}x{settings.height}", device.device) from error
        _publish(temps)
        cache.prune()
        timings["render_s"] = time.perf_counter() - stage
        record = self._record(narration, ctx, made, device, timings, started, cluster)

        append_record(request.runs_log or paths.runs_log_path(), record.to_dict())
        return RenderResult(request.out_path, record.id, record)

    # --- the run record -------------------------------------------------------------------------
    def _record(self, narration: _Narration, ctx: RenderContext, made: Made, device: Any,
                timings: dict[str, float], started: float, cluster: ClusterRender | None) -> RunRecord:
        import diffusers
        import torch


        request, settings, source = self.request, narration.settings, narration.checked.source
        model_sha = weights_sha256(source.path)  # cached by path, size and mtime after the first time
        loras = [LoraUsed(str(Path(lo.path).expanduser().resolve()), lo.weight,
                          cached_sha256(Path(lo.path).expanduser())) for lo in settings.loras]
        motion = narration.checked.motion
        motion_used = (MotionUsed(settings.motion_model, motion.kind, str(motion.path), weights_sha256(motion.path))
                       if motion is not None else None)
        timings["total_s"] = time.perf_counter() - started
        return RunRecord(
            id=new_run_id(), time=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            app_version=__version__, replay_of=request.replay_of,
            audio=AudioUsed(str(request.audio_path.resolve()), narration.audio_sha,
                            round(narration.checked.audio.duration_s, 4)),
            transcript=narration.transcript, prompt=settings.prompt, negative_prompt=settings.negative_prompt,
            style=settings.style,
            model=ModelUsed(settings.model, source.kind, str(source.path),
                            str(source.config_dir) if source.config_dir else None, model_sha),
            loras=loras, mode=settings.mode, decoder=settings.decoder, preview_decoder=ctx.decoders.preview_kind,
            scheduler=settings.scheduler, steps=settings.steps, cfg=settings.cfg,
            frames=made.frames, output_frames=made.output_frames, seeds=made.seeds,
            keyframes=made.keyframes, keyframe_times_s=made.keyframe_times_s,
            fps=settings.fps, size=(settings.width, settings.height),
            device=DeviceUsed(settings.device, device.device, device.dtype_name),
            versions={"torch": torch.__version__, "diffusers": diffusers.__version__,
                      "python": platform.python_version()},
            memory_fallbacks=list(ctx.ladder.steps),
            unet_evaluations=made.counter.samples + (cluster.scheduler.unet_samples if cluster else 0),
            unet_calls=made.counter.calls + (cluster.scheduler.unet_calls if cluster else 0),
            frame_cache={"hits": ctx.cache.hits, "misses": ctx.cache.misses},
            timings_s={k: round(v, 4) for k, v in timings.items()}, settings=settings, storyboard=narration.board,
            output=OutputMade(str(request.out_path.resolve()), sha256_file(request.out_path)),
            subtitles=[str(p.resolve()) for p in request.subtitle_paths()],
            motion_model=motion_used, music=narration.music, cluster=cluster.used() if cluster else None,
        )

    # --- the cluster ----------------------------------------------------------------------------
    def _cluster_models(self, settings: RenderSettings, source: Any, identity: dict[str, Any], motion: Any,
                        progress: ProgressFn) -> RenderSpec | None:
        """On a cluster: the render's spec, once every worker holds its models (sent when missing)."""
        if self._session is None:
            return None
        from hear2see_desktop.core.cluster.cluster_render import ensure_models, model_spec, with_workers_precision

        progress(0, 1, "Checking the cluster's models", None)
        spec = with_workers_precision(self._session, model_spec(settings, source, identity, motion))
        ensure_models(self._session, spec)
        return spec

    def _waiting_for_cluster(self, progress: ProgressFn) -> None:
        """While the render waits for the workers (an animate clip: minutes), say how far they are, and show the
        steps they denoise as a local render shows its own: live previews."""
        if self._cluster is None:
            return
        done, total = self._cluster.scheduler.counts()
        message = f"Rendering on the cluster: {done} of {total} units back"
        steps = self._cluster.scheduler.take_steps()
        for heard in steps:
            self.events.step(heard.step)
        if not steps:
            progress(done, max(1, total), message, None)
            return
        newest = steps[-1]
        what = "in-betweens" if newest.step.image is None else f"{UNIT_NAMES[newest.kind]} {newest.step.image + 1}"
        progress(done, max(1, total), f"{message}; {what}: step {newest.step.step}/{newest.step.steps} on "
                                      f"{newest.worker}", newest.step.preview)

    def _cluster_units(self, spec: RenderSpec, narration: _Narration, cache: ClusterCache,
                       ahead: bool) -> ClusterRender:
        """On a cluster: the render's units, handed out from now on while the client renders in order."""
        from hear2see_desktop.core.cluster.cluster_render import ClusterRender, plan_units

        assert self._session is not None
        spec, units = plan_units(spec, narration.checked.audio.duration_s, narration.board, narration.checked.audio,
                                 cache)
        cluster = ClusterRender(self._session, spec, units, cache, ahead)
        cluster.start()
        return cluster


UNIT_NAMES = {"classic": "image", "keyframe": "keyframe", "segment": "segment", "clip": "frame"}
"""How the progress line names the picture a worker's step belongs to."""


def _music_under(narration_path: Path, settings: RenderSettings) -> tuple[Audio | None, MusicUsed | None]:
    """The soundtrack with the settings' background music mixed in, and the music as the record keeps it;
    (None, None) without music. The narration stays the timing source: the mix has its length."""

    if not settings.music_path:
        return None, None
    from hear2see_desktop.core.music_mix import narration_with_music

    soundtrack = narration_with_music(narration_path, settings.music_path, settings.music_level_db)
    music_path = Path(settings.music_path).expanduser().resolve()
    return soundtrack, MusicUsed(str(music_path), sha256_file(music_path))


def _with_prompt(settings: RenderSettings, transcript: Transcript) -> RenderSettings:
    """The settings with the prompt the picture is drawn from: the user's, or one built from the words."""

    if settings.prompt.strip():
        if settings.negative_prompt.strip():
            return settings
        built = build_prompt(settings.prompt, style="none")
        return replace(settings, negative_prompt=built.negative_prompt)
    built = build_prompt(transcript.text, style=settings.style, negative=settings.negative_prompt or None)
    return replace(settings, prompt=built.prompt, negative_prompt=built.negative_prompt)


def _cache_identity(source: Any, device: Any, settings: RenderSettings, motion: Any = None) -> dict[str, Any]:
    """Cheap identities for the frame cache's keys (no hashing of gigabytes before the first preview); `motion`,
    animate's motion model source."""

    identity: dict[str, Any] = {
        "model": weights_fingerprint(source.path), "config": str(source.config_dir or ""),
        "device": device.dtype_name,
        "loras": [[weights_fingerprint(Path(lo.path).expanduser()), lo.weight] for lo in settings.loras]}
    if settings.decoder != "vae":  # (keys of VAE-decoded frames stay as they were before decoders existed)
        identity["decoder"] = settings.decoder
    if max(settings.width, settings.height) > vae_tile_px(device):  # tiles blend slightly differently
        identity["vae_tile"] = vae_tile_px(device)
    if motion is not None:
        identity["motion"] = weights_fingerprint(motion.path)
    return identity


def _captioned(write_frame: Any, settings: RenderSettings, cues: list[Any]) -> Any:
    """The video writer's input, with the narration's words burned in when captions are on."""

    style = settings.caption_style()

    def write(frame_index: int, rgb: Any) -> None:
        if settings.captions:
            from hear2see_desktop.core.captions import burn_cue
            from hear2see_desktop.core.subtitles import cue_at

            time_s = frame_index / settings.fps
            cue = cue_at(cues, time_s)
            rgb = burn_cue(rgb, cue, time_s, style, settings.caption_layout) if cue is not None else rgb
        write_frame(rgb)

    return write


def _keep_sample_cost(clock: SampleClock, device: str, motion: bool, settings: RenderSettings) -> None:
    """Remember what the render's first steps cost here, for the next estimates (a failure only costs that)."""
    seconds = clock.seconds_per_sample()
    if seconds is None:
        return
    try:
        record_sample_cost(paths.unit_costs_path(), device, motion, settings.width, settings.height, seconds)
    except OSError as error:
        log.warning("could not keep the measured unit cost: %s", error)


def _required(board: Storyboard | None) -> Storyboard:
    assert board is not None, "smooth, fast and animate renders always have a storyboard"
    return board


def _write_subtitles(request: RenderRequest, settings: RenderSettings, cues: list[Any]) -> list[tuple[Path, Path]]:
    """Subtitles under temp names; they take their final names only when the video does."""

    temps = []
    for path in request.subtitle_paths():
        temp = part_path(path, keep_suffix=True)
        write_subtitles(cues, temp, settings.caption_style(), (settings.width, settings.height))
        temps.append((temp, path))
    return temps


def _publish(temps: list[tuple[Path, Path]]) -> None:
    """Give finished subtitle files their final names."""
    for temp, final in temps:
        os.replace(temp, final)


def _discard(temps: list[tuple[Path, Path]]) -> None:
    for temp, _final in temps:
        temp.unlink(missing_ok=True)


__all__ = ["RenderJob", "RenderRequest", "RenderResult", "replay_request", "check_output_path", "save_png",
           "CancelledError"]
