"""Toy AnimateDiff motion models for the toy world's UNet: untrained ones, and one trained on the world in motion.

Animate mode needs a motion model (diffusers' `MotionAdapter`) in its UNet's layout; the real ones are SD 1.5's.
All toy ones are built in the toy UNet's layout (its block widths and layers per block, read from the model's
own `unet/config.json`; a motion mid block, 8 heads and 32 norm groups as every SD 1.5 module has):

* "zero": every temporal transformer's output projection (`proj_out`) is zero, as AnimateDiff's own code starts
  its modules (`zero_initialize` in its VanillaTemporalModule): each motion layer adds nothing to its residual, so
  the motion UNet is the image UNet frame by frame. AnimateDiff's starting point, and this module's.
* "random": the weights exactly as diffusers' `MotionAdapter` initialises them (diffusers does NOT zero
  `proj_out`: it is a default `nn.Linear`), so every motion layer mixes frames at random.
* "trained": trained as AnimateDiff trains its modules, on clips of the world set in motion
  (`world.draw_clip`: boats drift and birds fly to the right, the sun and the moon rise, trees, houses and
  mountains stand still): the image UNet frozen, only the motion layers learn, epsilon prediction on the noise
  schedule AnimateDiff's modules learn on (linear betas, `animate.MOTION_NOISE_SCHEDULE`), a tenth of the
  captions dropped so classifier-free guidance works. 16-frame clips, the window animate mode renders with.

The trained one takes three runs of about half an hour each on two cores, so it is committed, float16 with its
config and the fingerprint of the UNet it was trained on (`weights/motion_adapter.safetensors`, 3.5 MB):
`python -m tests.toyworld.motion --train`, then `--train --go-on`, then `--train --go-on --seed 9`, train it,
write it there and measure it (`weights/motion_report.json` holds the runs and the measurement).
`toy_motion_folder` gives any of the three as a diffusers folder (`config.json` + safetensors) the app's
`--motion-model` loads.

What the trained one does, measured (`measure`) on 40 held-out captions through the app's animate mode: the
clips of things that move travel their way in 77% of the clips (the untrained zero model: 23%, by its
flicker), 19.2 px on average of the world's 22.5; the things that stand still do so in all of them (zero:
14%); the frames flicker a quarter as much. The price of its motion: the toy CLIP names the object and its
colour in 25 of the 40 middle frames, against 28 with zero motion layers (29 after two runs, when it moved
12.5 px and 58% of its movers their way).

Test and bench infrastructure only: never behind a user-facing default.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from tests.toyworld import world
from tests.toyworld.optim import warmup_cosine

WEIGHTS = Path(__file__).resolve().parent / "weights" / "motion_adapter.safetensors"
VARIANTS = ("zero", "random", "trained")
HEADS = 8
NORM_GROUPS = 32
MAX_FRAMES = 32
_COMPLETE = ".complete"
_TEACHER_KEY = "toyworld_teacher_unet"
_CONFIG_KEY = "motion_adapter_config"


def unet_layout(sd_folder: Path) -> tuple[tuple[int, ...], int]:
    """(block widths, layers per block) of the diffusers model in `sd_folder`, from its UNet's config."""
    config = json.loads((Path(sd_folder) / "unet" / "config.json").read_text(encoding="utf-8"))
    layers = config["layers_per_block"]
    if not isinstance(layers, int):
        raise ValueError(f"{sd_folder}: a UNet with per-block layer counts {layers} has no toy motion model")
    return tuple(int(c) for c in config["block_out_channels"]), layers


def build_adapter(sd_folder: Path, variant: str, seed: int = 0) -> Any:
    """An untrained `MotionAdapter` that fits `sd_folder`'s UNet, its weights drawn from `seed` (the global torch
    RNG is left as it was); `variant` is "zero" or "random" (see the module docstring)."""
    from diffusers import MotionAdapter

    if variant not in ("zero", "random"):
        raise ValueError(f"unknown untrained toy motion variant {variant!r}: use zero or random")
    channels, layers = unet_layout(sd_folder)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        adapter = MotionAdapter(block_out_channels=channels, motion_layers_per_block=layers,
                                motion_num_attention_heads=HEADS, motion_norm_num_groups=NORM_GROUPS,
                                motion_max_seq_length=MAX_FRAMES, use_motion_mid_block=True)
    if variant == "zero":
        with torch.no_grad():
            for name, parameter in adapter.named_parameters():
                if ".proj_out." in name:
                    parameter.zero_()
    return adapter.eval()


