"""Picture quality of every render mode, measured in the toy world: does the video show what is narrated?

Narrations in the toy world's words, spoken by espeak-ng in several voices, go through the whole product:
speech recognition (the app's default engine), the storyboard (one prompt per scene, style preset
'none'), the render of each mode with the toy Stable Diffusion, the H.264 MP4. The frames are decoded
back from the MP4 and judged by the toy CLIP (tests/toyworld: trained on the same world, never on
renders), against the clip's own scene prompts:

- prompt fidelity: CLIPSIM of each frame with its own scene's prompt;
- scene-following: the share of frames whose best-matching scene prompt (of the clip's) is their own;
- transition keep: an in-between's own-scene CLIPSIM relative to the keyframes around it (a double
  exposure keeps little), mean and worst; n/a for classic (every picture rendered on its own) and animate
  (every native frame denoised in one clip; its flow in-betweens, 1/8 s apart, are not transitions);
- steadiness: flow-warped frame error (flicker, 0-255) and CLIP similarity of consecutive frames;
- AV-Align, as `hear2see eval` reports it;
- cost: UNet samples (CFG counts two), full VAE decodes, and wall time, each per second of video.

    .venv/bin/python bench/quality.py [--modes classic,smooth,fast,animate-zero,...] [--narrations 4] [--seeds 1,2,3]
                                      [--out bench/results]

Animate rows run with toy motion models in the toy UNet's layout (tests/toyworld/motion.py).
`animate-trained` has the one trained on the toy world set in motion (boats drift, birds fly, the sun and the
moon rise): what a trained module does to the pictures and their steadiness. `animate-zero` (output
projections zero, AnimateDiff's starting point: no motion of its own) measures what animate's machinery does
(FreeNoise's shared noise and windows, the prompt travel, the motion noise schedule, the flow in-betweens);
`animate-random` (diffusers' random initialisation) how far untrained motion layers corrupt the pictures.
Whether the trained one moves things the way the world does is measured by `python -m tests.toyworld.motion`
(tests/toyworld/weights/motion_report.json).

The toy world comes from `python -m tests.toyworld.build` (committed weights, unpacked once and cached).
Run it alone: torch's threads on two cores make every number depend on what else runs.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from common import CACHE_DIR, REPO_ROOT, Table, fmt, machine_description, write_results

if str(REPO_ROOT) not in sys.path:  # the toy world lives in the repository's tests package
    sys.path.insert(0, str(REPO_ROOT))

# Narrations in the toy world's vocabulary: 2-4 scenes each, each sentence one scene, several voices.
NARRATIONS: list[tuple[str, str]] = [
    ("A red boat sails on the blue sea. Then a yellow sun rises over the desert.", "en-us"),
    ("Two white birds fly high in the sky at sunset. A green tree stands alone in the meadow. "
     "At night the moon glows over the snow field.", "en-gb"),
    ("A blue house stands in the desert by day. A mountain rises over the sea at sunset.", "en-us+f3"),
    ("The sun shines over a green meadow. Two red boats drift on the sea at night. A white bird flies over "
     "the desert. A yellow house stands in a snow field at dusk.", "en-gb-x-rp"),
]
SIZE_PX = 64


@dataclass
class Mode:
    """One row of the table: a render mode and the draft options on top of it."""

    name: str
    mode: str
    overrides: dict[str, Any] = field(default_factory=dict)
    needs: str | None = None  # why this row cannot be measured in the toy world yet (None: it can)


MODES = [
    Mode("classic", "classic"),
    Mode("smooth", "smooth"),
    Mode("fast", "fast"),
    # scenes that dissolve into each other (across the cut, one noise for the clip: every smooth and fast
    # render before scenes cut), and the transition setting's other ends: a hard cut everywhere, and the
    # whole-segment morph every render made before transitions had a length (keyframes never held)
    Mode("smooth-dissolve", "smooth", {"scene_change": "dissolve"}),
    Mode("fast-dissolve", "fast", {"scene_change": "dissolve"}),
    Mode("smooth-cut", "smooth", {"transition_s": 0.0}),
    Mode("smooth-morph", "smooth", {"transition_s": None, "scene_change": "dissolve"}),
    Mode("fast-morph", "fast", {"transition_s": None, "scene_change": "dissolve"}),
    # the drafts, with the toy world's own TAESD and LCM-LoRA (tests/toyworld/taesd.py, lcm.py; the real ones
    # are SD 1.5's), installed for their render only (see `render`)
    Mode("classic + TAESD decode", "classic", {"decoder": "taesd"}),
    Mode("classic + LCM draft", "classic", {"lcm": True}),
    # animate with toy motion models that fit the toy UNet (tests/toyworld/motion.py; made for their row, see
    # `render`): the one trained on the world in motion, zero output projections (the image model frame by frame,
    # with FreeNoise's shared noise and the prompt travel) and diffusers' random initialisation (what untrained
    # motion layers do to the pictures)
    Mode("animate-trained", "animate", {"motion": "trained"}),
    Mode("animate-zero", "animate", {"motion": "zero"}),
    Mode("animate-random", "animate", {"motion": "random"}),
]


def world(folder: Path | None) -> tuple[Path, Path]:
    """(toy SD folder, toy CLIP folder): `folder`'s, or the committed world's (unpacked once, cached)."""
    from tests.toyworld.build import build

    entry = folder or build()
    return entry / "sd", entry / "clip"


def speak_all(folder: Path, count: int) -> list[tuple[str, Path]]:
    from tests.speech import speak

    return [(text, speak(text, folder / f"narration_{i + 1}.wav", voice=voice))
            for i, (text, voice) in enumerate(NARRATIONS[:count])]


def transcribe(audio: Path) -> Any:
    """The app's default speech engine on the narration (shared by every mode, so all render the same board)."""
    from hear2see_desktop.core.asr.select import open_engine
    from hear2see_desktop.core.audio import load_audio
    from hear2see_desktop.core.jobs import never_cancelled, no_progress

    samples = load_audio(audio)
    transcript = open_engine("auto").transcribe(samples.samples, no_progress, never_cancelled)
    transcript.duration_s = samples.duration_s
    return transcript


