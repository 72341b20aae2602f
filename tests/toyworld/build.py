"""Build the toy world's models: `python -m tests.toyworld.build DIR` writes DIR/clip and DIR/sd.

DIR/clip is a folder `CLIPModel` / `CLIPProcessor.from_pretrained` (and `hear2see eval --clip-model`) load
offline; DIR/sd a diffusers folder `StableDiffusionPipeline.from_pretrained` (and `hear2see render --model`)
load offline. DIR/report.json holds what the build measured.

Training takes about 3 hours on two CPU cores, so the trained weights are committed, packed
(`weights/world.safetensors`, see pack.py): the default build unpacks them (seconds). `--train` trains
everything again on the CPU, deterministically, and packs and unpacks the result the same way (its
DIR/world.safetensors is what `weights/` holds; copy it there to update the committed world). Either result
is cached under a key made of this package's code, the packed weights and the versions of torch,
diffusers and transformers, so a second call returns at once.

    python -m tests.toyworld.build DIR               the committed world (unpacked once, then cached)
    python -m tests.toyworld.build DIR --train       train it all again (about 3 hours on 2 cores)
    python -m tests.toyworld.build DIR --train --only clip   just the toy CLIP (about 25 minutes)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import time
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
MARKER = "complete.json"


def build_key() -> str:
    """A hash of what decides the models: this package's code and the libraries that run it."""
    digest = hashlib.sha256()
    for source in sorted(HERE.glob("*.py")):
        if not source.name.startswith("test_"):
            digest.update(source.name.encode() + b"\0" + source.read_bytes() + b"\0")
    for name in ("torch", "diffusers", "transformers"):
        digest.update(f"{name}=={version(name)}\n".encode())
    return digest.hexdigest()[:16]


def cache_root() -> Path:
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "hear2see-toyworld"
    return Path(os.environ.get("HEAR2SEE_TOYWORLD_CACHE", default))


