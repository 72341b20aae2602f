"""Rendering on a Ray cluster: throughput against worker count on this machine, a unit's round trip, and a
projection for N GPU workers (issue 22).

1. **Throughput.** The same render — the first `--seconds` of the example narration with a fixed transcript,
   full-size SD-1.5 with random weights (the real model's cost), `--size` px, `--steps` steps, frame cache off —
   runs on this computer (no cluster), then on `local:1` and `local:2` (Ray on 127.0.0.1 with one or two
   render workers), each configuration in its own process. The first render of each process is a warm-up and
   is reported apart as start-up (Ray's processes, every worker loading the model); then `--repeats` timed
   renders. Throughput = seconds of video per hour of rendering, from the median render.
2. **Round trip.** Every unit's record (`ClusterUnit`) holds the worker's render seconds, the client's seconds
   from sending the unit to holding its result, and the bytes each way. Overhead = round trip - render: Ray's
   call, pickling, the transfer (here on loopback), the scheduler's polling. Measured with the full-size model,
   and with the tests' toy model at 512 px and one step: its units carry a 512 px unit's pictures and latents,
   so its bytes are the real model's, at the app's defaults (the whole narration, a keyframe every 3 s).
3. **Projection.** Workers do not share anything but the client, so N workers render N units at a time; a
   worker is busy with a unit from sending it to its result being back. Seconds of video per hour for N
   workers at 512 px and 25 steps = min(N x 3600 / per-worker seconds per second of video, the client's cap),
   where per-worker seconds = compute (this CPU's from `bench/results/compute_per_second.json`, measured; a
   GPU's scaled by `--gpu-image-s`, an assumption: no GPU was lent) + units x overhead + bytes / bandwidth
   (`--link-mbit`); the client's cap is what it does for every frame whoever rendered it (take the picture,
   caption it, encode the MP4), measured as the toy 512 px render run again with every frame in the frame
   cache.

    .venv/bin/python bench/cluster.py [--modes classic,smooth] [--size 128] [--steps 4] [--seconds 3]
                                      [--images 6] [--model DIR|tiny] [--repeats 2] [--gpu-image-s 1.5]
                                      [--link-mbit 1000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
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
    describe_model,
    fmt,
    machine_description,
    median,
    resolve_bench_model,
    write_results,
)

NARRATION = REPO_ROOT / "resources" / "examples" / "narration.wav"
CONFIGS = ["local", "local:1", "local:2"]
PROJECTED_WORKERS = [1, 2, 4, 8, 16, 32, 64]
FPS = {"classic": 8, "smooth": 12}
SENTENCE = [("Red", 0.1), ("fox", 0.4), ("runs", 0.8), ("through", 1.2), ("the", 1.5), ("snowy", 1.8),
            ("forest.", 2.3)]


# --- one configuration, in its own process ---------------------------------------------------------------
def child(spec: dict[str, Any]) -> dict[str, Any]:
    """Render spec's clip (warm-up, then `repeats` timed) and return the walls and every unit's record."""
    import soundfile as sf

    from hear2see_desktop.core.jobs import never_cancelled, no_progress
    from hear2see_desktop.core.render_job import RenderJob, RenderRequest
    from hear2see_desktop.core.settings import RenderSettings
    from hear2see_desktop.core.transcript import Transcript, Word

    samples, rate = sf.read(NARRATION, dtype="float32")
    work = Path(spec["work"])
    audio = work / "clip.wav"
    sf.write(audio, samples[: int(spec["seconds"] * rate)], rate, subtype="PCM_16")
    words = [Word(text, start, start + 0.25, 1.0) for text, start in SENTENCE if start + 0.25 <= spec["seconds"]]
    transcript = Transcript(text=" ".join(w.word for w in words), words=words, engine="given", model="bench")
    mode = spec["mode"]
    settings = RenderSettings(model=spec["model"], width=spec["size"], height=spec["size"], steps=spec["steps"],
                              seed=1, device="cpu", mode=mode, fps=FPS[mode],
                              keyframe_interval_s=spec.get("keyframe_interval_s", 1.0),
                              frames=spec.get("images") if mode == "classic" else None)
    cluster = None if spec["config"] == "local" else spec["config"]
    runs: list[dict[str, Any]] = []
    for run in range(1 + spec["repeats"]):
        request = RenderRequest(audio, work / f"{run}.mp4", settings, transcript=transcript,
                                runs_log=work / "runs.jsonl", use_cache=spec.get("cache", False),
                                cache_dir=work / "frames", cluster=cluster)
        with Timer() as timer:
            record = RenderJob(request).run(no_progress, never_cancelled).record
        units = [vars(unit) for unit in record.cluster.units] if record.cluster is not None else []
        runs.append({"wall_s": timer.elapsed_s, "units": units, "output_frames": record.output_frames,
                     "duration_s": record.audio.duration_s, "unet_evaluations": record.unet_evaluations})
    model = Path(spec["model"]).resolve()  # named from the repository root, as the notes name it
    shown = str(model.relative_to(REPO_ROOT)) if model.is_relative_to(REPO_ROOT) else model.name
    return {"config": spec["config"], "mode": mode, "model": shown, "size": spec["size"], "runs": runs}


def in_child(spec: dict[str, Any]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        spec = {**spec, "work": tmp}
        spec_path, result_path = Path(tmp) / "spec.json", Path(tmp) / "result.json"
        spec_path.write_text(json.dumps(spec))
        subprocess.run([sys.executable, __file__, "--child", str(spec_path), "--result", str(result_path)],
                       check=True)
        return json.loads(result_path.read_text())


# --- the numbers ----------------------------------------------------------------------------------------
def throughput(result: dict[str, Any]) -> dict[str, float]:
    timed = result["runs"][1:]
    render_s = median([run["wall_s"] for run in timed])
    video_s = timed[0]["duration_s"]
    return {"startup_s": result["runs"][0]["wall_s"] - render_s, "render_s": render_s, "video_s": video_s,
            "video_s_per_hour": 3600 * video_s / render_s}


def unit_rows(result: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Per unit kind, over the timed renders: count per render and median render, round trip, overhead, bytes."""
    timed = result["runs"][1:]
    units = [unit for run in timed for unit in run["units"] if unit["worker"] != "client"]
    out = {}
    for kind in sorted({unit["kind"] for unit in units}):
        of_kind = [unit for unit in units if unit["kind"] == kind]
        out[kind] = {"per_render": len(of_kind) / len(timed),
                     "render_s": median([u["render_s"] for u in of_kind]),
                     "round_trip_s": median([u["round_trip_s"] for u in of_kind]),
                     "overhead_s": median([u["round_trip_s"] - u["render_s"] for u in of_kind]),
                     "bytes_out": median([u["bytes_out"] for u in of_kind]),
                     "bytes_in": median([u["bytes_in"] for u in of_kind])}
    return out


