"""The render job: narration file in, MP4 out (and subtitles when asked), one run record appended.

Stages: load audio -> transcribe -> build the prompt (and, in the smooth and fast modes or with a
given storyboard, one prompt per scene) -> load the model -> render the frames of the mode ->
stream them into the video writer -> write subtitles -> append the run record. Each stage reports
through the job protocol (core/jobs.py) and can be cancelled; a cancelled or failed render leaves
nothing under the output names and no run record. Finished frames stay in the frame cache, so a
cancelled render continues where it stopped when it is started again.
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
from hear2see_desktop.core.errors import BadInputError, CancelledError, Hear2SeeError
from hear2see_desktop.core.jobs import CancelledFn, ProgressFn, raise_if_cancelled
from hear2see_desktop.core.part_files import part_path
from hear2see_desktop.core.render.events import NO_EVENTS, RenderEvents
from hear2see_desktop.core.run_record import AudioUsed, DeviceUsed, LoraUsed, ModelUsed, OutputMade, RunRecord
from hear2see_desktop.core.settings import RenderSettings, frame_seeds
from hear2see_desktop.core.transcript import Transcript

if TYPE_CHECKING:
    from hear2see_desktop.core.render.frame_cache import FrameCache
    from hear2see_desktop.core.render.frames import ScenePrompt, UNetCounter
    from hear2see_desktop.core.render.memory_ladder import MemoryLadder
    from hear2see_desktop.core.render.model_source import ModelSource
    from hear2see_desktop.core.storyboard.board import Storyboard

log = logging.getLogger(__name__)

STORYBOARD_TOLERANCE_S = 0.5
"""A storyboard may end this far from the narration's end (re-encoded audio shifts by a few ms)."""


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


@dataclass
class RenderResult:
    """The finished MP4, the run id it was logged under, and the record itself."""

    out_path: Path
    run_id: str
    record: RunRecord


@dataclass
class _Made:
    """What a mode's renderer made: the record's counts, seeds and keyframes, and its UNet work."""

    frames: int
    output_frames: int
    seeds: list[int]
    counter: UNetCounter
    keyframes: int | None = None
    keyframe_times_s: list[float] | None = None


def save_png(rgb: Any, path: Path) -> None:
    """Write one image as PNG through a temp name, so a crash never leaves a half PNG."""
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    temp = part_path(path, keep_suffix=True)
    Image.fromarray(rgb).save(temp, format="PNG")
    os.replace(temp, path)


def check_output_path(out_path: Path) -> None:
    """Refuse an output we can't write before doing any work."""
    if out_path.suffix.lower() != ".mp4":
        raise BadInputError(f"The output {out_path.name} must end in .mp4.")
    if out_path.is_dir():
        raise BadInputError(f"The output {out_path} is a folder: give a file name ending in .mp4.")
    if not out_path.parent.is_dir():
        raise BadInputError(f"The folder {out_path.parent} does not exist: create it or choose another output.")