class DecodeCounter:
    """Counts full VAE decodes: calls into the VAE's decoder network (previews use cheaper decoders)."""

    def __init__(self, pipe: Any) -> None:
        self.count = 0
        self._hook = pipe.vae.decoder.register_forward_pre_hook(self._seen)

    def _seen(self, _module: Any, args: tuple) -> None:
        self.count += int(args[0].shape[0])

    def close(self) -> None:
        self._hook.remove()


def render(sd: Path, audio: Path, transcript: Any, row: Mode, out: Path, runs_log: Path, seed: int) -> dict:
    """One render through RenderJob; returns its run record, wall time and VAE decodes.

    A TAESD or LCM row finds the toy world's TAESD or LCM-LoRA through the app's model manager, as a user's
    would be found: installed under its catalogue name in a throwaway models folder that $HEAR2SEE_MODELS_DIR
    names for this render only (tests/toyworld/install.py); the user's folders are not written. Other rows
    run with the models folder as it is. An animate row's toy motion model (tests/toyworld/motion.py) is made for
    the toy SD once, cached under bench/.cache, and given to the render as a folder (`motion_model`).
    """
    from contextlib import nullcontext

    from hear2see_desktop.core.jobs import never_cancelled, no_progress
    from hear2see_desktop.core.render.devices import resolve_device
    from hear2see_desktop.core.render.model_source import resolve_model_source
    from hear2see_desktop.core.render.pipeline_cache import get_pipeline
    from hear2see_desktop.core.render_job import RenderJob, RenderRequest
    from hear2see_desktop.core.settings import DEFAULT_FPS, RenderSettings
    from tests.toyworld.install import toy_models_folder
    from tests.toyworld.lcm import toy_lcm_lora
    from tests.toyworld.taesd import toy_taesd

    settings = RenderSettings(model=str(sd), width=SIZE_PX, height=SIZE_PX, mode=row.mode, style="none",
                              fps=DEFAULT_FPS[row.mode], seed=seed, device="cpu")
    overrides = dict(row.overrides)
    lcm, taesd = overrides.pop("lcm", False), overrides.get("decoder") == "taesd"
    motion = overrides.pop("motion", None)
    if motion is not None:
        from tests.toyworld.motion import toy_motion_folder

        overrides["motion_model"] = str(toy_motion_folder(sd, motion, cache=CACHE_DIR))
    with (toy_models_folder(taesd=toy_taesd(sd) if taesd else None, lcm_lora=toy_lcm_lora(sd) if lcm else None)
          if lcm or taesd else nullcontext()):
        if lcm:
            from hear2see_desktop.core.render.lcm import lcm_draft

            settings = lcm_draft(settings)
        settings = replace(settings, **overrides)
        loaded = get_pipeline(resolve_model_source(settings.model), resolve_device("cpu"))  # the job reuses it
        decodes = DecodeCounter(loaded.pipe)
        request = RenderRequest(audio_path=audio, out_path=out, settings=settings, runs_log=runs_log,
                                transcript=transcript, use_cache=False)
        started = time.perf_counter()
        try:
            result = RenderJob(request).run(no_progress, never_cancelled)
        finally:
            decodes.close()
    return {"record": result.record, "wall_s": time.perf_counter() - started, "vae_decodes": decodes.count}


