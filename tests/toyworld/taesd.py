"""A toy TAESD: a small `AutoencoderTiny` distilled from the toy world's VAE, for the app's TAESD paths.

The app decodes step previews with TAESD when it is installed, and final frames too with
`decoder="taesd"`; the real TAESD reads SD 1.5's latents, so the toy world needs its own. Like the real
one, its scaling factor is 1.0 and it works on the latents the UNet makes (the VAE's latents times the
VAE's scaling factor; the app's `taesd_decode` divides by TAESD's own 1.0 only): its decoder learns to
draw what the toy VAE decodes from them, its encoder learns the reverse. The error weighs more on the
objects, as the toy VAE's did, since the objects are what the captions name.

Training takes minutes, so the trained weights are committed (`weights/taesd.safetensors`, float16, with
a fingerprint of the VAE they were distilled from); `toy_taesd()` unpacks them once into the toy world's
cache. `python -m tests.toyworld.taesd --train` trains again, writes that file and measures it.

Test and bench infrastructure only: never behind a user-facing default.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from tests.toyworld import world
from tests.toyworld.optim import warmup_cosine
from tests.toyworld.sd import to_unit, weighted_pictures

WEIGHTS = Path(__file__).resolve().parent / "weights" / "taesd.safetensors"
# AutoencoderTiny keeps one width through each half (the real TAESD: 64 for both). Drawing the small objects
# back from 8x8 latents takes more than finding them: at 16 wide the decoder lost a third of what the VAE's
# decodes show (see the commit that chose these), the encoder nothing.
ENCODER_CHANNELS = 16
DECODER_CHANNELS = 32
ENCODER_BLOCKS = (1, 2, 2, 2)  # four levels: three 2x steps, 64x64 pictures <-> 8x8 latents, as the toy VAE
DECODER_BLOCKS = (2, 2, 2, 1)
_VAE_FILE = "vae/diffusion_pytorch_model.safetensors"


def make_taesd() -> Any:
    """An untrained toy TAESD: 4 latent channels, 8x downscale, scaling factor 1.0 like the real one."""
    from diffusers import AutoencoderTiny

    levels = len(ENCODER_BLOCKS)
    return AutoencoderTiny(encoder_block_out_channels=(ENCODER_CHANNELS,) * levels,
                           decoder_block_out_channels=(DECODER_CHANNELS,) * levels, num_encoder_blocks=ENCODER_BLOCKS,
                           num_decoder_blocks=DECODER_BLOCKS, latent_channels=4, scaling_factor=1.0)


def vae_fingerprint(sd_folder: Path) -> str:
    """A short hash of a toy SD folder's VAE weights: which teacher a toy TAESD belongs to."""
    return hashlib.sha256((sd_folder / _VAE_FILE).read_bytes()).hexdigest()[:16]


def load_vae(sd_folder: Path) -> Any:
    from diffusers import AutoencoderKL

    return AutoencoderKL.from_pretrained(sd_folder, subfolder="vae", local_files_only=True).eval()


def unet_latents(vae: Any, pictures: np.ndarray, batch: int = 256) -> torch.Tensor:
    """The latents the UNet learned on for (n, 64, 64, 3) uint8 pictures: posterior means times the scale."""
    with torch.inference_mode():
        means = [vae.encode(to_unit(pictures[i:i + batch])).latent_dist.mean for i in range(0, len(pictures), batch)]
    return torch.cat(means) * vae.config.scaling_factor


def vae_decodes(vae: Any, latents: torch.Tensor, batch: int = 128) -> list[np.ndarray]:
    """The toy VAE's uint8 pictures of UNet latents, through the app's own full-VAE decode."""
    from hear2see_desktop.core.render.denoise import decode_batch

    pipe = SimpleNamespace(vae=vae, device=torch.device("cpu"))
    return [p for i in range(0, len(latents), batch) for p in decode_batch(pipe, latents[i:i + batch])]


@dataclass
class TaesdTraining:
    steps: int = 1200
    batch: int = 32
    pictures: int = 4000
    lr: float = 2e-3
    object_weight: float = 20.0  # as the toy VAE's: a pixel of an object counts this much more
    seed: int = 4