class RenderJob:
    """Runs one render request; see the module docstring for the stages."""

    def __init__(self, request: RenderRequest, events: RenderEvents = NO_EVENTS) -> None:
        """`events` hear the plan, each denoising step and each finished image (the GUI's timeline)."""
        self.request = request
        self.events = events
        self._thumbnails_for: list[str] = []  # model and LoRA files still without a picker thumbnail

    def run(self, progress: ProgressFn, cancelled: CancelledFn) -> RenderResult:
        from hear2see_desktop.core.audio import is_silent, load_audio
        from hear2see_desktop.core.hashing import sha256_file

        request = self.request
        settings = replace(request.settings)
        settings.validate()
        check_output_path(request.out_path)
        for subtitle_path in (request.srt_path, request.vtt_path):
            if subtitle_path is not None and not subtitle_path.parent.is_dir():
                raise BadInputError(f"The folder {subtitle_path.parent} does not exist: create it or choose "
                                    "another place for the subtitles.")
        if request.storyboard is not None:
            request.storyboard.validate()
        timings: dict[str, float] = {}
        started = time.perf_counter()

        # Everything a user can get wrong is checked before the first long stage, so a bad input
        # fails in a moment with one sentence (and before any progress is shown).
        from hear2see_desktop.core.render.model_files import check_lora_file, check_model_files
        from hear2see_desktop.core.render.model_source import resolve_model_source

        stage = time.perf_counter()
        audio = load_audio(request.audio_path)
        source = resolve_model_source(settings.model, settings.model_config)
        check_model_files(source)
        for lora in settings.loras:
            lora_path = Path(lora.path).expanduser()
            if not lora_path.is_file():
                raise BadInputError(f"The LoRA file {lora.path} does not exist: check the path given to --lora.")
            if lora_path.suffix.lower() == ".safetensors":
                check_lora_file(lora_path, source)
        if settings.decoder == "taesd":
            from hear2see_desktop.core.render.taesd import require_taesd

            require_taesd()
        silent = is_silent(audio)
        if request.storyboard is not None:
            _check_storyboard_length(request.storyboard, audio.duration_s)
        if silent and not settings.prompt.strip() and request.storyboard is None:
            raise BadInputError(
                f"No speech detected in {request.audio_path.name}: record the narration again, "
                "or give the picture yourself with --prompt."
            )
        engine = None
        if request.transcript is None and not silent:
            from hear2see_desktop.core.asr.select import open_engine

            engine = open_engine(request.engine, request.asr_model, request.asr_language)
        progress(0, 1, "Reading the narration", None)
        audio_sha = sha256_file(request.audio_path)
        timings["audio_s"] = time.perf_counter() - stage
        raise_if_cancelled(cancelled)

        transcript = request.transcript
        if transcript is None:
            transcript = self._transcribe(audio, engine, progress, cancelled, timings)
        if not settings.prompt.strip() and not transcript.text.strip() and request.storyboard is None:
            raise BadInputError(
                f"No speech detected in {request.audio_path.name}: record the narration again, "
                "or give the picture yourself with --prompt."
            )

        stage = time.perf_counter()
        board = request.storyboard
        if board is not None:
            settings = replace(settings, prompt=settings.prompt or board.scenes[0].prompt,
                               negative_prompt=settings.negative_prompt or board.scenes[0].negative_prompt)
        else:
            settings = self._with_prompt(settings, transcript)
            # Scene by scene, as the window renders: only a classic render of a typed prompt is the paper's
            # one picture for the whole clip (and a replay of a run made that way, whose prompt was logged).
            if settings.mode != "classic" or not request.settings.prompt.strip():
                board = self._storyboard(settings, request, transcript, audio.duration_s)
        timings["prompt_s"] = time.perf_counter() - stage
        raise_if_cancelled(cancelled)

        return self._render(
            request, settings, board, source, audio, audio_sha, transcript, timings, started, progress, cancelled
        )

    @staticmethod
    def _storyboard(settings: RenderSettings, request: RenderRequest, transcript: Transcript,
                    duration_s: float) -> Storyboard:
        """Scenes from the narration; a prompt the user typed is the picture of every scene."""
        from hear2see_desktop.core.storyboard.board import build_storyboard

        board = build_storyboard(transcript, duration_s=duration_s, style=settings.style,
                                 negative=settings.negative_prompt or None,
                                 min_scene_s=settings.min_scene_s, max_scene_s=settings.max_scene_s)
        if request.settings.prompt.strip():
            for scene in board.scenes:
                scene.prompt = settings.prompt
                scene.negative_prompt = settings.negative_prompt
        return board

    @staticmethod
    def _transcribe(
        audio: Any,
        engine: Any,
        progress: ProgressFn,
        cancelled: CancelledFn,
        timings: dict[str, float],
    ) -> Transcript:
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

    @staticmethod
    def _with_prompt(settings: RenderSettings, transcript: Transcript) -> RenderSettings:
        from hear2see_desktop.core.prompt.builder import build_prompt

        if settings.prompt.strip():
            if settings.negative_prompt.strip():
                return settings
            built = build_prompt(settings.prompt, style="none")
            return replace(settings, negative_prompt=built.negative_prompt)
        built = build_prompt(transcript.text, style=settings.style, negative=settings.negative_prompt or None)
        return replace(settings, prompt=built.prompt, negative_prompt=built.negative_prompt)

    def _render(
        self,
        request: RenderRequest,
        settings: RenderSettings,
        board: Storyboard | None,
        source: ModelSource,
        audio: Any,
        audio_sha: str,
        transcript: Transcript,
        timings: dict[str, float],
        started: float,
        progress: ProgressFn,
        cancelled: CancelledFn,
    ) -> RenderResult:
        import diffusers
        import torch

        from hear2see_desktop.core.hashing import sha256_file
        from hear2see_desktop.core.render.devices import resolve_device
        from hear2see_desktop.core.render.frame_cache import FrameCache
        from hear2see_desktop.core.render.memory_ladder import ladder_for
        from hear2see_desktop.core.render.pipeline_cache import apply_loras, get_pipeline, render_failed_for
        from hear2see_desktop.core.render.vae_tiling import vae_tile_px
        from hear2see_desktop.core.render.weights_hash import cached_sha256, weights_fingerprint, weights_sha256
        from hear2see_desktop.core.runlog import append_record, new_run_id
        from hear2see_desktop.core.subtitles import make_cues
        from hear2see_desktop.core.video import VideoWriter

        device = resolve_device(settings.device)
        stage = time.perf_counter()
        progress(0, 1, "Loading the model", None)
        loaded = get_pipeline(source, device)
        apply_loras(loaded, settings.loras)
        from hear2see_desktop.core.render.taesd import Decoders

        decoders = Decoders(loaded.pipe, settings.decoder)
        ladder = ladder_for(loaded, settings.width, settings.height, settings.cfg > 1.0, settings.decoder)
        self._thumbnails_for = [str(source.path), *(str(Path(lo.path).expanduser()) for lo in settings.loras)]
        timings["model_load_s"] = time.perf_counter() - stage
        progress(1, 1, f"Model ready in {timings['model_load_s']:.1f} s", None)
        raise_if_cancelled(cancelled)

        # Cheap identities for the cache keys (no hashing of gigabytes before the first preview).
        identity = {"model": weights_fingerprint(source.path), "config": str(source.config_dir or ""),
                    "device": device.dtype_name,
                    "loras": [[weights_fingerprint(Path(lo.path).expanduser()), lo.weight] for lo in settings.loras]}
        if settings.decoder != "vae":  # (keys of VAE-decoded frames stay as they were before decoders existed)
            identity["decoder"] = settings.decoder
        if max(settings.width, settings.height) > vae_tile_px(device):  # tiles blend slightly differently
            identity["vae_tile"] = vae_tile_px(device)
        cache = FrameCache((request.cache_dir or paths.cache_dir() / "frames") if request.use_cache else None)
        cues = make_cues(transcript.words) if (settings.captions or request.srt_path or request.vtt_path) else []
        temps: list[tuple[Path, Path]] = []
        stage = time.perf_counter()
        try:
            with VideoWriter(request.out_path, settings.width, settings.height, settings.fps,
                             audio_path=request.audio_path) as writer:

                def write(frame_index: int, rgb: Any) -> None:
                    if settings.captions:
                        from hear2see_desktop.core.captions import burn_caption
                        from hear2see_desktop.core.subtitles import cue_at

                        cue = cue_at(cues, frame_index / settings.fps)
                        rgb = burn_caption(rgb, cue.text) if cue is not None else rgb
                    writer.write_frame(rgb)

                if settings.mode == "classic":
                    made = self._render_classic(request, settings, board, audio, loaded, decoders, ladder, cache,
                                                   identity, write, progress, cancelled)
                else:
                    assert board is not None
                    made = self._render_sequence(request, settings, board, audio, loaded, decoders, ladder,
                                                    cache, identity, write, progress, cancelled)
                progress(1, 1, "Finishing the video", None)
                temps = self._write_subtitles(request, cues)
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
        model_sha = weights_sha256(source.path)  # cached by path, size and mtime after the first time
        lora_records = [LoraUsed(str(Path(lo.path).expanduser().resolve()), lo.weight,
                                 cached_sha256(Path(lo.path).expanduser())) for lo in settings.loras]
        timings["total_s"] = time.perf_counter() - started

        record = RunRecord(
            id=new_run_id(), time=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            app_version=__version__, replay_of=request.replay_of,
            audio=AudioUsed(str(request.audio_path.resolve()), audio_sha, round(audio.duration_s, 4)),
            transcript=transcript, prompt=settings.prompt, negative_prompt=settings.negative_prompt,
            style=settings.style,
            model=ModelUsed(settings.model, source.kind, str(source.path),
                            str(source.config_dir) if source.config_dir else None, model_sha),
            loras=lora_records, mode=settings.mode, decoder=settings.decoder, preview_decoder=decoders.preview_kind,
            scheduler=settings.scheduler, steps=settings.steps, cfg=settings.cfg,
            frames=made.frames, output_frames=made.output_frames, seeds=made.seeds,
            keyframes=made.keyframes, keyframe_times_s=made.keyframe_times_s,
            fps=settings.fps, size=(settings.width, settings.height),
            device=DeviceUsed(settings.device, device.device, device.dtype_name),
            versions={"torch": torch.__version__, "diffusers": diffusers.__version__,
                      "python": platform.python_version()},
            memory_fallbacks=list(ladder.steps), unet_evaluations=made.counter.samples,
            unet_calls=made.counter.calls, frame_cache={"hits": cache.hits, "misses": cache.misses},
            timings_s={k: round(v, 4) for k, v in timings.items()}, settings=settings, storyboard=board,
            output=OutputMade(str(request.out_path.resolve()), sha256_file(request.out_path)),
            subtitles=[str(p.resolve()) for p in (request.srt_path, request.vtt_path) if p is not None],
        )
        append_record(request.runs_log or paths.runs_log_path(), record.to_dict())
        return RenderResult(request.out_path, record.id, record)

    def _render_classic(self, request: RenderRequest, settings: RenderSettings, board: Storyboard | None,
                        audio: Any, loaded: Any, decoders: Any, ladder: MemoryLadder, cache: FrameCache,
                        identity: dict[str, Any],
                        write: Callable[[int, Any], None], progress: ProgressFn,
                        cancelled: CancelledFn) -> _Made:
        """The paper's mode: independent images with seed + i, each held for its share of the frames."""
        from hear2see_desktop.core.frame_timing import frame_count, frame_schedule
        from hear2see_desktop.core.render.frame_cache import cache_key
        from hear2see_desktop.core.render.frames import render_images

        n_out = frame_count(audio.duration_s, settings.fps)
        # More distinct images than output frames could never be seen: render at most one per frame.
        schedule = frame_schedule(audio.duration_s, settings.fps, min(settings.frames or n_out, n_out))
        n_images = max(schedule) + 1
        seeds = frame_seeds(settings, n_images)
        times = [schedule.index(i) / settings.fps for i in range(n_images)]
        prompts = [_scene_prompt(settings, board, time_s) for time_s in times]
        keys = [cache_key("classic", identity, settings.scheduler, settings.steps, settings.cfg,
                          [settings.width, settings.height], p.prompt, p.negative, seed)
                for p, seed in zip(prompts, seeds, strict=True)]
        self.events.plan(times)
        out_index = 0

        def on_image(index: int, rgb: Any) -> None:
            nonlocal out_index
            while out_index < len(schedule) and schedule[out_index] == index:
                write(out_index, rgb)
                out_index += 1
            self._hand_out(request, index, times[index], rgb)

        counter = render_images(loaded, settings, seeds, progress, cancelled, on_image, decoders=decoders,
                                prompts=prompts, cache=cache, keys=keys, ladder=ladder, on_step=self.events.step)
        return _Made(n_images, len(schedule), seeds, counter)

    def _render_sequence(self, request: RenderRequest, settings: RenderSettings, board: Storyboard,
                         audio: Any, loaded: Any, decoders: Any, ladder: MemoryLadder, cache: FrameCache,
                         identity: dict[str, Any],
                         write: Callable[[int, Any], None], progress: ProgressFn,
                         cancelled: CancelledFn) -> _Made:
        """Smooth and fast: keyframes on the storyboard's scenes, paced by the narration's sound."""
        from hear2see_desktop.core.frame_timing import frame_count
        from hear2see_desktop.core.motion.plan import plan_frames
        from hear2see_desktop.core.motion.reactive import audio_envelope
        from hear2see_desktop.core.render.frames import ScenePrompt
        from hear2see_desktop.core.render.sequence import SequenceRenderer

        n_out = frame_count(audio.duration_s, settings.fps)
        envelope = (audio_envelope(audio.samples, audio.sample_rate_hz, settings.fps, n_out)
                    if settings.reactivity > 0 else None)
        spans = [(scene.start_s, scene.end_s) for scene in board.scenes]
        spans[-1] = (spans[-1][0], audio.duration_s)
        plan = plan_frames(spans, audio.duration_s, settings.fps, keyframe_interval_s=settings.keyframe_interval_s,
                           envelope=envelope, reactivity=settings.reactivity, transition_s=settings.transition_s)
        prompts = [ScenePrompt(scene.prompt, scene.negative_prompt or settings.negative_prompt)
                   for scene in board.scenes]
        self.events.plan([keyframe.time_s for keyframe in plan.keyframes])
        renderer = SequenceRenderer(loaded, settings, plan, prompts, cache, identity, decoders, ladder=ladder)
        renderer.run(progress, cancelled, write,
                     lambda index, time_s, rgb: self._hand_out(request, index, time_s, rgb), self.events.step)
        return _Made(len(plan.frames), len(plan.frames), [settings.seed], renderer.counter, len(plan.keyframes),
                     [round(k.time_s, 4) for k in plan.keyframes])

    def _hand_out(self, request: RenderRequest, index: int, time_s: float, rgb: Any) -> None:
        """A finished distinct image or keyframe: keep it as PNG when asked, and tell the listener."""
        if request.frames_dir is not None:
            save_png(rgb, request.frames_dir / paths.frame_file_name(index))
        if self._thumbnails_for:  # the first picture made with a model or LoRA shows it in the pickers
            from hear2see_desktop.core.models.thumbnails import save_thumbnail

            for path in self._thumbnails_for:
                save_thumbnail(path, rgb)
            self._thumbnails_for = []
        self.events.image(index, time_s, rgb)

    @staticmethod
    def _write_subtitles(request: RenderRequest, cues: list[Any]) -> list[tuple[Path, Path]]:
        """Subtitles under temp names; they take their final names only when the video does."""
        from hear2see_desktop.core.subtitles import write_subtitles

        temps = []
        for path in (request.srt_path, request.vtt_path):
            if path is not None:
                temp = part_path(path, keep_suffix=True)
                write_subtitles(cues, temp)
                temps.append((temp, path))
        return temps