def judge(video: Path, audio: Path, clip: Path, runs_log: Path) -> dict[str, Any]:
    """`hear2see eval` of one MP4 (its frames decoded back) with the toy CLIP, against its logged storyboard."""
    from hear2see_desktop.core.eval_job import EvalJob
    from hear2see_desktop.core.jobs import never_cancelled, no_progress

    evaluated = EvalJob(video, audio_path=audio, clip_model=str(clip), runs_log=runs_log).run(
        no_progress, never_cancelled).to_dict()
    if evaluated["scene_following"] is None:
        raise RuntimeError(f"{video.name}: eval found no logged storyboard to judge the frames against.")
    return {key: evaluated[key] for key in ("scene_following", "av_align", "flicker", "frames", "fps")}


def _mean(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return float(np.mean(known)) if known else None


def summarise(row: Mode, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """A mode's measures over the narrations: quality means weighted by frames, cost per second of video."""
    seconds = sum(run["record"].audio.duration_s for run in runs)
    frames = [run["quality"]["frames"] for run in runs]

    def weighted(key: str) -> float | None:
        values = [(run["quality"]["scene_following"][key], n) for run, n in zip(runs, frames, strict=True)
                  if run["quality"]["scene_following"][key] is not None]
        return sum(v * n for v, n in values) / sum(n for _, n in values) if values else None

    worst = [run["quality"]["scene_following"]["worst_transition"] for run in runs]
    worst = [w for w in worst if w is not None]
    return {
        "mode": row.name,
        "prompt_fidelity": weighted("prompt_fidelity"),
        "scene_following": weighted("accuracy"),
        "transition_keep": weighted("transition_keep"),
        "worst_transition": min(worst) if worst else None,
        "flicker": float(np.mean([run["quality"]["flicker"]["warped_mad"] for run in runs])),
        "consecutive_clip": weighted("consecutive_similarity"),
        "av_align": _mean([run["quality"]["av_align"]["score"] for run in runs]),
        "av_align_one_to_one": _mean([run["quality"]["av_align"]["one_to_one"]["score"] for run in runs]),
        "unet_per_s": sum(run["record"].unet_evaluations for run in runs) / seconds,
        "vae_decodes_per_s": sum(run["vae_decodes"] for run in runs) / seconds,
        "wall_per_s": sum(run["wall_s"] for run in runs) / seconds,
        "video_s": seconds,
    }


COLUMNS = ["mode", "prompt fidelity", "scene-following", "transition keep (mean)", "worst in-between",
           "flicker (warped, 0-255)", "consecutive CLIP", "AV-Align", "AV-Align (one-to-one)", "UNet samples / s video",
           "VAE decodes / s video", "wall s / s video"]


def _keep_cell(value: float | None) -> str:
    """A transition-keep cell: n/a for a clip with no keyframes to measure in-betweens against (classic renders
    every picture on its own; animate denoises every native frame, its flow in-betweens only 1/8 s apart)."""
    return "n/a" if value is None else fmt(value)


def table_row(summary: dict[str, Any]) -> list[str]:
    return [summary["mode"], fmt(summary["prompt_fidelity"]), fmt(summary["scene_following"]),
            _keep_cell(summary["transition_keep"]), _keep_cell(summary["worst_transition"]), fmt(summary["flicker"], 2),
            fmt(summary["consecutive_clip"]), fmt(summary["av_align"]), fmt(summary["av_align_one_to_one"]),
            fmt(summary["unet_per_s"], 1), fmt(summary["vae_decodes_per_s"], 1), fmt(summary["wall_per_s"], 2)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    measurable = [row.name for row in MODES if row.needs is None]
    parser.add_argument("--modes", default=",".join(measurable),
                        help=f"comma-separated rows to measure: {', '.join(measurable)}")
    parser.add_argument("--narrations", type=int, default=len(NARRATIONS), choices=range(1, len(NARRATIONS) + 1))
    parser.add_argument("--seeds", default="1",
                        help="comma-separated seeds, each rendering every narration: smooth and fast show a few "
                             "keyframes for seconds each, so one seed's luck moves their means (classic averages "
                             "over an image per frame)")
    parser.add_argument("--world", type=Path, help="a folder with sd/ and clip/ (default: the committed toy world)")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "bench" / "results")
    args = parser.parse_args(argv)
    chosen = [m for m in args.modes.split(",") if m]
    unknown = [m for m in chosen if m not in measurable]
    if unknown:
        parser.error(f"unknown or unmeasurable mode(s) {', '.join(unknown)}: use {', '.join(measurable)}")
    rows = [row for row in MODES if row.name in chosen]
    try:
        seeds = [int(text) for text in args.seeds.split(",") if text.strip()]
    except ValueError:
        parser.error(f"--seeds takes whole numbers separated by commas, got {args.seeds!r}")
    if not seeds:
        parser.error("--seeds needs at least one seed")

    sd, clip = world(args.world)
    results: dict[str, Any] = {"narrations": [], "modes": []}
    with tempfile.TemporaryDirectory(prefix="hear2see-quality-") as tmp:
        work = Path(tmp)
        spoken = speak_all(work, args.narrations)
        transcripts = []
        for text, audio in spoken:
            transcript = transcribe(audio)
            transcripts.append(transcript)
            results["narrations"].append({"said": text, "heard": transcript.text})
            print(f"heard: {transcript.text!r}", flush=True)
        for row in rows:
            runs = []
            per_seed = []
            for seed in seeds:
                seed_runs = []
                for index, ((_, audio), transcript) in enumerate(zip(spoken, transcripts, strict=True)):
                    video = work / f"{row.name}_{seed}_{index + 1}.mp4"
                    runs_log = work / "runs.jsonl"
                    run = render(sd, audio, transcript, row, video, runs_log, seed)
                    run["quality"] = judge(video, audio, clip, runs_log)
                    run["seed"] = seed
                    seed_runs.append(run)
                    sf = run["quality"]["scene_following"]
                    print(f"{row.name} seed {seed} narration {index + 1}: fidelity {sf['prompt_fidelity']:.3f}, "
                          f"following {sf['accuracy']:.3f}, keep {sf['transition_keep']}", flush=True)
                per_seed.append({"seed": seed, **summarise(row, seed_runs)})
                runs += seed_runs
            summary = summarise(row, runs)
            summary["per_seed"] = per_seed
            summary["runs"] = [{"seed": run["seed"],
                                "scenes": [s.prompt for s in run["record"].storyboard.scenes],
                                "quality": run["quality"], "wall_s": run["wall_s"], "vae_decodes": run["vae_decodes"],
                                "unet_evaluations": run["record"].unet_evaluations} for run in runs]
            results["modes"].append(summary)

    from hear2see_desktop.core.settings import RenderSettings
    from tests.toyworld.build import build_key

    notes = [
        (f"World: {args.world}" if args.world else
         f"World: the toy world's SD and CLIP (`python -m tests.toyworld.build`, key {build_key()})") + "; "
        f"{SIZE_PX}x{SIZE_PX}, the app's default scheduler, steps and CFG, style preset 'none', "
        f"seed{'s' if len(seeds) > 1 else ''} {', '.join(map(str, seeds))}, "
        "each mode at its default frame rate, the frame cache off. Smooth and fast at the defaults (each picture "
        f"holds, then dissolves into the next over {RenderSettings().transition_s:g} s inside a scene; a cut "
        "between scenes, each scene from its own noise); -dissolve: the transition crosses each scene's cut, "
        "centred on it, every keyframe leaning on the clip's one noise (`--scene-change dissolve`, every smooth "
        "and fast render before scenes cut); -cut: a hard cut everywhere (`--transition 0`); -morph: transitions "
        "over the whole time between keyframes (`--transition whole --scene-change dissolve`, how every smooth "
        "and fast render moved before transitions had a length).",
        f"{args.narrations} narrations spoken by espeak-ng, transcribed by the app's default engine; the storyboard "
        "is the app's own split of each transcript.",
        "Frames are decoded back from each MP4 and judged by the toy CLIP against the clip's own scene prompts.",
        *(["Animate rows: the toy SD with a toy motion model in its UNet's layout (tests/toyworld/motion.py): "
           "-trained is trained on the toy world set in motion (boats drift and birds fly to the right, the sun and "
           "the moon rise; the image UNet frozen); -zero has every motion layer's output projection zero "
           "(AnimateDiff's starting point: the image model frame by frame, with FreeNoise's shared noise and "
           "sliding windows, the scene prompts as its prompt travel, the motion noise schedule and flow "
           "in-betweens from 8 to 12 fps); -random has diffusers' random initialisation (how much untrained "
           "motion layers corrupt the pictures). Transition keep is n/a: animate has no keyframes and "
           "in-betweens to compare."]
          if any(row.mode == "animate" for row in rows) else []),
        *[f"Not measured: {row.name}: needs {row.needs}." for row in MODES if row.needs],
    ]
    table = Table("Per mode, over all narrations" + (" and seeds" if len(seeds) > 1 else ""), COLUMNS,
                  [table_row(s) for s in results["modes"]])
    spread = Table("Prompt fidelity and scene-following per seed (over all narrations)",
                   ["mode", *[f"seed {seed}" for seed in seeds]],
                   [[s["mode"], *[f"{fmt(p['prompt_fidelity'])} / {fmt(p['scene_following'])}" for p in s["per_seed"]]]
                    for s in results["modes"]])
    heard = Table("Narrations", ["said", "heard (scene prompts come from this)"],
                  [[n["said"], n["heard"]] for n in results["narrations"]])
    tables = [table, spread, heard] if len(seeds) > 1 else [table, heard]
    md, _ = write_results(args.out, "quality", "Quality per render mode, in the toy world", notes, tables, results,
                          machine_description("cpu"))
    print(md.read_text(encoding="utf-8"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