@dataclass
class MotionTraining:
    steps: int = 2400
    batch: int = 4  # clips per step: 64 frames through the UNet
    frames: int = 16  # animate's window (render/animate.py CONTEXT_FRAMES)
    clips: int = 1500
    object_weight: float = 4.0  # a latent cell the objects touch counts this much more (as the UNet learnt)
    lr: float = 5e-4
    warmup: int = 100
    seed: int = 7


def training_clips(sd_folder: Path, recipe: MotionTraining) -> tuple[torch.Tensor, torch.Tensor, list[list[str]]]:
    """The world's training scenes set in motion: (clips, frames, 4, 8, 8) UNet latents, (clips, frames, 1, 8, 8)
    loss weights (`object_weight` more on the latent cells the objects touch, mean 1), their captions.

    The objects are a small part of each picture and all the motion; unweighted, the motion layers learn to hold
    the sky and the ground steady and barely move the things that move."""
    from tests.toyworld.taesd import load_vae, unet_latents

    data = world.examples(world.training_scenes(), recipe.clips, seed=recipe.seed + 60)
    vae = load_vae(sd_folder)
    latents, masks = [], []
    for example in data:
        clip, mask = world.draw_clip_and_masks(example.scene, example.seed, recipe.frames)
        latents.append(unet_latents(vae, clip))
        masks.append(torch.from_numpy(mask)[:, None])
    cells = F.max_pool2d(torch.cat(masks).float(), 8).view(len(data), recipe.frames, 1, 8, 8)
    weights = 1.0 + recipe.object_weight * cells
    return torch.stack(latents), weights / weights.mean(), [[c.text for c in e.captions] for e in data]


GO_ON = MotionTraining(lr=3e-4, seed=8)
"""The committed model's later runs, each from the weights before it: other clips, a gentler rate (`--train
--go-on`, the third with `--seed 9`). The first run left the motion layers preferring the world's direction (its
denoising error lower on clips played forward than backward) but its clips barely moving; the next two go on
learning from there."""


def train_motion_adapter(sd_folder: Path, recipe: MotionTraining | None = None, log: Any = print,
                         start: Any = None) -> Any:
    """A `MotionAdapter` for `sd_folder`'s UNet trained on the world's clips (see the module docstring); from
    `start`'s weights (an adapter, left as it is) when given, else from AnimateDiff's zero start."""
    from diffusers import DDPMScheduler, UNet2DConditionModel, UNetMotionModel
    from transformers import CLIPTextModel, CLIPTokenizer

    from hear2see_desktop.core.render.animate import MOTION_NOISE_SCHEDULE
    from tests.toyworld.sd import CAPTION_DROPOUT, UNCONDITIONAL, cached_text_encoder

    recipe = recipe or MotionTraining()
    torch.manual_seed(recipe.seed)
    rng = random.Random(recipe.seed)
    started = time.perf_counter()
    latents, weights, texts = training_clips(sd_folder, recipe)
    log(f"motion: {len(texts)} clips of {recipe.frames} frames drawn and encoded in "
        f"{time.perf_counter() - started:.0f} s")
    tokenizer = CLIPTokenizer.from_pretrained(sd_folder / "tokenizer", local_files_only=True)
    encoder = CLIPTextModel.from_pretrained(sd_folder / "text_encoder", local_files_only=True).eval()
    encode = cached_text_encoder(tokenizer, encoder)
    image_unet = UNet2DConditionModel.from_pretrained(sd_folder, subfolder="unet", local_files_only=True)
    unet = UNetMotionModel.from_unet2d(image_unet, start if start is not None else build_adapter(sd_folder, "zero"))
    unet.freeze_unet2d_params()
    trained = [p for p in unet.parameters() if p.requires_grad]
    image_schedule = DDPMScheduler.from_pretrained(sd_folder, subfolder="scheduler").config
    noise_schedule = DDPMScheduler.from_config(image_schedule, beta_schedule=MOTION_NOISE_SCHEDULE["beta_schedule"])
    optimiser = torch.optim.AdamW(trained, lr=recipe.lr, weight_decay=0.0)
    lr_schedule = warmup_cosine(optimiser, recipe.steps, recipe.warmup)
    unet.train()
    log(f"motion: {sum(p.numel() for p in trained)} motion parameters learn, the image UNet is frozen")
    for step in range(recipe.steps):
        index = rng.sample(range(len(texts)), recipe.batch)
        prompts = [rng.choice(UNCONDITIONAL) if rng.random() < CAPTION_DROPOUT else rng.choice(texts[i]) for i in index]
        clean = latents[index].transpose(1, 2)  # (clips, 4, frames, 8, 8): UNetMotionModel's layout
        noise = torch.randn_like(clean)
        t = torch.randint(0, noise_schedule.config.num_train_timesteps, (recipe.batch,))
        noisy = noise_schedule.add_noise(clean, noise, t)
        states = encode(prompts).repeat_interleave(recipe.frames, dim=0)  # one caption for every frame of its clip
        error = F.mse_loss(unet(noisy, t, encoder_hidden_states=states).sample, noise, reduction="none")
        loss = (error * weights[index].transpose(1, 2)).mean()
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trained, 1.0)
        optimiser.step()
        lr_schedule.step()
        if step % 100 == 0 or step == recipe.steps - 1:
            log(f"motion step {step}/{recipe.steps} loss {loss.item():.4f}")
    motion = {key: value for key, value in unet.state_dict().items() if "motion_modules" in key}
    adapter = build_adapter(sd_folder, "zero")
    adapter.load_state_dict(motion)
    return adapter.eval()


