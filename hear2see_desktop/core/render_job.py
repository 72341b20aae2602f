"""The render job: narration file in, MP4 out, one run record appended.

Stages: load audio -> transcribe -> build the prompt -> load the model -> render the distinct
images -> stream them into the video writer -> append the run record. Each stage reports through
the job protocol (core/jobs.py) and can be cancelled; a cancelled or failed render leaves nothing
under the output name and no run record.
"""

from __future__ import annotations

import logging
import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hear2see_desktop import __version__
from hear2see_desktop.core import paths
from hear2see_desktop.core.errors import BadInputError, CancelledError, Hear2SeeError
from hear2see_desktop.core.jobs import CancelledFn, ProgressFn, raise_if_cancelled
from hear2see_desktop.core.settings import RenderSettings, frame_seeds
from hear2see_desktop.core.transcript import Transcript

if TYPE_CHECKING:
    from hear2see_desktop.core.render.model_source import ModelSource

log = logging.getLogger(__name__)

ImageSink = Callable[[int, float, Any], None]


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
    runs_log: Path | None = None
    transcript: Transcript | None = None
    replay_of: str | None = None
    frames_dir: Path | None = None  # also keep each distinct image as frame_0001.png ... here


@dataclass
class RenderResult:
    """The finished MP4, the run id it was logged under, and the record itself."""

    out_path: Path
    run_id: str
    record: dict[str, Any] = field(default_factory=dict)


