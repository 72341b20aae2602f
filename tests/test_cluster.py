"""Rendering on a Ray cluster of two local workers (127.0.0.1 only): the same frames as a render on this
computer, a killed worker's units run again elsewhere, a batch spread over both workers, Cancel stopping
both, and an unreachable address as one sentence."""

from __future__ import annotations

import logging
import os
import signal
import socket
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

ray = pytest.importorskip("ray")

from hear2see_desktop.core.cluster.session import close_sessions, connect  # noqa: E402
from hear2see_desktop.core.errors import CancelledError  # noqa: E402
from hear2see_desktop.core.jobs import never_cancelled, no_progress  # noqa: E402
from hear2see_desktop.core.render.events import DenoiseStep, RenderEvents  # noqa: E402
from hear2see_desktop.core.render_job import RenderJob, RenderRequest  # noqa: E402
from hear2see_desktop.core.render_queue import ItemStatus, QueueEvents, QueueItem, RenderQueue  # noqa: E402
from hear2see_desktop.core.run_record import RunRecord  # noqa: E402
from hear2see_desktop.core.runlog import read_log  # noqa: E402
from hear2see_desktop.core.settings import RenderSettings  # noqa: E402
from hear2see_desktop.core.transcript import Transcript, Word  # noqa: E402
from hear2see_desktop.core.video import read_frames  # noqa: E402
from tests.cli_helpers import FAST, one_sentence, run_cli  # noqa: E402

CLUSTER = "local:2"
WORDS = [Word("A", 0.10, 0.20, 1.0), Word("red", 0.20, 0.40, 1.0), Word("fox", 0.40, 0.70, 1.0),
         Word("runs.", 0.70, 1.00, 1.0), Word("It", 1.40, 1.55, 1.0), Word("stops", 1.55, 1.90, 1.0),
         Word("at", 1.90, 2.00, 1.0), Word("the", 2.00, 2.10, 1.0), Word("river.", 2.10, 2.60, 1.0)]
FOX = Transcript(text=" ".join(w.word for w in WORDS), words=WORDS, engine="given", model="test")