def save(adapter: Any, target: Path, teacher: str) -> Path:
    """The adapter's weights as float16 safetensors, its config and its teacher UNet's fingerprint in the
    metadata (one file to commit; `toy_motion_folder` unpacks it into the folder the app loads)."""
    from safetensors.torch import save_file

    tensors = {key: value.detach().to(torch.float16).contiguous() for key, value in adapter.state_dict().items()}
    config = {key: value for key, value in dict(adapter.config).items() if not key.startswith("_")}
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    save_file(tensors, partial, metadata={"format": "pt", _TEACHER_KEY: teacher, _CONFIG_KEY: json.dumps(config)})
    partial.replace(target)
    return target


def load_trained(sd_folder: Path, source: Path) -> Any:
    """The motion model `save` wrote to `source`, as float32, refused when `sd_folder` holds another UNet than its
    teacher."""
    from diffusers import MotionAdapter
    from safetensors import safe_open

    from tests.toyworld.lcm import unet_fingerprint

    with safe_open(str(source), framework="pt") as handle:
        metadata = handle.metadata() or {}
        tensors = {key: handle.get_tensor(key).float() for key in handle.keys()}
    if metadata.get(_TEACHER_KEY) != unet_fingerprint(sd_folder):
        raise RuntimeError(f"The toy motion model {source.name} was trained on another UNet than {sd_folder}'s: "
                           "train it again (python -m tests.toyworld.motion --train).")
    adapter = MotionAdapter(**json.loads(metadata[_CONFIG_KEY]))
    adapter.load_state_dict(tensors)
    return adapter.eval()


def toy_motion_folder(sd_folder: Path, variant: str, seed: int = 0, cache: Path | None = None,
                      source: Path = WEIGHTS) -> Path:
    """The toy motion model `variant` for `sd_folder` as a diffusers folder: made once under `cache` (default:
    the toy world's cache), then reused.

    The folder's name carries the UNet layout, the variant and the seed (the trained one: a hash of its file),
    so a toy world with other block widths gets its own; a folder left half-written is made again."""
    from tests.toyworld.build import cache_root

    channels, layers = unet_layout(sd_folder)
    layout = "-".join(map(str, channels)) + f"x{layers}"
    made_from = f"seed{seed}" if variant != "trained" else hashlib.sha256(source.read_bytes()).hexdigest()[:16]
    folder = Path(cache if cache is not None else cache_root()) / f"toy-motion-{variant}-{layout}-{made_from}"
    if (folder / "config.json").is_file() and (folder / _COMPLETE).is_file():
        return folder
    if folder.exists():
        shutil.rmtree(folder)
    adapter = load_trained(sd_folder, source) if variant == "trained" else build_adapter(sd_folder, variant, seed)
    adapter.save_pretrained(folder, safe_serialization=True)
    (folder / _COMPLETE).write_text(f"toy motion model ({variant}) for UNet blocks {layout}, {made_from}\n",
                                    encoding="utf-8")
    return folder


# --- measuring motion ----------------------------------------------------------------------------

TOP_SHARE = 0.05
"""The share of each frame's pixels, the fastest-moving, whose mean flow is taken as the frame's motion: an object
covers about a tenth of a 64 px picture, the still background the rest."""