def save_png(rgb: Any, path: Path) -> None:
    """Write one image as PNG through a temp name, so a crash never leaves a half PNG."""
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.part")
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

    def __init__(self, request: RenderRequest, on_image: ImageSink | None = None) -> None:
        """`on_image(index, time_s, rgb)` receives each finished distinct image (the GUI's timeline)."""
        self.request = request
        self.on_image = on_image

    def run(self, progress: ProgressFn, cancelled: CancelledFn) -> RenderResult:
        from hear2see_desktop.core.audio import is_silent, load_audio
        from hear2see_desktop.core.hashing import sha256_file

        request = self.request
        settings = replace(request.settings)
        settings.validate()
        check_output_path(request.out_path)
        timings: dict[str, float] = {}
        started = time.perf_counter()

        # Everything a user can get wrong is checked before the first long stage, so a bad input
        # fails in a moment with one sentence (and before any progress is shown).
        from hear2see_desktop.core.render.model_source import resolve_model_source

        stage = time.perf_counter()
        audio = load_audio(request.audio_path)
        source = resolve_model_source(settings.model, settings.model_config)
        for lora in settings.loras:
            if not Path(lora.path).expanduser().is_file():
                raise BadInputError(f"The LoRA file {lora.path} does not exist: check the path given to --lora.")
        silent = is_silent(audio)
        if silent and not settings.prompt.strip():
            raise BadInputError(
                f"No speech detected in {request.audio_path.name}: record the narration again, "
                "or give the picture yourself with --prompt."
            )
        engine = None
        if request.transcript is None and not silent:
            from hear2see_desktop.core.asr.select import open_engine

            engine = open_engine(request.engine, request.asr_model)
        progress(0, 1, "Reading the narration", None)
        audio_sha = sha256_file(request.audio_path)
        timings["audio_s"] = time.perf_counter() - stage
        raise_if_cancelled(cancelled)

        transcript = request.transcript
        if transcript is None:
            transcript = self._transcribe(audio, engine, progress, cancelled, timings)
        if not settings.prompt.strip() and not transcript.text.strip():
            raise BadInputError(
                f"No speech detected in {request.audio_path.name}: record the narration again, "
                "or give the picture yourself with --prompt."
            )

        stage = time.perf_counter()
        settings = self._with_prompt(settings, transcript)
        timings["prompt_s"] = time.perf_counter() - stage
        raise_if_cancelled(cancelled)

        return self._render(
            request, settings, source, audio, audio_sha, transcript, timings, started, progress, cancelled
        )

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
        from hear2see_desktop.core.render.frames import render_images
        from hear2see_desktop.core.render.pipeline_cache import apply_loras, get_pipeline, render_failed_for
        from hear2see_desktop.core.render.weights_hash import cached_sha256, weights_sha256
        from hear2see_desktop.core.runlog import append_record, new_run_id
        from hear2see_desktop.core.video import VideoWriter, frame_count, frame_schedule

        device = resolve_device(settings.device)
        stage = time.perf_counter()
        progress(0, 1, "Loading the model", None)
        loaded = get_pipeline(source, device)
        apply_loras(loaded, settings.loras)
        timings["model_load_s"] = time.perf_counter() - stage
        raise_if_cancelled(cancelled)

        n_out = frame_count(audio.duration_s, settings.fps)
        # More distinct images than output frames could never be seen: render at most one per frame.
        schedule = frame_schedule(audio.duration_s, settings.fps, min(settings.frames or n_out, n_out))
        n_images = max(schedule) + 1
        seeds = frame_seeds(settings, n_images)
        out_index = 0
        stage = time.perf_counter()
        try:
            with VideoWriter(request.out_path, settings.width, settings.height, settings.fps,
                             audio_path=request.audio_path) as writer:

                def on_image(index: int, rgb: Any) -> None:
                    nonlocal out_index
                    time_s = out_index / settings.fps  # the image first shows at this output frame
                    while out_index < len(schedule) and schedule[out_index] == index:
                        writer.write_frame(rgb)
                        out_index += 1
                    if request.frames_dir is not None:
                        save_png(rgb, request.frames_dir / f"frame_{index + 1:04d}.png")
                    if self.on_image is not None:
                        self.on_image(index, time_s, rgb)

                counter = render_images(loaded, settings, seeds, progress, cancelled, on_image)
                progress(1, 1, "Finishing the video", None)
        except (Hear2SeeError, KeyboardInterrupt):
            raise
        except (RuntimeError, MemoryError) as error:
            log.exception("render failed")
            raise render_failed_for(error, f"{settings.width}x{settings.height}") from error
        timings["render_s"] = time.perf_counter() - stage
        timings["total_s"] = time.perf_counter() - started

        run_id = new_run_id()
        record: dict[str, Any] = {
            "id": run_id,
            "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "app_version": __version__,
            "replay_of": request.replay_of,
            "audio": {
                "path": str(request.audio_path.resolve()),
                "sha256": audio_sha,
                "duration_s": round(audio.duration_s, 4),
            },
            "transcript": transcript.to_dict(),
            "prompt": settings.prompt,
            "negative_prompt": settings.negative_prompt,
            "style": settings.style,
            "model": {
                "requested": settings.model,
                "kind": source.kind,
                "path": str(source.path),
                "config": str(source.config_dir) if source.config_dir else None,
                "sha256": weights_sha256(source.path),
            },
            "loras": [
                {"path": str(Path(lo.path).expanduser().resolve()), "weight": lo.weight,
                 "sha256": cached_sha256(Path(lo.path).expanduser())}
                for lo in settings.loras
            ],
            "scheduler": settings.scheduler,
            "steps": settings.steps,
            "cfg": settings.cfg,
            "frames": n_images,
            "output_frames": len(schedule),
            "fps": settings.fps,
            "seeds": seeds,
            "size": [settings.width, settings.height],
            "device": {"requested": settings.device, "used": device.device, "dtype": device.dtype_name},
            "versions": {
                "torch": torch.__version__,
                "diffusers": diffusers.__version__,
                "python": platform.python_version(),
            },
            "unet_evaluations": counter.samples,
            "unet_calls": counter.calls,
            "timings_s": {k: round(v, 4) for k, v in timings.items()},
            "settings": settings.to_dict(),
            "output": {"path": str(request.out_path.resolve()), "sha256": sha256_file(request.out_path)},
        }
        append_record(request.runs_log or paths.runs_log_path(), record)
        return RenderResult(request.out_path, run_id, record)


def replay_request(record: dict[str, Any], out_path: Path, runs_log: Path | None) -> RenderRequest:
    """A request that renders a logged run again: same audio, transcript, prompt and settings."""
    from hear2see_desktop.core.hashing import sha256_file

    try:
        settings = RenderSettings.from_dict(record["settings"])
        audio_path = Path(record["audio"]["path"])
        transcript = Transcript.from_dict(record["transcript"])
        expected_sha = str(record["audio"]["sha256"])
    except (KeyError, TypeError, ValueError) as error:
        raise BadInputError(f"The run {record.get('id')} is missing fields needed to replay it ({error}).") from error
    if not audio_path.is_file():
        raise BadInputError(f"The narration of run {record.get('id')} is gone ({audio_path}): restore it to replay.")
    if sha256_file(audio_path) != expected_sha:
        raise BadInputError(
            f"The narration {audio_path.name} changed since run {record.get('id')}: the replay would differ."
        )
    return RenderRequest(audio_path=audio_path, out_path=out_path, settings=settings, runs_log=runs_log,
                         transcript=transcript, replay_of=str(record.get("id")))


__all__ = ["RenderJob", "RenderRequest", "RenderResult", "replay_request", "check_output_path", "CancelledError"]