@pytest.fixture(scope="module", autouse=True)
def ray_on_loopback() -> object:
    """One Ray session for the module, on 127.0.0.1 with room for two one-CPU workers."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    for attempt in range(3):  # Ray gives its processes 30 s to start: a machine busy with other work may need more
        try:
            ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR,
                     _node_ip_address="127.0.0.1")
            break
        except Exception:  # noqa: BLE001 - "the current node timed out during startup"
            ray.shutdown()
            if attempt == 2:
                raise
    yield ray
    close_sessions()
    ray.shutdown()


def tiny_settings(model: Path, **changes: object) -> RenderSettings:
    base = RenderSettings(model=str(model), width=64, height=64, steps=4, fps=12, seed=3, device="cpu",
                          mode="smooth", keyframe_interval_s=1.0, reactivity=0.5)
    return replace(base, **changes)


def render(narration: Path, out: Path, settings: RenderSettings, events: RenderEvents | None = None,
           cancelled: object = never_cancelled, **request: object) -> RunRecord:
    job = RenderJob(RenderRequest(narration, out, settings, transcript=FOX, runs_log=out.parent / "runs.jsonl",
                                  use_cache=False, **request), events or RenderEvents())
    return job.run(no_progress, cancelled).record  # type: ignore[arg-type]


def same_frames(a: Path, b: Path) -> bool:
    pairs = list(zip(read_frames(a), read_frames(b), strict=True))
    return bool(pairs) and all(np.array_equal(x, y) for x, y in pairs)


def workers_of(record: RunRecord) -> set[str]:
    assert record.cluster is not None
    return {unit.worker for unit in record.cluster.units}


@pytest.mark.parametrize("mode", ["smooth", "classic"])
def test_two_local_workers_render_the_frames_a_local_render_gives(tiny_models: tuple[Path, Path, Path],
                                                                  narration_wav: Path, tmp_path: Path,
                                                                  mode: str) -> None:
    settings = tiny_settings(tiny_models[0], mode=mode, frames=6)
    local = render(narration_wav, tmp_path / "local.mp4", settings)
    clustered = render(narration_wav, tmp_path / "cluster.mp4", settings, cluster=CLUSTER)

    assert same_frames(tmp_path / "local.mp4", tmp_path / "cluster.mp4"), "the cluster's frames differ"
    assert clustered.cluster is not None and clustered.cluster.address == CLUSTER
    assert workers_of(clustered) == set(clustered.cluster.workers) and len(clustered.cluster.workers) == 2
    kinds = {unit.kind for unit in clustered.cluster.units}
    assert kinds == ({"keyframe", "segment"} if mode == "smooth" else {"classic"})
    assert clustered.unet_evaluations == local.unet_evaluations  # the workers' UNet work is counted
    assert RunRecord.from_dict(clustered.to_dict()).cluster == clustered.cluster
    picture = 64 * 64 * 3  # each unit's cost is in the record: its render, its round trip, its bytes
    for unit in clustered.cluster.units:
        assert 0 < unit.render_s <= unit.round_trip_s, unit
        assert unit.bytes_out >= picture * (1 if unit.kind != "segment" else 2), unit
        assert (unit.bytes_in > 2 * picture) == (unit.kind == "segment"), unit  # a segment gets its keyframes


def test_an_animate_clip_renders_on_a_worker_with_the_frames_a_local_render_gives(
        tiny_models: tuple[Path, Path, Path], tiny_motion_models: tuple[Path, Path], narration_wav: Path,
        tmp_path: Path) -> None:
    settings = tiny_settings(tiny_models[0], mode="animate", motion_model=str(tiny_motion_models[0]), steps=2,
                             transition_s=0.0)  # reactivity 0.5: the loudness paces the clip on the worker too
    local = render(narration_wav, tmp_path / "local.mp4", settings)
    clustered = render(narration_wav, tmp_path / "cluster.mp4", settings, cluster=CLUSTER)

    assert same_frames(tmp_path / "local.mp4", tmp_path / "cluster.mp4"), "the cluster's clip differs"
    assert clustered.cluster is not None
    [clip] = clustered.cluster.units
    assert clip.kind == "clip" and clip.worker in clustered.cluster.workers, clip
    assert clip.bytes_out >= local.frames * 64 * 64 * 3  # every native picture came back
    assert clustered.unet_evaluations == local.unet_evaluations


def test_a_workers_denoising_steps_show_as_live_previews(tiny_models: tuple[Path, Path, Path],
                                                         tiny_motion_models: tuple[Path, Path], narration_wav: Path,
                                                         tmp_path: Path) -> None:
    """While the client waits for a clip the worker renders, it hears the worker's steps as a local render hears
    its own: with their previews, each step at most once, in order."""
    settings = tiny_settings(tiny_models[0], mode="animate", motion_model=str(tiny_motion_models[0]), steps=20,
                             transition_s=0.0)
    steps: list[DenoiseStep] = []
    said: list[tuple[str, object]] = []
    job = RenderJob(RenderRequest(narration_wav, tmp_path / "clip.mp4", settings, transcript=FOX, use_cache=False,
                                  runs_log=tmp_path / "runs.jsonl", cluster=CLUSTER), RenderEvents(step=steps.append))
    record = job.run(lambda _done, _total, message, preview=None: said.append((message, preview)),
                     never_cancelled).record

    assert record is not None and record.cluster is not None
    [clip] = record.cluster.units
    assert len(steps) >= 2, f"the clip's {settings.steps} steps on its worker showed {len(steps)} previews"
    numbers = [step.step for step in steps]
    assert numbers == sorted(set(numbers)) and all(step.steps == 20 for step in steps), numbers
    assert all(step.preview is not None and step.preview.shape == (8, 8, 3) for step in steps)  # the latents' colours
    live = [message for message, preview in said if preview is not None]
    assert live and all(f"on {clip.worker}" in message and "frame " in message and "step " in message
                        for message in live), live


def test_a_worker_killed_mid_render_still_gives_the_same_mp4(tiny_models: tuple[Path, Path, Path],
                                                             narration_wav: Path, tmp_path: Path) -> None:
    settings = tiny_settings(tiny_models[0], keyframe_interval_s=0.5)
    render(narration_wav, tmp_path / "local.mp4", settings)
    victim = connect(CLUSTER).workers[0].info
    killed: list[int] = []

    def kill_once(index: int, time_s: float, rgb: np.ndarray) -> None:
        if not killed:
            os.kill(victim.pid, signal.SIGKILL)
            killed.append(victim.pid)

    try:
        record = render(narration_wav, tmp_path / "cluster.mp4", settings, RenderEvents(image=kill_once),
                        cluster=CLUSTER)
        session = connect(CLUSTER)  # Ray restarts the killed worker, and the session takes it back
        for _ in range(240):  # Ray starts the new process (slowly on a busy machine)
            if len(session.live()) == 2:
                break
            time.sleep(0.5)
        back = {worker.info.pid for worker in session.live()}
    finally:
        close_sessions()  # the next test starts two fresh workers

    assert len(back) == 2 and victim.pid not in back, "the killed worker was not restarted"
    assert killed and same_frames(tmp_path / "local.mp4", tmp_path / "cluster.mp4")
    assert record.cluster is not None
    rerun = [unit for unit in record.cluster.units if unit.attempts > 1]
    assert rerun and all(unit.worker != victim.name for unit in rerun), record.cluster.units


def test_a_batch_of_four_narrations_spreads_over_both_workers(tiny_models: tuple[Path, Path, Path],
                                                              narration_wav: Path, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    import soundfile as sf

    takes = tmp_path / "takes"
    takes.mkdir()
    for name in ("one", "two", "three", "four"):  # silence: with --prompt there is nothing to transcribe
        sf.write(takes / f"{name}.wav", np.zeros(24000, dtype=np.float32), 16000, subtype="PCM_16")
    log = tmp_path / "runs.jsonl"
    code, _out, err = run_cli(["batch", str(takes), "-o", str(tmp_path / "videos"), "--model", str(tiny_models[0]),
                               "--prompt", "a quiet lake", "--frames", "4", "--runs-log", str(log), "--no-cache",
                               "--cluster", CLUSTER, *FAST], capsys)

    assert code == 0, err
    records = [RunRecord.from_dict(data) for data in read_log(log).records]
    assert len(records) == 4 and all(record.cluster is not None for record in records)
    assert len(set().union(*(workers_of(record) for record in records))) == 2


def test_a_queue_of_animate_clips_renders_the_next_clip_on_the_idle_worker(
        tiny_models: tuple[Path, Path, Path], tiny_motion_models: tuple[Path, Path], narration_wav: Path,
        tmp_path: Path) -> None:
    """A clip is one unit: without the next items prepared ahead, a queue of clips keeps one worker busy. A
    prepared item that is cancelled has its clip stopped on its worker."""
    settings = tiny_settings(tiny_models[0], mode="animate", motion_model=str(tiny_motion_models[0]), steps=12,
                             transition_s=0.0)
    (tmp_path / "here").mkdir()
    render(narration_wav, tmp_path / "here" / "local.mp4", settings)
    session = connect(CLUSTER)
    stopped_before = sum(state["stopped"] for state in ray.get([w.actor.state.remote() for w in session.workers]))
    queue = RenderQueue()  # prepares the next items ahead on any cluster
    ids = [queue.add(RenderRequest(narration_wav, tmp_path / f"clip{n}.mp4", settings, transcript=FOX,
                                   runs_log=tmp_path / "runs.jsonl", use_cache=False, cluster=CLUSTER)).id
           for n in range(4)]
    both_busy: list[tuple[str, ...]] = []  # what was prepared ahead while both workers rendered

    def watch(item: QueueItem, done: int, total: int, message: str, preview: object = None) -> None:
        if item.id != ids[0] or not message.startswith("Rendering on the cluster"):  # the first clip, read now
            return
        running = [state["running"] for state in ray.get([w.actor.state.remote() for w in session.workers])]
        if running == [1, 1]:
            both_busy.append(tuple(queue.prepared_ahead()))
            if ids[1] in both_busy[-1]:  # the second clip renders on the other worker: cancel it there
                queue.cancel(ids[1])

    queue.events = QueueEvents(progress=watch)
    queue.run_all()

    statuses = [queue.item(item_id).status for item_id in ids]
    assert statuses == [ItemStatus.DONE, ItemStatus.CANCELLED, ItemStatus.DONE, ItemStatus.DONE], statuses
    assert both_busy and both_busy[0] == (ids[1],), f"no clip rendered beside the first: {both_busy}"
    for n in (0, 2, 3):  # prepared ahead or not, the same pictures
        assert same_frames(tmp_path / "here" / "local.mp4", tmp_path / f"clip{n}.mp4"), f"clip {n} differs"
    assert not (tmp_path / "clip1.mp4").exists() and queue.prepared_ahead() == []
    records = [RunRecord.from_dict(data) for data in read_log(tmp_path / "runs.jsonl").records]
    assert len(records) == 3 and len({record.cluster.units[0].worker for record in records if record.cluster}) == 2
    states = ray.get([worker.actor.state.remote() for worker in session.workers])
    assert [state["running"] for state in states] == [0, 0]
    assert sum(state["stopped"] for state in states) > stopped_before, "the cancelled clip was not stopped"


def test_cancel_stops_both_workers(tiny_models: tuple[Path, Path, Path], narration_wav: Path,
                                   tmp_path: Path) -> None:
    settings = tiny_settings(tiny_models[0], mode="classic", frames=12, steps=200)  # units of seconds
    session = connect(CLUSTER)
    first_image: list[int] = []
    at_cancel: list[dict[str, int]] = []

    def keep(index: int, time_s: float, rgb: np.ndarray) -> None:
        first_image.append(index)

    def both_busy_after_an_image() -> bool:
        """Cancel once a picture came back and both workers are mid-unit (a worker that has just handed back its
        picture gets its next unit a moment later)."""
        if not first_image:
            return False
        states = ray.get([w.actor.state.remote() for w in session.workers])
        if all(state["running"] for state in states):
            at_cancel.extend(states)
            return True
        return False

    with pytest.raises(CancelledError):
        render(narration_wav, tmp_path / "cancelled.mp4", settings, RenderEvents(image=keep),
               cancelled=both_busy_after_an_image, cluster=CLUSTER)

    states = ray.get([worker.actor.state.remote() for worker in session.workers])
    assert [state["running"] for state in states] == [0, 0], "a worker still renders after Cancel"
    # A unit can end on its own in the moment between reading the states and the cancel reaching its worker
    # (units here last about a second): that worker must then have finished no other unit of the render.
    ended = [(after["stopped"] - before["stopped"], after["done"] - before["done"])
             for before, after in zip(at_cancel, states, strict=True)]
    assert all(done <= 1 and stopped + done >= 1 for stopped, done in ended), f"(stopped, finished): {ended}"
    assert sum(stopped for stopped, _ in ended) >= 1, f"no worker was stopped mid-unit: {ended}"
    assert not (tmp_path / "cancelled.mp4").exists()


def test_an_unreachable_cluster_is_one_sentence_and_exit_2(tiny_models: tuple[Path, Path, Path],
                                                           narration_wav: Path, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code, _out, err = run_cli(["render", str(narration_wav), "-o", str(tmp_path / "out.mp4"), "--model",
                               str(tiny_models[0]), "--prompt", "a lake", "--cluster", f"ray://127.0.0.1:{port}",
                               *FAST], capsys)

    assert code == 2
    sentence = one_sentence(err.splitlines()[-1])
    assert sentence.startswith(f"hear2see: Cannot reach the Ray cluster at ray://127.0.0.1:{port}"), sentence
    assert not (tmp_path / "out.mp4").exists()