def train_taesd(vae: Any, recipe: TaesdTraining | None = None, log: Any = print) -> Any:
    """A toy TAESD distilled from `vae`: decoder from UNet latents to the VAE's decodes of them, encoder back."""
    recipe = recipe or TaesdTraining()
    torch.manual_seed(recipe.seed)
    rng = random.Random(recipe.seed)
    pictures, weights = weighted_pictures(recipe.pictures, recipe.seed + 30, recipe.object_weight)
    latents = unet_latents(vae, pictures)
    targets = to_unit(np.stack(vae_decodes(vae, latents)))
    log(f"taesd: {len(pictures)} pictures encoded and decoded by the toy VAE")
    taesd = make_taesd()
    optimiser = torch.optim.AdamW(taesd.parameters(), lr=recipe.lr, weight_decay=0.0)
    schedule = warmup_cosine(optimiser, recipe.steps, 50)
    taesd.train()
    for step in range(recipe.steps):
        index = rng.sample(range(len(pictures)), recipe.batch)
        decoded = taesd.decode(latents[index]).sample
        decode_loss = ((decoded - targets[index]) ** 2 * weights[index]).mean()
        encode_loss = F.mse_loss(taesd.encode(to_unit(pictures[index])).latents, latents[index])
        optimiser.zero_grad(set_to_none=True)
        (decode_loss + encode_loss).backward()
        optimiser.step()
        schedule.step()
        if step % 100 == 0 or step == recipe.steps - 1:
            log(f"taesd step {step}/{recipe.steps} decode {decode_loss.item():.4f} encode {encode_loss.item():.4f}")
    return taesd.eval()


def pack(taesd: Any, target: Path, teacher: str) -> Path:
    """Write `taesd` as float16 tensors, its config and its teacher's fingerprint in one file."""
    from safetensors.torch import save_file

    tensors = {name: tensor.detach().to(torch.float16).contiguous() for name, tensor in taesd.state_dict().items()}
    config = {key: value for key, value in taesd.config.items() if not key.startswith("_")}
    metadata = {"config": json.dumps(config, sort_keys=True), "teacher_vae": teacher}
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    save_file(tensors, partial, metadata=metadata)
    partial.replace(target)
    return target


def unpack(source: Path, folder: Path) -> tuple[Path, str]:
    """A float32 `AutoencoderTiny` folder (config.json, diffusion_pytorch_model.safetensors, the catalogue
    entry's two files) from a packed file; returns the folder and the teacher VAE's fingerprint."""
    from diffusers import AutoencoderTiny
    from safetensors import safe_open

    with safe_open(str(source), framework="pt") as handle:
        metadata = handle.metadata()
        tensors = {key: handle.get_tensor(key).float() for key in handle.keys()}  # noqa: SIM118 (not a dict)
    taesd = AutoencoderTiny.from_config(json.loads(metadata["config"]))
    taesd.load_state_dict(tensors)
    taesd.save_pretrained(folder, safe_serialization=True)
    return folder, metadata["teacher_vae"]


def toy_taesd(sd_folder: Path | None = None, source: Path = WEIGHTS) -> Path:
    """The committed toy TAESD, unpacked once into the toy world's cache; refused when `sd_folder` (default:
    the committed world's) holds another VAE than the one it was distilled from."""
    from tests.toyworld.build import build, cache_root

    sd_folder = sd_folder or build() / "sd"
    digest = hashlib.sha256(source.read_bytes()).hexdigest()[:16]
    entry = cache_root() / f"taesd-{digest}"
    if not (entry / "teacher.txt").is_file():
        staging = entry.with_name(entry.name + ".tmp")
        shutil.rmtree(staging, ignore_errors=True)
        _, teacher = unpack(source, staging)
        (staging / "teacher.txt").write_text(teacher, encoding="utf-8")
        shutil.rmtree(entry, ignore_errors=True)
        staging.replace(entry)
    teacher = (entry / "teacher.txt").read_text(encoding="utf-8")
    if vae_fingerprint(sd_folder) != teacher:
        raise RuntimeError(f"The toy TAESD {source.name} was distilled from another VAE than {sd_folder}'s: "
                           "train it again (python -m tests.toyworld.taesd --train).")
    return entry


def judged(clip_folder: Path, scenes: list[world.Scene], pictures: list[np.ndarray]) -> dict[str, float]:
    from tests.toyworld.evaluate import Rendered, named_correctly

    return named_correctly(clip_folder, [Rendered(s, "", p) for s, p in zip(scenes, pictures, strict=True)])


