"""A cluster worker: one Ray actor holding one loaded pipeline on its GPU or CPU, rendering units for clients.

The pipeline is loaded once per actor (`get_pipeline`'s per-process cache) and reused across units and
renders; a unit renders with the very code a local render runs (`render_images`, `SequenceRenderer`) into an
in-memory frame cache, and hands back what landed there. Models are found by SHA-256 on the worker's node
(`model_files.find_model_on_node`); a client sends the ones it lacks once. The actor runs three calls at a time,
so `cancel` and `latest_step` arrive while a unit runs: the unit's `cancelled` reads the flag between denoising
steps, and each step is kept (the latest per render) for the client to show as a live preview.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from hear2see_desktop.core.cluster.model_files import find_model_on_node, received_path
from hear2see_desktop.core.cluster.units import PREVIEW_MAX_PX, ModelFile, RenderSpec, Unit, UnitResult, UnitStep
from hear2see_desktop.core.errors import BadInputError
from hear2see_desktop.core.render.events import DenoiseStep, StepFn
from hear2see_desktop.core.render.frame_cache import FrameCache


@dataclass(frozen=True)
class WorkerInfo:
    """Where a worker runs: its node's address, its process id, and its name in the run record."""

    node: str
    pid: int

    @property
    def name(self) -> str:
        return f"{self.node}:{self.pid}"


class MemoryCache(FrameCache):
    """A frame cache in memory: a unit's inputs go in before it runs, its results are read out after."""

    def __init__(self) -> None:
        super().__init__(None)
        self.images: dict[str, np.ndarray] = {}
        self.arrays: dict[str, np.ndarray] = {}

    def get_image(self, key: str) -> np.ndarray | None:
        return self.images.get(key)

    def put_image(self, key: str, rgb: np.ndarray) -> None:
        self.images[key] = rgb

    def get_array(self, key: str) -> np.ndarray | None:
        return self.arrays.get(key)

    def put_array(self, key: str, array: np.ndarray) -> None:
        self.arrays[key] = np.ascontiguousarray(array)