def drift(frames: np.ndarray) -> tuple[float, float]:
    """(x, y) pixels a clip's moving things travel over its frames: per consecutive pair, the mean Farnebäck flow
    of the fastest-moving `TOP_SHARE` of the pixels, summed along the clip."""
    from hear2see_desktop.core.analysis.optical_flow import FARNEBACK, load_cv2

    cv2 = load_cv2()
    gray = [cv2.cvtColor(np.ascontiguousarray(f), cv2.COLOR_RGB2GRAY) for f in frames]
    total = np.zeros(2)
    for first, second in zip(gray, gray[1:], strict=False):
        flow = cv2.calcOpticalFlowFarneback(first, second, None, **FARNEBACK).reshape(-1, 2)
        speed = np.hypot(flow[:, 0], flow[:, 1])
        fastest = np.argsort(speed)[-max(1, int(TOP_SHARE * len(speed))):]
        total += flow[fastest].mean(axis=0)
    return float(total[0]), float(total[1])


def moves_as_the_world_does(obj: str, travelled: tuple[float, float], frames: int) -> bool:
    """Whether a clip of `obj` moved as the world moves it: a mover at least half its way in its direction,
    a still thing less than a quarter of a mover's way in any direction."""
    dx, dy = world.motion_of(obj)
    way = np.hypot(dx, dy) * (frames - 1)
    if way == 0:
        still_way = max(np.hypot(*v) for v in world.MOTION_PX_PER_FRAME.values()) * (frames - 1)
        return bool(np.hypot(*travelled) < 0.25 * still_way)
    along = (travelled[0] * dx + travelled[1] * dy) / np.hypot(dx, dy)
    return bool(along >= 0.5 * way)


def render_clip(sd_folder: Path, motion_folder: Path, prompt: str, seed: int, folder: Path,
                frames: int = 16, **overrides: Any) -> np.ndarray:
    """`frames` native frames of one prompt through the app's animate mode (its defaults but for `overrides`, at
    the motion model's own 8 fps so every frame is denoised), decoded back from the MP4 it writes."""
    import soundfile

    from hear2see_desktop.core.jobs import never_cancelled, no_progress
    from hear2see_desktop.core.render.animate import MOTION_FPS
    from hear2see_desktop.core.render_job import RenderJob, RenderRequest
    from hear2see_desktop.core.settings import RenderSettings
    from hear2see_desktop.core.storyboard.board import Scene, Storyboard
    from hear2see_desktop.core.transcript import Transcript
    from hear2see_desktop.core.video import read_frames

    duration = frames / MOTION_FPS
    audio = folder / "quiet.wav"
    if not audio.is_file():
        soundfile.write(audio, np.zeros(int(16_000 * duration), dtype=np.float32), 16_000)
    settings = RenderSettings(model=str(sd_folder), motion_model=str(motion_folder), mode="animate", style="none",
                              width=world.SIZE_PX, height=world.SIZE_PX, fps=MOTION_FPS, seed=seed, device="cpu",
                              reactivity=0.0, **overrides)
    board = Storyboard(scenes=[Scene(0.0, duration, prompt, prompt)], duration_s=duration)
    out = folder / "clip.mp4"
    RenderJob(RenderRequest(audio, out, settings, transcript=Transcript(text="", words=[], engine="given", model=""),
                            storyboard=board, use_cache=False, runs_log=folder / "runs.jsonl")).run(
        no_progress, never_cancelled)
    return np.stack(list(read_frames(out)))[:frames]


def score_clips(scenes: list[world.Scene], clips: list[np.ndarray]) -> dict[str, Any]:
    """How the clips move against how the world moves their objects, and how steady they are."""
    from hear2see_desktop.core.metrics.flicker import flicker

    moved, still, along = [], [], []
    for scene, clip in zip(scenes, clips, strict=True):
        travelled = drift(clip)
        right = moves_as_the_world_does(scene.object, travelled, len(clip))
        dx, dy = world.motion_of(scene.object)
        if (dx, dy) == (0.0, 0.0):
            still.append(right)
        else:
            moved.append(right)
            along.append((travelled[0] * dx + travelled[1] * dy) / np.hypot(dx, dy))
    return {"movers_moving_their_way": float(np.mean(moved)) if moved else None,
            "still_things_still": float(np.mean(still)) if still else None,
            "movers_travel_px": float(np.mean(along)) if along else None,
            "flicker": float(np.mean([flicker(list(clip)).warped_mad for clip in clips])),
            "clips": len(clips), "movers": len(moved)}