def _scene_prompt(settings: RenderSettings, board: Storyboard | None, time_s: float) -> ScenePrompt:
    from hear2see_desktop.core.render.frames import ScenePrompt

    if board is None:
        return ScenePrompt(settings.prompt, settings.negative_prompt)
    scene = board.scenes[board.scene_at(time_s)]
    return ScenePrompt(scene.prompt, scene.negative_prompt or settings.negative_prompt)


def _check_storyboard_length(board: Storyboard, duration_s: float) -> None:
    if abs(board.duration_s - duration_s) > STORYBOARD_TOLERANCE_S:
        raise BadInputError(
            f"The storyboard lasts {board.duration_s:.1f} s but the narration {duration_s:.1f} s: "
            "make the storyboard from this narration (hear2see storyboard AUDIO -o board.json)."
        )


def _publish(temps: list[tuple[Path, Path]]) -> None:
    """Give finished subtitle files their final names."""
    for temp, final in temps:
        os.replace(temp, final)


def _discard(temps: list[tuple[Path, Path]]) -> None:
    for temp, _final in temps:
        temp.unlink(missing_ok=True)


def replay_request(record: RunRecord, out_path: Path, runs_log: Path | None) -> RenderRequest:
    """A request that renders a logged run again: same audio, transcript, prompt, settings and storyboard."""
    from hear2see_desktop.core.hashing import sha256_file

    audio_path = Path(record.audio.path)
    if not audio_path.is_file():
        raise BadInputError(f"The narration of run {record.id} is gone ({audio_path}): restore it to replay.")
    if sha256_file(audio_path) != record.audio.sha256:
        raise BadInputError(f"The narration {audio_path.name} changed since run {record.id}: the replay would differ.")
    return RenderRequest(audio_path=audio_path, out_path=out_path, settings=record.settings, runs_log=runs_log,
                         transcript=record.transcript, replay_of=record.id, storyboard=record.storyboard)


__all__ = ["RenderJob", "RenderRequest", "RenderResult", "replay_request", "check_output_path", "CancelledError"]