class RenderWorker:
    """The actor's state (see the module docstring); `ray.remote` wraps it in `session.py`."""

    def __init__(self, torch_threads: int | None = None) -> None:
        """`torch_threads`: the CPU threads one worker's matmuls use (a local cluster shares this machine's cores)."""
        self._threads = torch_threads
        self._cancelled: set[str] = set()
        self._lock = threading.Lock()
        self._running = 0
        self._steps: dict[str, UnitStep] = {}  # each render's latest denoising step here
        self._name: str | None = None  # this worker's name in the steps it hands out
        self.stopped = 0  # units ended by a cancel
        self.done = 0

    def describe(self) -> WorkerInfo:
        """Where this worker runs."""
        try:
            import ray

            node = ray.util.get_node_ip_address()
        except Exception:  # noqa: BLE001 - a name for the record only
            node = socket.gethostname()
        return WorkerInfo(node, os.getpid())

    def state(self) -> dict[str, int]:
        """Units running now, finished, and stopped by a cancel (the tests and the client's wait read it)."""
        with self._lock:
            return {"running": self._running, "done": self.done, "stopped": self.stopped}

    def dtype_for(self, requested: str) -> str:
        """The precision this worker renders in for the settings' device (the frame cache keys name it)."""
        from hear2see_desktop.core.render.devices import resolve_device

        return resolve_device(requested).dtype_name

    # --- models -----------------------------------------------------------------------------------
    def missing(self, files: list[ModelFile]) -> list[ModelFile]:
        """The model files this worker's node lacks."""
        return [file for file in files if _local_path(file) is None]

    def receive(self, file: ModelFile, parts: dict[str, bytes]) -> None:
        """Keep a model sent by a client under the models folder by hash (written whole, then renamed)."""
        target = received_path(file.sha256, Path(file.path).name)
        staging = target.with_name(f".{target.name}.{os.getpid()}.part")
        for name, data in parts.items():
            path = staging / name if name else staging
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        os.replace(staging, target)

    # --- units --------------------------------------------------------------------------------------
    def cancel(self, render_id: str) -> None:
        """Stop the render's unit running here within one denoising step, and refuse its later units."""
        with self._lock:
            self._cancelled.add(render_id)

    def latest_step(self, render_id: str, heard: int = 0) -> UnitStep | None:
        """The render's latest denoising step here if it is newer than the client's `heard`, its preview at most
        `PREVIEW_MAX_PX` on its longer side; None when there is none newer."""
        with self._lock:
            latest = self._steps.get(render_id)
        if latest is None or latest.heard <= heard:
            return None
        preview = latest.step.preview
        step = latest.step if preview is None else replace(latest.step, preview=smaller(preview, PREVIEW_MAX_PX))
        if self._name is None:
            self._name = self.describe().name
        return replace(latest, step=step, worker=self._name)

    def forget_steps(self, render_id: str) -> None:
        """The render has ended: its steps are no longer asked for."""
        with self._lock:
            self._steps.pop(render_id, None)

    def run_unit(self, spec: RenderSpec, unit: Unit, inputs: UnitResult) -> UnitResult:
        """Render `unit` of `spec`, starting from `inputs` (a segment's keyframes), and return what it made."""
        from hear2see_desktop.core.errors import CancelledError

        with self._lock:
            self._running += 1
        started = time.perf_counter()
        try:
            result = self._run(spec, unit, inputs)
        except CancelledError:
            with self._lock:
                self.stopped += 1
            raise
        finally:
            with self._lock:
                self._running -= 1
        with self._lock:
            self.done += 1
        result.render_s = time.perf_counter() - started
        return result

    def _run(self, spec: RenderSpec, unit: Unit, inputs: UnitResult) -> UnitResult:
        from hear2see_desktop.core.jobs import raise_if_cancelled

        def cancelled() -> bool:
            return spec.render_id in self._cancelled

        def on_step(step: DenoiseStep) -> None:
            if unit.kind == "classic":  # a classic unit renders its image as the only one of a list
                step = replace(step, image=unit.index)
            with self._lock:
                before = self._steps.get(spec.render_id)
                self._steps[spec.render_id] = UnitStep(unit.id, unit.kind, step, before.heard + 1 if before else 1)

        raise_if_cancelled(cancelled)
        loaded, decoders, ladder = self._pipeline(spec)
        cache = MemoryCache()
        cache.images.update(inputs.images)
        cache.arrays.update(inputs.arrays)
        samples, calls = _render_unit(spec, unit, cache, loaded, decoders, ladder, cancelled, on_step)
        return UnitResult({key: cache.images[key] for key in unit.produces if key in cache.images},
                          {key: cache.arrays[key] for key in unit.produces if key in cache.arrays}, samples, calls)

    def _pipeline(self, spec: RenderSpec) -> tuple[Any, Any, Any]:
        """The loaded pipeline with the render's LoRAs, its decoders and memory ladder (loaded once per actor)."""
        import torch

        from hear2see_desktop.core.render.devices import resolve_device
        from hear2see_desktop.core.render.memory_ladder import ladder_for
        from hear2see_desktop.core.render.model_source import ModelSource
        from hear2see_desktop.core.render.pipeline_cache import apply_loras, get_pipeline
        from hear2see_desktop.core.render.taesd import Decoders
        from hear2see_desktop.core.settings import LoraSpec

        settings = spec.settings
        device = resolve_device(settings.device)
        # The client's thread count on a CPU, so the frames are the client's to the last bit (see `RenderSpec`).
        threads = spec.cpu_threads if device.device == "cpu" else self._threads
        if threads is not None:
            torch.set_num_threads(threads)
        config = _required_path(spec.config) if spec.config is not None else None
        source = ModelSource(spec.model_kind, Path(_required_path(spec.model)), Path(config) if config else None,
                             settings.model)
        loaded = get_pipeline(source, device)
        apply_loras(loaded, [LoraSpec(_required_path(lora), weight) for lora, weight in spec.loras])
        decoders = getattr(loaded, "cluster_decoders", {})
        if settings.decoder not in decoders:
            decoders[settings.decoder] = Decoders(loaded.pipe, settings.decoder)
            loaded.cluster_decoders = decoders  # type: ignore[attr-defined]
        ladder = ladder_for(loaded, settings.width, settings.height, settings.cfg > 1.0, settings.decoder)
        return loaded, decoders[settings.decoder], ladder


