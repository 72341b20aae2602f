"""The cluster's parts without a cluster: the client's waiting cache, the units of a plan, a worker's models."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from hear2see_desktop.core.cluster.address import parse_cluster_address
from hear2see_desktop.core.cluster.cluster_cache import REPORT_S, ClusterCache
from hear2see_desktop.core.cluster.model_files import received_path
from hear2see_desktop.core.cluster.session import ClusterSession, WorkerHandle
from hear2see_desktop.core.cluster.units import ModelFile, SequenceWork, Unit, UnitResult, sequence_units
from hear2see_desktop.core.cluster.worker import RenderWorker, WorkerInfo, _required_path
from hear2see_desktop.core.errors import BadInputError, CancelledError
from hear2see_desktop.core.hashing import sha256_file
from hear2see_desktop.core.render.frames import ScenePrompt
from hear2see_desktop.core.render_work import sequence_plan
from hear2see_desktop.core.settings import RenderSettings

PICTURE = np.full((8, 8, 3), 200, dtype=np.uint8)


def test_a_scheduled_key_waits_for_its_unit_and_an_unscheduled_one_is_a_miss(tmp_path: Path) -> None:
    cache = ClusterCache(tmp_path / "frames", cancelled=lambda: False)
    unit = Unit(0, "classic", 0, ("scheduled",))
    cache.expect([unit])
    got: list[np.ndarray | None] = []
    reader = threading.Thread(target=lambda: got.append(cache.get_image("scheduled")))
    reader.start()
    reader.join(0.3)
    assert reader.is_alive() and not got, "the render did not wait for the cluster's picture"
    cache.deliver(unit, UnitResult(images={"scheduled": PICTURE}))
    reader.join(5)
    assert got and np.array_equal(got[0], PICTURE)
    assert cache.get_image("nobody makes this") is None
    assert cache.on_disk(["scheduled"]) == {"scheduled"}, "a cluster picture is kept in the frame cache too"


def test_a_long_wait_for_the_cluster_is_reported_about_every_quarter_second(tmp_path: Path) -> None:
    reports: list[float] = []
    cache = ClusterCache(None, cancelled=lambda: False, on_wait=lambda: reports.append(time.monotonic()))
    unit = Unit(0, "clip", 0, ("clip latents",))
    cache.expect([unit])
    started = time.monotonic()
    threading.Timer(2.6, cache.deliver, (unit, UnitResult(arrays={"clip latents": np.zeros(4, np.float32)}))).start()

    assert cache.get_array("clip latents") is not None
    times = [at - started for at in reports]
    assert REPORT_S == 0.25  # often enough for the workers' step previews to look live
    assert times and times[0] >= 0.2, times  # about every 0.25 s (a busy machine: later), then the latents came
    assert 5 <= len(times) <= 11, times
    assert all(later - earlier >= 0.2 for earlier, later in zip(times[:-1], times[1:], strict=True)), times


def test_a_unit_given_up_becomes_a_miss_and_cancel_ends_a_wait(tmp_path: Path) -> None:
    stop = threading.Event()
    cache = ClusterCache(None, cancelled=stop.is_set)
    failed, pending = Unit(0, "classic", 0, ("failed",)), Unit(1, "classic", 1, ("pending",))
    cache.expect([failed, pending])
    cache.give_up(failed)
    assert cache.get_image("failed") is None
    threading.Timer(0.2, stop.set).start()
    with pytest.raises(CancelledError):
        cache.get_image("pending")


def test_smooth_segments_start_from_their_keyframes_and_fast_has_keyframe_units_only() -> None:
    settings = RenderSettings(model="m", width=64, height=64, steps=4, fps=12, seed=3, mode="smooth",
                              keyframe_interval_s=1.0, reactivity=0.0)
    plan = sequence_plan(settings, 3.0, [(0.0, 1.5), (1.5, 3.0)], None)
    work = SequenceWork(plan, [ScenePrompt("a fox", ""), ScenePrompt("a river", "")])
    units = sequence_units(settings, work, {"model": "x"}, set())
    keyframes = [unit for unit in units if unit.kind == "keyframe"]
    segments = [unit for unit in units if unit.kind == "segment"]
    assert len(keyframes) == len(plan.keyframes)
    assert 1 <= len(segments) <= len(plan.keyframes) - 1  # (a segment that only holds its keyframe has none)
    assert all(segment.needs == (keyframes[segment.index].produces[0], keyframes[segment.index + 1].produces[0])
               for segment in segments)
    assert units.index(segments[0]) > units.index(keyframes[-1]), "keyframes go out first"
    fast = sequence_units(replace(settings, mode="fast"), work, {"model": "x"}, set())
    assert {unit.kind for unit in fast} == {"keyframe"}
    done = set(keyframes[0].produces) | set(segments[0].produces)
    left = sequence_units(settings, work, {"model": "x"}, done)
    assert len(left) == len(units) - 2, "what the frame cache holds is not rendered again"


def test_a_worker_keeps_a_model_sent_to_it_by_hash(tmp_path: Path) -> None:
    weights = tmp_path / "elsewhere" / "lora.safetensors"
    weights.parent.mkdir()
    weights.write_bytes(b"weights")
    file = ModelFile(str(weights), sha256_file(weights))
    weights.unlink()  # the client's path does not exist on this "node"
    worker = RenderWorker()
    assert worker.missing([file]) == [file]
    with pytest.raises(BadInputError, match="lacks the model lora.safetensors"):
        _required_path(file)
    worker.receive(file, {"": b"weights"})
    assert worker.missing([file]) == []
    assert _required_path(file) == str(received_path(file.sha256, "lora.safetensors"))


def test_a_render_prepared_ahead_gets_a_worker_only_while_the_render_read_now_wants_none() -> None:
    session = ClusterSession(parse_cluster_address("local:2"), [WorkerHandle(None, WorkerInfo("127.0.0.1", pid))
                                                                for pid in (1, 2)])
    read_now = object()
    first = session.acquire(0)
    session.want(read_now, 3)  # it has three units to send and no idle worker to send them to... yet
    assert session.acquire(0, ahead=True) is None  # the idle worker is kept for it
    got: list[object] = []
    waiter = threading.Thread(target=lambda: got.append(session.acquire(5, ahead=True)))
    waiter.start()
    time.sleep(0.2)
    assert not got
    session.want(read_now, 0)  # everything it had is sent: the render ahead may use what is idle
    waiter.join(5)
    assert got and got[0] is not None and got[0] is not first
    session.release(first)
    assert session.acquire(0, ahead=True) is first


def test_a_worker_keeps_its_newest_step_for_the_client_with_a_small_preview(tiny_models: tuple[Path, Path, Path]
                                                                            ) -> None:
    from hear2see_desktop.core.cluster.cluster_render import model_spec
    from hear2see_desktop.core.cluster.units import ClassicWork
    from hear2see_desktop.core.mode_renderers import classic_plan
    from hear2see_desktop.core.render.model_source import resolve_model_source

    settings = RenderSettings(model=str(tiny_models[0]), width=64, height=64, steps=3, fps=4, frames=2, seed=5,
                              device="cpu", style="none", prompt="a red boat")
    spec = model_spec(settings, resolve_model_source(settings.model), {"model": "tiny"})
    plan = classic_plan(settings, 1.0, None, spec.identity)
    spec = replace(spec, classic=ClassicWork(plan.seeds, plan.prompts, plan.keys))
    worker = RenderWorker()
    assert worker.latest_step(spec.render_id) is None, "nothing rendered, nothing to show"

    worker.run_unit(spec, Unit(1, "classic", 1, (plan.keys[1],)), UnitResult())
    latest = worker.latest_step(spec.render_id)
    assert latest is not None and (latest.unit, latest.kind, latest.heard) == (1, "classic", 3)
    assert (latest.step.image, latest.step.step, latest.step.steps) == (1, 3, 3), "image 1's last step, as a local "
    assert latest.step.preview is not None and latest.step.preview.dtype == np.uint8  # render numbers it
    assert latest.worker == worker.describe().name
    assert worker.latest_step(spec.render_id, heard=3) is None, "the client asks only for newer steps"
    worker.forget_steps(spec.render_id)
    assert worker.latest_step(spec.render_id) is None


def test_a_step_preview_is_shrunk_by_a_whole_factor_to_at_most_256_px() -> None:
    from hear2see_desktop.core.cluster.worker import smaller

    rgb = np.random.default_rng(0).integers(0, 256, (512, 384, 3), dtype=np.uint8)
    small = smaller(rgb, 256)
    assert small.shape == (256, 192, 3)
    assert abs(int(small[0, 0, 0]) - int(rgb[:2, :2, 0].mean())) <= 1, "each pixel is its block's mean"
    assert smaller(rgb, 200).shape == (171, 128, 3)  # a factor of 3; PIL keeps the partial last row
    little = rgb[:64, :64]
    assert smaller(little, 256) is little