def render_both(sd_folder: Path, prompts: list[str], seed: int = 1234) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(full VAE, TAESD) pictures of one render per prompt through the app's classic path, its default
    settings and seeds as `evaluate.render_classic`: the app's decoders with TAESD as the final decoder
    (found through the model manager), each latent also decoded by the full VAE."""
    from hear2see_desktop.core.jobs import never_cancelled, no_progress
    from hear2see_desktop.core.prompt.builder import DEFAULT_NEGATIVE
    from hear2see_desktop.core.render.denoise import decode_batch
    from hear2see_desktop.core.render.devices import resolve_device
    from hear2see_desktop.core.render.frames import ScenePrompt, render_images
    from hear2see_desktop.core.render.model_source import resolve_model_source
    from hear2see_desktop.core.render.pipeline_cache import get_pipeline
    from hear2see_desktop.core.render.taesd import Decoders
    from hear2see_desktop.core.settings import RenderSettings

    settings = RenderSettings(model=str(sd_folder), width=world.SIZE_PX, height=world.SIZE_PX, device="cpu",
                              seed=seed, decoder="taesd")
    loaded = get_pipeline(resolve_model_source(settings.model), resolve_device("cpu"))
    decoders = Decoders(loaded.pipe, settings.decoder)
    full = decoders.final

    def both(pipe: Any, latents: Any) -> np.ndarray:
        by_vae.append(decode_batch(pipe, latents[:1])[0])
        return full(pipe, latents)

    by_vae: list[np.ndarray] = []
    by_taesd: list[np.ndarray] = []
    decoders.final = both  # type: ignore[method-assign]
    render_images(loaded, settings, [seed + i for i in range(len(prompts))], no_progress, never_cancelled,
                  lambda _index, rgb: by_taesd.append(np.asarray(rgb)),
                  prompts=[ScenePrompt(p, DEFAULT_NEGATIVE) for p in prompts], decoders=decoders)
    return by_vae, by_taesd


def measure(world_folder: Path, taesd_folder: Path, count: int = 200, rendered: int = 200) -> dict[str, Any]:
    """How often the toy CLIP names object and colour on held-out pictures, decoded by the full toy VAE and
    by the toy TAESD from the same latents; then on `rendered` held-out captions through the app's classic
    path, each render's latent decoded by both."""
    from hear2see_desktop.core.render.taesd import load_taesd, taesd_decode
    from tests.toyworld.evaluate import held_out_prompts
    from tests.toyworld.install import toy_models_folder

    clip_folder, vae = world_folder / "clip", load_vae(world_folder / "sd")
    taesd = load_taesd(taesd_folder, torch.device("cpu"), torch.float32)
    scenes = [scene for scene, _ in held_out_prompts(count)]
    pictures = np.stack([world.draw_scene(scene, 5000 + i) for i, scene in enumerate(scenes)])
    latents = unet_latents(vae, pictures)
    with torch.inference_mode():
        taesd_latents = taesd.encode(to_unit(pictures)).latents
    measured: dict[str, Any] = {
        "pictures": judged(clip_folder, scenes, list(pictures)),
        "vae_decodes": judged(clip_folder, scenes, vae_decodes(vae, latents)),
        "taesd_decodes": judged(clip_folder, scenes, list(taesd_decode(taesd, latents))),
        "vae_decodes_of_taesd_latents": judged(clip_folder, scenes, vae_decodes(vae, taesd_latents)),
        "taesd_latent_error": float(F.mse_loss(taesd_latents, latents) / latents.var()),
    }
    if rendered:
        prompts = held_out_prompts(rendered)
        started = time.perf_counter()
        with toy_models_folder(taesd=taesd_folder):
            by_vae, by_taesd = render_both(world_folder / "sd", [p for _, p in prompts])
        measured["render_s"] = round(time.perf_counter() - started, 1)
        measured["classic_vae"] = judged(clip_folder, [s for s, _ in prompts], by_vae)
        measured["classic_taesd"] = judged(clip_folder, [s for s, _ in prompts], by_taesd)
    return measured


def main() -> None:
    from tests.toyworld.build import build, log_progress

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", action="store_true", help=f"distil it again and write {WEIGHTS.name}")
    parser.add_argument("--out", type=Path, default=WEIGHTS, help="where --train writes the packed file")
    parser.add_argument("--count", type=int, default=200, help="held-out pictures to judge")
    parser.add_argument("--rendered", type=int, default=200, help="held-out captions rendered by each decoder")
    args = parser.parse_args()
    torch.set_num_threads(2)
    world_folder = build()
    report: dict[str, Any] = {}
    if args.train:
        recipe = TaesdTraining()
        started = time.perf_counter()
        taesd = train_taesd(load_vae(world_folder / "sd"), recipe, log=log_progress)
        report["train_s"] = round(time.perf_counter() - started, 1)
        report["recipe"] = asdict(recipe)
        pack(taesd, args.out, vae_fingerprint(world_folder / "sd"))
        report["packed_kb"] = round(args.out.stat().st_size / 1e3, 1)
    folder = toy_taesd(world_folder / "sd", args.out)
    report["measured"] = measure(world_folder, folder, args.count, args.rendered)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