def projection(mode: str, toy512: dict[str, Any], cached: dict[str, Any], compute: dict[str, Any],
               gpu_image_s: float, link_mbit: float) -> list[dict[str, Any]]:
    """Seconds of video per hour for N workers at 512 px (see the module docstring), CPU and assumed GPU."""
    cpu_s = compute[mode]  # this CPU's compute seconds per second of video at 512 px, 25 steps
    units = unit_rows(toy512)
    video_s = toy512["runs"][1]["duration_s"]
    units_per_s = sum(row["per_render"] for row in units.values()) / video_s
    overhead_per_s = sum(row["per_render"] * row["overhead_s"] for row in units.values()) / video_s
    bytes_per_s = sum(row["per_render"] * (row["bytes_out"] + row["bytes_in"]) for row in units.values()) / video_s
    link_per_s = bytes_per_s * 8 / (link_mbit * 1e6)
    client_cap = throughput(cached)["video_s_per_hour"]
    rows = []
    for name, compute_s in (("this CPU", cpu_s), ("GPU (assumed)", cpu_s * gpu_image_s / compute["image_s"])):
        per_worker = compute_s + overhead_per_s + link_per_s
        for workers in PROJECTED_WORKERS:
            rate = workers * 3600 / per_worker
            rows.append({"worker": name, "workers": workers, "compute_s": compute_s, "per_worker_s": per_worker,
                         "video_s_per_hour": min(rate, client_cap), "client_bound": rate > client_cap,
                         "units_per_video_s": units_per_s, "overhead_per_video_s": overhead_per_s,
                         "bytes_per_video_s": bytes_per_s, "link_s_per_video_s": link_per_s,
                         "client_cap": client_cap})
    return rows


