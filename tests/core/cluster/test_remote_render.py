"""A render on a cluster this process joins through Ray Client (`ray://`), as a studio's GPU box would be joined:
a head of one CPU on 127.0.0.1 in its own processes (conftest.py), its worker started by the client."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hear2see_desktop.core.cluster.session import close_sessions, connect
from hear2see_desktop.core.jobs import never_cancelled, no_progress
from hear2see_desktop.core.render.events import RenderEvents
from hear2see_desktop.core.render_job import RenderJob, RenderRequest
from hear2see_desktop.core.run_record import RunRecord
from hear2see_desktop.core.settings import RenderSettings
from hear2see_desktop.core.transcript import Transcript, Word
from hear2see_desktop.core.video import read_frames
from tests.core.cluster.ray_head import RayHead

WORDS = [Word("A", 0.10, 0.20, 1.0), Word("red", 0.20, 0.40, 1.0), Word("fox", 0.40, 0.70, 1.0),
         Word("runs.", 0.70, 1.00, 1.0), Word("It", 1.40, 1.55, 1.0), Word("stops", 1.55, 1.90, 1.0)]
FOX = Transcript(text=" ".join(w.word for w in WORDS), words=WORDS, engine="given", model="test")


def render(narration: Path, out: Path, settings: RenderSettings, events: RenderEvents | None = None,
           cluster: str | None = None) -> RunRecord:
    job = RenderJob(RenderRequest(narration, out, settings, transcript=FOX, runs_log=out.parent / "runs.jsonl",
                                  use_cache=False, cluster=cluster), events or RenderEvents())
    record = job.run(no_progress, never_cancelled).record
    assert record is not None
    return record


def test_a_render_on_a_joined_cluster_gives_a_local_render_s_frames(head: RayHead, tiny_models: tuple[Path, Path, Path],
                                                                     narration_wav: Path, tmp_path: Path) -> None:
    settings = RenderSettings(model=str(tiny_models[0]), width=64, height=64, steps=4, fps=12, seed=3, device="cpu",
                              mode="smooth", keyframe_interval_s=1.0, frames=6)
    local = render(narration_wav, tmp_path / "local.mp4", settings)
    try:
        joined = render(narration_wav, tmp_path / "joined.mp4", settings, cluster=head.client_address)
    finally:
        close_sessions()  # the probe's tests expect no Ray connection left behind

    pairs = list(zip(read_frames(tmp_path / "local.mp4"), read_frames(tmp_path / "joined.mp4"), strict=True))
    assert pairs and all(np.array_equal(a, b) for a, b in pairs), "the joined cluster's frames differ"
    assert joined.cluster is not None and joined.cluster.address == head.client_address
    [worker] = joined.cluster.workers
    assert {unit.worker for unit in joined.cluster.units} == {worker}
    assert {unit.kind for unit in joined.cluster.units} == {"keyframe", "segment"}
    assert joined.unet_evaluations == local.unet_evaluations


def test_joining_another_cluster_leaves_the_one_joined_before(head: RayHead) -> None:
    import ray

    local = connect("local:2")
    try:
        assert ray.cluster_resources()["CPU"] == 2
        joined = connect(head.client_address)
        assert ray.cluster_resources()["CPU"] == 1, "the render would still go to the local cluster"
        assert local.live() == [] and len(joined.live()) == 1
    finally:
        close_sessions()
    assert not ray.is_initialized(), "closing leaves the cluster it joined"