def contact_sheet(rows: list[np.ndarray], target: Path, every: int = 3, zoom: int = 2) -> Path:
    """A PNG of clips, one row each, every `every`-th frame side by side, `zoom` times larger (pixels kept)."""
    from PIL import Image

    sheet = np.concatenate([np.concatenate(list(clip[::every]), axis=1) for clip in rows], axis=0)
    image = Image.fromarray(sheet)
    target.parent.mkdir(parents=True, exist_ok=True)
    image.resize((image.width * zoom, image.height * zoom), Image.Resampling.NEAREST).save(target)
    return target


def measure(world_folder: Path, variants: tuple[str, ...] = ("trained", "zero"), count: int = 40,
            frames: int = 16, sheet: Path | None = None, sheet_clips: int = 6,
            source: Path = WEIGHTS) -> dict[str, Any]:
    """Motion and pictures of `count` held-out captions rendered as animate clips with each toy motion model:
    how the clips move (`score_clips`) and how often the toy CLIP names object and colour in their middle frame.
    The world's own clips of the same scenes, scored the same way, are the ceiling the measure can reach;
    `source` is the trained model's file. With `sheet`, the first `sheet_clips` captions' clips go there as a
    PNG: the world's, then each variant's."""
    from tests.toyworld.evaluate import held_out_prompts
    from tests.toyworld.taesd import judged

    chosen = held_out_prompts(count)
    scenes, prompts = [s for s, _ in chosen], [p for _, p in chosen]
    drawn = [world.draw_clip(scene, 1000 + i, frames) for i, scene in enumerate(scenes)]
    measured: dict[str, Any] = {"world_clips": score_clips(scenes, drawn)}
    measured["world_clips"].update(judged(world_folder / "clip", scenes, [c[frames // 2] for c in drawn]))
    sd = world_folder / "sd"
    shown = {"world": drawn[:sheet_clips]}
    for variant in variants:
        motion_folder = toy_motion_folder(sd, variant, source=source)
        started = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="hear2see-toy-motion-") as tmp:
            clips = [render_clip(sd, motion_folder, prompt, 1234 + i, Path(tmp), frames)
                     for i, prompt in enumerate(prompts)]
        measured[f"animate_{variant}"] = score_clips(scenes, clips)
        measured[f"animate_{variant}"].update(judged(world_folder / "clip", scenes, [c[frames // 2] for c in clips]))
        measured[f"animate_{variant}"]["render_s"] = round(time.perf_counter() - started, 1)
        shown[variant] = clips[:sheet_clips]
    if sheet is not None:
        contact_sheet([clip for index in range(min(sheet_clips, count)) for clip in
                       (shown[name][index] for name in shown)], sheet)
        measured["sheet"] = {"rows": f"per caption: {', '.join(shown)}", "captions": prompts[:sheet_clips]}
    return measured


def main() -> None:
    from tests.toyworld.build import build, log_progress
    from tests.toyworld.lcm import unet_fingerprint

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", action="store_true", help=f"train it again and write {WEIGHTS.name}")
    parser.add_argument("--out", type=Path, default=WEIGHTS, help="where --train writes the motion model")
    parser.add_argument("--steps", type=int, help="training steps (default: the recipe's)")
    parser.add_argument("--go-on", action="store_true", help="with --train: a further run (GO_ON), from the "
                                                               "weights in --out")
    parser.add_argument("--seed", type=int, help="with --train: the run's seed, which picks its clips "
                                                 "(default: the recipe's)")
    parser.add_argument("--lr", type=float, help="with --train: the run's peak learning rate (default: the recipe's)")
    parser.add_argument("--count", type=int, default=40, help="held-out captions to render as clips and judge")
    parser.add_argument("--sheet", type=Path, help="also write a PNG of the first clips there")
    args = parser.parse_args()
    torch.set_num_threads(2)
    world_folder = build()
    report: dict[str, Any] = {}
    if args.train:
        chosen = {name: value for name, value in (("steps", args.steps), ("seed", args.seed), ("lr", args.lr))
                  if value is not None}
        recipe = replace(GO_ON if args.go_on else MotionTraining(), **chosen)
        start = load_trained(world_folder / "sd", args.out) if args.go_on else None
        started = time.perf_counter()
        adapter = train_motion_adapter(world_folder / "sd", recipe, log=log_progress, start=start)
        report["train_s"] = round(time.perf_counter() - started, 1)
        report["recipe"] = asdict(recipe)
        save(adapter, args.out, unet_fingerprint(world_folder / "sd"))
        report["saved_kb"] = round(args.out.stat().st_size / 1e3, 1)
    if args.count:
        report["measured"] = measure(world_folder, count=args.count, sheet=args.sheet, source=args.out)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
