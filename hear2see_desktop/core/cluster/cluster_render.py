"""A render job's cluster side: its units planned, the workers' models checked, the scheduler started.

The render job (render_job.py) stays the one that renders: with `--cluster` it reads its frames through a
`ClusterCache` that this module fills from the workers, and it adds `used()` to the run record.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hear2see_desktop.core.cluster.cluster_cache import ClusterCache
from hear2see_desktop.core.cluster.scheduler import CLIENT, Scheduler
from hear2see_desktop.core.cluster.session import ClusterSession, remote_result
from hear2see_desktop.core.cluster.units import (
    ClassicWork,
    ModelFile,
    RenderSpec,
    SequenceWork,
    Unit,
    classic_units,
    clip_units,
    files_of,
    folder_sha256,
    sequence_units,
)
from hear2see_desktop.core.errors import BadInputError
from hear2see_desktop.core.mode_renderers import animate_work, classic_plan, scene_prompts
from hear2see_desktop.core.render.weights_hash import cached_sha256, weights_sha256
from hear2see_desktop.core.render_work import sequence_plan
from hear2see_desktop.core.run_record import ClusterUsed
from hear2see_desktop.core.settings import RenderSettings

if TYPE_CHECKING:
    from hear2see_desktop.core.audio import Audio
    from hear2see_desktop.core.render.model_source import ModelSource
    from hear2see_desktop.core.render.motion_source import MotionSource
    from hear2see_desktop.core.storyboard.board import Storyboard


def model_spec(settings: RenderSettings, source: ModelSource, identity: dict[str, Any],
               motion: MotionSource | None = None) -> RenderSpec:
    """The render's model, LoRAs, motion model (animate) and cache identity as every worker gets them (no units
    yet)."""
    config = (ModelFile(str(source.config_dir), folder_sha256(source.config_dir), weights=False)
              if source.config_dir is not None else None)
    loras = [(ModelFile(str(Path(lo.path).expanduser()), cached_sha256(Path(lo.path).expanduser())), lo.weight)
             for lo in settings.loras]
    import torch

    motion_file = ModelFile(str(motion.path), weights_sha256(motion.path)) if motion is not None else None
    return RenderSpec(uuid.uuid4().hex, settings, ModelFile(str(source.path), weights_sha256(source.path)),
                      source.kind, config, loras, identity, cpu_threads=torch.get_num_threads(),
                      motion=motion_file, motion_kind=motion.kind if motion is not None else "")


def with_workers_precision(session: ClusterSession, spec: RenderSpec) -> RenderSpec:
    """The spec with the precision the workers render in as the cache identity's, so frames made in float16 on
    a GPU worker are never taken for a CPU client's float32 ones (one precision per cluster: the first worker's)."""
    workers = session.live()
    if not workers:
        raise BadInputError(f"The Ray cluster at {session.address.text} has no render workers left: start it again, "
                            "or render on this computer.")
    dtype = remote_result(workers[0].actor.dtype_for.remote(spec.settings.device))
    return replace(spec, identity={**spec.identity, "device": dtype})


def ensure_models(session: ClusterSession, spec: RenderSpec) -> None:
    """Send each live worker the model files its node lacks, once (a worker on the same node then finds them);
    one sentence before anything renders when a worker still lacks one."""
    files = spec.model_files()
    for worker in session.live():
        try:
            for file in remote_result(worker.actor.missing.remote(files)):
                remote_result(worker.actor.receive.remote(file, files_of(Path(file.path))))
            still = remote_result(worker.actor.missing.remote(files))
        except Exception as error:  # noqa: BLE001 - a full disk there, a dead worker: the same sentence
            raise _lacks(worker.info.name, files[0], error) from error
        if still:
            raise _lacks(worker.info.name, still[0], None)


def _lacks(worker: str, file: ModelFile, error: BaseException | None) -> BadInputError:
    reason = f" ({type(error).__name__})" if error is not None else ""
    return BadInputError(f"The cluster worker {worker} lacks the model {Path(file.path).name} and could not receive "
                         f"it{reason}: copy it into the workers' shared models folder, or render on this computer.")


def plan_units(spec: RenderSpec, duration_s: float, board: Storyboard | None, audio: Audio,
               cache: ClusterCache) -> tuple[RenderSpec, list[Unit]]:
    """The render's units, leaving out what the frame cache already holds."""
    settings = spec.settings
    if settings.mode == "classic":
        plan = classic_plan(settings, duration_s, board, spec.identity)
        work = ClassicWork(plan.seeds, plan.prompts, plan.keys)
        return replace(spec, classic=work), classic_units(work, cache.on_disk(plan.keys))
    if settings.mode in ("smooth", "fast") and board is not None:
        frames = sequence_plan(settings, duration_s, [(scene.start_s, scene.end_s) for scene in board.scenes], audio)
        sequence = SequenceWork(frames, scene_prompts(settings, board))
        units = sequence_units(settings, sequence, spec.identity, set())
        done = cache.on_disk([key for unit in units if unit.kind == "keyframe" for key in unit.produces], True)
        done |= cache.on_disk([key for unit in units if unit.kind == "segment" for key in unit.produces])
        return replace(spec, sequence=sequence), sequence_units(settings, sequence, spec.identity, done)
    if settings.mode == "animate" and board is not None:
        work = animate_work(settings, audio, board, spec.identity)
        keys = [work.clip_key, *work.frame_keys()]
        done = ({work.clip_key} if cache.array_on_disk(work.clip_key) else set()) | cache.on_disk(keys[1:])
        return replace(spec, animate=work), clip_units(work, done)
    return spec, []


class ClusterRender:
    """One render's units on the cluster: start it before the frames, `close` it after, whatever happened."""

    def __init__(self, session: ClusterSession, spec: RenderSpec, units: list[Unit], cache: ClusterCache,
                 ahead: bool = False) -> None:
        """`ahead`: a render the queue prepared before its turn; its units go to workers that the render being
        read now has no unit for, until `read_now`."""
        self.session = session
        self.scheduler = Scheduler(session, spec, units, cache, ahead)
        self.workers = [worker.info.name for worker in session.workers]

    def start(self) -> None:
        self.scheduler.start()

    def read_now(self) -> None:
        """The client reads this render's frames from now on: its units go first."""
        self.scheduler.ahead = False

    def close(self) -> None:
        self.scheduler.close()

    def used(self) -> ClusterUsed:
        """The record's part: the address, the workers (a restarted one under its new process too), where each
        unit ran."""
        units = sorted(self.scheduler.done, key=lambda unit: (unit.kind, unit.index))
        restarted = sorted({unit.worker for unit in units} - set(self.workers) - {CLIENT})
        return ClusterUsed(self.session.address.text, self.workers + restarted, units)
