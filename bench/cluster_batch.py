"""A queue of animate clips on a two-worker Ray cluster: one item at a time against the next items prepared
ahead (issue 22).

An animate clip is one cluster unit (one denoise), so a queue that starts an item only when the one before has
ended keeps one worker busy and the other idle. With the next items prepared ahead
(`core/render_queue/ahead.py`), the idle worker renders the next clip meanwhile. This renders the same queue
of `--clips` clips both ways on `local:2` (Ray on 127.0.0.1), `--repeats` times each, alternating, after a
warm-up that loads the models on both workers. CPU workers render with the client's thread count (so their
frames equal its own to the last bit): a CPU render uses every core, so two workers side by side put twice as
many threads as cores on this machine, and their OpenMP threads wait asleep, not spinning (`session.WORKER_ENV`).
It reports each way's wall time for the queue, seconds of video per hour, and how busy the workers were (the
units' render seconds over workers x wall).

The model is the tests' toy SD with the tests' toy motion model (`--size` px, `--steps` steps): what is
measured is how the work is laid out on the workers, not the model's cost, and the toy pair keeps two workers
and the client inside this machine's memory (the full-size pair would load three times).

    .venv/bin/python bench/cluster_batch.py [--clips 4] [--size 128] [--steps 8] [--seconds 3] [--repeats 2]
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from common import (
    DEFAULT_OUT,
    REPO_ROOT,
    Table,
    Timer,
    build_tiny,
    build_tiny_motion,
    describe_model,
    fmt,
    machine_description,
    median,
    write_results,
)

NARRATION = REPO_ROOT / "resources" / "examples" / "narration.wav"
CLUSTER = "local:2"
SENTENCE = [("Red", 0.1), ("fox", 0.4), ("runs", 0.8), ("through", 1.2), ("the", 1.5), ("snowy", 1.8),
            ("forest.", 2.3)]
WAYS = {"one at a time": False, "next prepared ahead": True}


def run_queue(requests: list[Any], ahead: bool) -> dict[str, Any]:
    """Render the requests through one queue; the wall time and each item's run record."""
    from hear2see_desktop.core.render_queue import ItemStatus, QueueEvents, RenderQueue

    records: dict[str, Any] = {}
    queue = RenderQueue(prepare_ahead=ahead)
    queue.events = QueueEvents(finished=lambda item, result: records.__setitem__(item.id, result.record))
    ids = [queue.add(request).id for request in requests]
    with Timer() as timer:
        ran = queue.run_all()
    failed = [item.sentence() for item in ran if item.status != ItemStatus.DONE]
    if failed:
        raise SystemExit(f"a clip failed: {failed[0]}")
    units = [unit for item_id in ids for unit in records[item_id].cluster.units]
    return {"wall_s": timer.elapsed_s, "video_s": sum(records[i].audio.duration_s for i in ids),
            "busy_s": sum(unit.render_s for unit in units), "workers": sorted({unit.worker for unit in units})}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=4)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=3.0, help="length of each clip's narration")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    logging.basicConfig(level=logging.ERROR)
    sys.path.insert(0, str(REPO_ROOT))
    import soundfile as sf

    from hear2see_desktop.core.cluster.session import close_sessions, connect
    from hear2see_desktop.core.render_request import RenderRequest
    from hear2see_desktop.core.settings import RenderSettings
    from hear2see_desktop.core.transcript import Transcript, Word

    model, motion = build_tiny(), build_tiny_motion()
    samples, rate = sf.read(NARRATION, dtype="float32")
    words = [Word(text, start, start + 0.25, 1.0) for text, start in SENTENCE if start + 0.25 <= args.seconds]
    transcript = Transcript(text=" ".join(w.word for w in words), words=words, engine="given", model="bench")
    settings = RenderSettings(model=str(model), motion_model=str(motion), mode="animate", width=args.size,
                              height=args.size, steps=args.steps, seed=1, device="cpu")
    walls: dict[str, list[float]] = {way: [] for way in WAYS}
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        audio = work / "clip.wav"
        sf.write(audio, samples[: int(args.seconds * rate)], rate, subtype="PCM_16")

        def requests(tag: str, count: int) -> list[Any]:
            return [RenderRequest(audio, work / f"{tag}-{n}.mp4", settings, transcript=transcript,
                                  runs_log=work / "runs.jsonl", use_cache=False, cluster=CLUSTER)
                    for n in range(count)]

        with Timer() as start:
            connect(CLUSTER)
            run_queue(requests("warm", 2), ahead=True)  # Ray's processes, both workers loading the models
        for repeat in range(args.repeats):
            for way, ahead in WAYS.items():
                result = run_queue(requests(f"{repeat}-{ahead}", args.clips), ahead)
                walls[way].append(result["wall_s"])
                runs.append({"way": way, "repeat": repeat, **result})
                print(f"{way}: {result['wall_s']:.1f} s for {args.clips} clips", file=sys.stderr)
        close_sessions()
    rows, summary = [], {}
    for way in WAYS:
        wall = median(walls[way])
        mine = [run for run in runs if run["way"] == way]
        video_s = mine[0]["video_s"]
        busy = median([run["busy_s"] / (2 * run["wall_s"]) for run in mine])
        summary[way] = {"wall_s": wall, "video_s_per_hour": video_s * 3600 / wall, "workers_busy": busy}
        rows.append([way, fmt(wall, 1), fmt(video_s * 3600 / wall, 0), f"{busy:.0%}"])
    alone = [run for run in runs if run["way"] == "one at a time"]
    render_s = median([run["busy_s"] / args.clips for run in alone])  # a clip on a worker with the machine to itself
    client_s = median([max(0.0, run["wall_s"] - run["busy_s"]) / args.clips for run in alone])  # the rest, per clip
    bound = (render_s + client_s) / max(render_s / 2, client_s)
    summary["separate_machines_bound"] = {"clip_render_s": render_s, "client_s_per_clip": client_s, "speed": bound}
    base = summary["one at a time"]["wall_s"]
    rows[1].append(f"{base / summary['next prepared ahead']['wall_s']:.2f}x")
    rows[0].append("1.00x")
    table = Table(f"A queue of {args.clips} animate clips on {CLUSTER} (median of {args.repeats})",
                  ["queue", "wall s", "video s per hour", "workers busy", "speed"], rows)
    notes = [f"Model: {describe_model(model)}; motion model: {describe_model(motion)}; {args.size} px, "
             f"{args.steps} steps, each clip {args.seconds:g} s of the example narration with a fixed transcript, "
             "frame cache off.",
             f"Start-up (Ray, two workers loading the models, a warm-up queue of two clips): {start.elapsed_s:.0f} s, "
             "not counted.",
             f"Each worker renders with the client's torch thread count ({os.cpu_count()}, every core, as a CPU "
             "render does), so two workers side by side share the cores with twice as many threads; their OpenMP "
             "threads wait asleep (OMP_WAIT_POLICY=PASSIVE), not spinning.",
             f"One at a time, a clip renders in {render_s:.1f} s on a worker that has the machine to itself, and the "
             f"client's own part adds {client_s:.2f} s per clip. Two workers with cores (or GPUs) of their own would "
             f"at best render the queue {bound:.2f}x as fast ahead as one at a time: (render + client) / "
             "max(render / 2, client). On this machine the two workers and the client share the cores instead.",
             "Workers busy: the clips' render seconds on the workers over 2 x the queue's wall time; the rest is "
             "the client's own work (reading the narration, writing each MP4) and the gaps between clips."]
    md, _ = write_results(args.out, "cluster_batch", "A queue of animate clips on a Ray cluster", notes, [table],
                          {"args": vars(args) | {"out": str(args.out)}, "summary": summary, "runs": runs},
                          machine_description("cpu"))
    print(md.read_text(encoding="utf-8"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