def log_progress(message: str) -> None:
    print(f"[toyworld {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@dataclass
class Recipes:
    """How long each model trains; the defaults make the world the tests and the bench use."""

    clip: Any = None
    vae: Any = None
    vae_polish: Any = None
    unet: Any = None
    unet_polish: Any = None
    judged: int = 200  # held-out captions the toy SD renders for its measurement

    @classmethod
    def smoke(cls) -> Recipes:
        """A few steps of each, on a few pictures: the whole build's plumbing in seconds (the models learn nothing)."""
        from tests.toyworld import clip, sd

        return cls(clip.ClipTraining(steps=3, batch=8, pictures=16), sd.VaeTraining(steps=3, batch=4, pictures=16),
                   sd.DecoderPolish(steps=2, batch=4, pictures=16), sd.UnetTraining(steps=3, batch=4, pictures=16),
                   tuple(sd.UnetTraining(steps=2, batch=4, pictures=16, lr=p.lr, seed=p.seed) for p in sd.POLISH),
                   judged=4)


def train_into(folder: Path, only: str | None = None, recipes: Recipes | None = None) -> dict:
    """Train the world's models into `folder` (clip/, sd/); returns what was measured on the way."""
    import torch

    from tests.toyworld import clip, pack, sd

    recipes = recipes or Recipes()
    torch.manual_seed(0)
    report: dict = {"key": build_key()}
    started = time.perf_counter()
    clip.train_clip(folder / "clip", recipes.clip, log=log_progress)
    report["clip_train_s"] = round(time.perf_counter() - started, 1)
    tokenizer = clip.tokenizer(folder / "tokenizer-work")
    report["clip_tokens_kept"] = pack.trim_vocabulary(folder / "clip", tokenizer)
    report["clip_zero_shot"] = clip.zero_shot_accuracy(folder / "clip")
    log_progress(f"toy CLIP zero-shot accuracy on held-out pictures: {report['clip_zero_shot']}")
    if only == "clip":
        return report
    from transformers import CLIPModel, CLIPTextModel

    started = time.perf_counter()
    vae = sd.train_vae(recipes.vae, log=log_progress)
    report["vae_train_s"] = round(time.perf_counter() - started, 1)
    pack.ship_clip(folder / "clip")
    clip_model = CLIPModel.from_pretrained(folder / "clip", local_files_only=True)
    text_encoder = CLIPTextModel(clip_model.config.text_config)  # the toy CLIP's text tower, as SD's encoder
    source = clip_model.text_model  # transformers 5: a CLIPTextModel itself; 4: the inner transformer
    weights = getattr(source, "text_model", source).state_dict()
    getattr(text_encoder, "text_model", text_encoder).load_state_dict(weights)
    # The UNet learns on the latents and text states of the VAE and text encoder as the packed world ships them.
    vae.load_state_dict(pack.as_shipped("vae", vae.state_dict()))
    started = time.perf_counter()  # the decoder learns on; the encoder, so the UNet's latents, stays as it is
    sd.polish_decoder(vae, recipes.vae_polish, log=log_progress)
    vae.load_state_dict(pack.as_shipped("vae", vae.state_dict()))
    report["vae_polish_s"] = round(time.perf_counter() - started, 1)
    started = time.perf_counter()
    unet = sd.train_unet(vae, text_encoder, tokenizer, recipes.unet, log=log_progress)
    report["unet_train_s"] = round(time.perf_counter() - started, 1)
    # Gentler runs, each from the one before as the world ships it (sd.POLISH says why).
    for stage, polish in enumerate(recipes.unet_polish or sd.POLISH, start=1):
        unet.load_state_dict(pack.as_shipped("unet", unet.state_dict()))
        started = time.perf_counter()
        unet = sd.train_unet(vae, text_encoder, tokenizer, polish, log=log_progress, start=unet)
        report[f"unet_polish_{stage}_s"] = round(time.perf_counter() - started, 1)
    sd.save_pipeline(folder / "sd", vae, unet, text_encoder.eval(), tokenizer)
    shutil.rmtree(folder / "tokenizer-work", ignore_errors=True)
    packed = pack.pack(folder, folder / PACKED)
    shutil.rmtree(folder / "clip")
    shutil.rmtree(folder / "sd")
    pack.unpack(packed, folder)  # what is measured and used is what the committed file holds
    report["packed_mb"] = round(packed.stat().st_size / 1e6, 2)
    report["measured"] = measure(folder, recipes.judged)
    return report


PACKED = "world.safetensors"


def measure(folder: Path, judged: int = 200) -> dict:
    """What the issue asks of the world's models, measured on the unpacked folders."""
    from tests.toyworld import clip, evaluate

    started = time.perf_counter()
    measured = {"clip_zero_shot": clip.zero_shot_accuracy(folder / "clip"),
                "sd_named_by_clip": evaluate.sd_accuracy(folder / "sd", folder / "clip", count=judged)}
    measured["measure_s"] = round(time.perf_counter() - started, 1)
    log_progress(f"measured: {measured}")
    return measured


def _packed_key() -> str:
    from tests.toyworld.pack import WEIGHTS

    return "packed-" + hashlib.sha256((build_key() + "\0").encode() + WEIGHTS.read_bytes()).hexdigest()[:16]


def build(target: Path | None = None, only: str | None = None, train: bool = False) -> Path:
    """The world's folder in the cache (unpacked, or trained with `train`), copied to `target` when given."""
    from tests.toyworld import pack

    if not train and only is not None:
        raise ValueError("Only a training build can stop after one part (--train --only clip).")
    key = (build_key() + (f"-{only}" if only else "")) if train else _packed_key()
    entry = cache_root() / key
    if not (entry / MARKER).is_file():
        staging = cache_root() / f"{key}.tmp-{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        if train:
            report = train_into(staging, only)
        else:
            pack.unpack(pack.WEIGHTS, staging)
            report = json.loads((pack.WEIGHTS.parent / "report.json").read_text(encoding="utf-8"))
        (staging / "report.json").write_text(json.dumps(report, indent=1), encoding="utf-8")
        shutil.rmtree(entry, ignore_errors=True)
        os.replace(staging, entry)
        (entry / MARKER).write_text(json.dumps({"key": key}), encoding="utf-8")
    if target is not None:
        target.mkdir(parents=True, exist_ok=True)
        for part in ("clip", "sd", "report.json", PACKED):
            source = entry / part
            if source.is_dir():
                shutil.copytree(source, target / part, dirs_exist_ok=True)
            elif source.is_file():
                shutil.copy2(source, target / part)
    return entry


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", type=Path, help="where to write clip/ and sd/")
    parser.add_argument("--train", action="store_true", help="train the world again instead of unpacking "
                                                                  "the committed weights")
    parser.add_argument("--only", choices=("clip",), help="with --train: train only this part")
    args = parser.parse_args()
    if args.only and not args.train:
        parser.error("--only needs --train (the committed world is unpacked whole)")
    entry = build(args.dir, args.only, train=args.train)
    print((entry / "report.json").read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()