def _render_unit(spec: RenderSpec, unit: Unit, cache: MemoryCache, loaded: Any, decoders: Any, ladder: Any,
                 cancelled: Any, on_step: StepFn) -> tuple[int, int]:
    """Run one unit with the local renderers into `cache`, its denoising steps to `on_step`; (UNet samples,
    UNet calls) it took."""
    from hear2see_desktop.core.jobs import no_progress

    settings = spec.settings
    if unit.kind == "clip":
        return _render_clip(spec, cache, loaded, decoders, cancelled, on_step)
    if unit.kind == "classic":
        from hear2see_desktop.core.render.frames import render_images

        work = spec.classic
        assert work is not None, "a classic unit comes with its render's classic work"
        counter = render_images(loaded, settings, [work.seeds[unit.index]], no_progress, cancelled, _ignore_image,
                                prompts=[work.prompts[unit.index]], cache=cache, keys=[work.keys[unit.index]],
                                decoders=decoders, ladder=ladder, on_step=on_step)
        return counter.samples, counter.calls
    from hear2see_desktop.core.render.sequence import SequenceRenderer

    sequence = spec.sequence
    assert sequence is not None, "keyframe and segment units come with their render's plan"
    renderer = SequenceRenderer(loaded, settings, sequence.plan, sequence.prompts, cache, spec.identity, decoders,
                                ladder=ladder)
    if unit.kind == "keyframe":
        renderer.run_keyframe(unit.index, no_progress, cancelled, on_step)
    else:
        renderer.run_segment(unit.index, no_progress, cancelled, on_step)
    return renderer.counter.samples, renderer.counter.calls


def _render_clip(spec: RenderSpec, cache: MemoryCache, loaded: Any, decoders: Any, cancelled: Any,
                 on_step: StepFn) -> tuple[int, int]:
    """Animate's clip: its latents and native pictures, on the motion model the client named (by hash)."""
    from hear2see_desktop.core.jobs import no_progress
    from hear2see_desktop.core.render.memory_ladder import ladder_for
    from hear2see_desktop.core.render.motion_pipeline import animate_pipeline
    from hear2see_desktop.core.render.motion_source import MotionSource, motion_shape

    settings, work = spec.settings, spec.animate
    assert work is not None and spec.motion is not None, "a clip unit comes with its clip and motion model"
    motion = MotionSource(spec.motion_kind, Path(_required_path(spec.motion)), settings.motion_model)
    pipe = animate_pipeline(loaded, motion, motion_shape(motion))
    ladder = ladder_for(loaded, settings.width, settings.height, settings.cfg > 1.0, settings.decoder, pipe)
    renderer = work.renderer(pipe, loaded, settings, decoders, ladder, cache)
    renderer.make_pictures(no_progress, cancelled, on_step)
    return renderer.counter.samples, renderer.counter.calls


def smaller(rgb: np.ndarray, max_px: int) -> np.ndarray:
    """`rgb` shrunk by a whole factor (box filter) until its longer side is at most `max_px`."""
    factor = -(-max(rgb.shape[:2]) // max_px)
    if factor <= 1:
        return rgb
    from PIL import Image

    return np.asarray(Image.fromarray(rgb).reduce(factor))


def _local_path(file: ModelFile) -> str | None:
    """Where this node holds `file`: a config folder by its path or received copy, weights by their hash."""
    from hear2see_desktop.core.cluster.units import folder_sha256

    path = Path(file.path).expanduser()
    if not file.weights:
        try:
            if folder_sha256(path) == file.sha256:
                return str(path)
        except OSError:
            pass
        received = received_path(file.sha256, path.name)
        return str(received) if received.exists() else None
    return find_model_on_node(file.path, file.sha256)


def _required_path(file: ModelFile) -> str:
    found = _local_path(file)
    if found is None:
        raise BadInputError(f"This cluster worker lacks the model {Path(file.path).name}: copy it into the "
                            "shared models folder, or render on this computer.")
    return found


def _ignore_image(_index: int, _rgb: np.ndarray) -> None:
    """A unit's pictures go to its cache, not to a video."""