def compute_at_512() -> dict[str, Any]:
    """This CPU's compute per second of video at 512 px and one 512 px image's cost, from the committed
    compute_per_second results (full-size SD-1.5, 25 steps)."""
    data = json.loads((DEFAULT_OUT / "compute_per_second.json").read_text())
    rows = {(row["mode"], row["size"]): row for row in data["rows"]}
    units = data["units"]["sizes"]["512"]
    steps = rows[("classic", 512)]["steps"]
    return {"classic": rows[("classic", 512)]["per_video_s"], "smooth": rows[("smooth", 512)]["per_video_s"],
            "image_s": steps * units["unet_batch2_s"] + units["vae_decode_s"], "steps": steps,
            "command": data["command"]}


# --- the report -----------------------------------------------------------------------------------------
def tables(results: dict[str, dict[str, Any]], toy512: dict[str, dict[str, Any]], projected: dict[str, list],
           args: argparse.Namespace, compute: dict[str, Any]) -> list[Table]:
    rows = []
    for mode in args.modes:
        base = throughput(results[f"{mode} local"])["video_s_per_hour"]
        for config in CONFIGS:
            t = throughput(results[f"{mode} {config}"])
            rows.append([mode, config, fmt(t["startup_s"], 1), fmt(t["render_s"], 1), fmt(t["video_s_per_hour"], 1),
                         fmt(t["video_s_per_hour"] / base, 2)])
    speed = Table(f"Throughput on this machine ({args.size} px, {args.steps} steps, {args.seconds:g} s of video)",
                  ["mode", "where", "start-up s", "render s (median)", "video s per hour", "vs this computer"], rows)
    trips = []
    for label, source in ((args.model_label, results), ("toy, 512 px", toy512)):
        for mode in args.modes:
            result = source[f"{mode} local:2"]
            size = result["size"]
            for kind, row in unit_rows(result).items():
                trips.append([label, f"{size}", mode, kind, fmt(row["per_render"], 1), fmt(row["render_s"]),
                              fmt(row["round_trip_s"]), fmt(row["overhead_s"]), f"{row['bytes_out'] / 1024:.0f}",
                              f"{row['bytes_in'] / 1024:.0f}"])
    trip = Table("A unit's round trip on local:2 (medians)",
                 ["model", "px", "mode", "unit", "units per render", "render s", "round trip s", "overhead s",
                  "KiB back", "KiB sent"], trips)
    proj = []
    for mode in args.modes:
        for row in projected[mode]:
            proj.append([mode, row["worker"], str(row["workers"]), fmt(row["per_worker_s"], 2),
                         fmt(row["video_s_per_hour"], 0) + (" (client-bound)" if row["client_bound"] else ""),
                         fmt(row["video_s_per_hour"] / 3600 * FPS[mode], 2)])
    projection_table = Table(f"Projection for N workers at 512 px, {compute['steps']} steps",
                             ["mode", "worker", "N", "worker s per video s", "video s per hour",
                              "frames of video per s"], proj)
    parts = []
    for mode in args.modes:
        row = projected[mode][0]
        parts.append([mode, fmt(row["units_per_video_s"], 2), f"{row['bytes_per_video_s'] / 2**20:.2f}",
                      f"{row['bytes_per_video_s'] / FPS[mode] / 1024:.0f}", fmt(row["overhead_per_video_s"], 3),
                      fmt(row["link_s_per_video_s"], 3), fmt(row["client_cap"], 0)])
    inputs = Table("Projection inputs per second of video at 512 px (toy model on local:2: the work and bytes are "
                   "the real model's)",
                   ["mode", "units", "MiB moved", "KiB per frame", "overhead s", f"link s at {args.link_mbit:g} Mbit/s",
                    "client cap (video s per hour)"], parts)
    return [speed, trip, inputs, projection_table]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modes", default="classic,smooth")
    parser.add_argument("--model", help="a diffusers folder, `tiny` (only proves the script runs), or nothing for "
                                        "the full-size SD-1.5 with random weights")
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=3.0, help="length of the narration rendered")
    parser.add_argument("--images", type=int, default=6, help="classic: distinct images in the clip")
    parser.add_argument("--repeats", type=int, default=2, help="timed renders after the warm-up")
    parser.add_argument("--gpu-image-s", type=float, default=1.5,
                        help="assumed seconds for one 25-step 512 px SD-1.5 image on one GPU (not measured here)")
    parser.add_argument("--link-mbit", type=float, default=1000.0, help="the network between client and workers")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--report", type=Path, help="make the tables again from an earlier run's cluster.json")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        args.result.write_text(json.dumps(child(json.loads(args.child.read_text()))))
        return 0
    args.modes = args.modes.split(",")

    model, tiny = resolve_bench_model(args.model), build_tiny()
    args.model_label = "full-size" if args.model is None else Path(args.model).name
    machine = machine_description("cpu")
    compute = compute_at_512()
    spec = {"size": args.size, "steps": args.steps, "seconds": args.seconds, "images": args.images,
            "repeats": args.repeats}
    results: dict[str, dict[str, Any]] = {}
    toy512: dict[str, dict[str, Any]] = {}
    cached: dict[str, dict[str, Any]] = {}  # the toy 512 px render again with every frame in the frame cache
    if args.report is not None:  # the tables again from the measurements of an earlier run
        raw = json.loads(args.report.read_text())
        results, toy512, cached = raw["results"], raw["toy512"], raw["cached"]
    for mode in args.modes if args.report is None else []:
        for config in CONFIGS:
            print(f"{mode} on {config} ...", flush=True)
            results[f"{mode} {config}"] = in_child({**spec, "mode": mode, "config": config, "model": str(model)})
        # At 512 px with the app's defaults (the whole narration, one image per frame, a keyframe every 3 s),
        # as compute_per_second measured them; one step: the toy's work is not what is measured.
        toy = {"mode": mode, "model": str(tiny), "size": 512, "steps": 1, "seconds": 60.0, "images": None,
               "keyframe_interval_s": 3.0, "repeats": 1}
        print(f"{mode}, the toy model at 512 px on local:2 and from the frame cache ...", flush=True)
        toy512[f"{mode} local:2"] = in_child({**toy, "config": "local:2"})
        cached[mode] = in_child({**toy, "config": "local", "cache": True})
    projected = {mode: projection(mode, toy512[f"{mode} local:2"], cached[mode], compute, args.gpu_image_s,
                                  args.link_mbit) for mode in args.modes}
    notes = [
        f"Model: {describe_model(model)}; the round trip at 512 px also with {describe_model(tiny)}.",
        f"Clip: the first {args.seconds:g} s of {NARRATION.name}, one fixed sentence, seed 1, frame cache off; "
        f"classic {args.images} images at {FPS['classic']} fps, smooth at {FPS['smooth']} fps with a keyframe "
        "every 1 s. Each configuration in its own process; start-up = the first render less the median one.",
        "This machine has 2 cores. A render on this computer uses both (2 torch threads). A worker renders with "
        "the client's thread count, so its frames equal a local render's to the last bit: local:1 is one "
        "worker on 2 threads, local:2 two workers on 2 threads each, sharing the 2 cores (4 threads on 2 cores), "
        "so two workers here cannot be faster than one; they show the cost of splitting, not a speed-up. "
        "Workers on separate machines (or GPUs) add their compute instead.",
        f"Projection: compute per second of video at 512 px from `{compute['command']}` "
        f"(bench/results/compute_per_second.json; one 25-step 512 px image = {compute['image_s']:.1f} s on this "
        f"CPU). GPU: {args.gpu_image_s:g} s per image assumed (not measured: no GPU was lent), which scales the "
        "CPU's compute by the same factor. Overhead per unit and bytes from the toy 512 px render (the whole "
        "narration at the app's defaults, 1 step) on local:2 over loopback; "
        f"a {args.link_mbit:g} Mbit/s link adds bytes x 8 / its rate. Client cap: the same toy render with every "
        "frame already in the frame cache (what the client does per frame: picture, caption, H.264), on this "
        "machine.",
    ]
    out_tables = tables(results, toy512, projected, args, compute)
    md, _ = write_results(args.out, "cluster", "Rendering on a Ray cluster: throughput, round trip, projection",
                          notes, out_tables, {"results": results, "toy512": toy512, "cached": cached,
                                              "projection": projected, "compute_512": compute}, machine)
    print(md.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
