"""A toy LCM-LoRA: latent consistency distillation (Luo et al. 2023) of the toy UNet into a LoRA.

The app's 4-step draft (`lcm_draft`) puts the LCM-LoRA in the LoRA slot, samples with the LCM scheduler
and runs no CFG; the real LoRA is SD 1.5's, so the toy world needs its own. The teacher is the toy UNet
as the app runs it: classifier-free guidance at the app's default CFG, the app's default negative prompt
as the unconditional side (what the toy UNet learned a dropped caption to be, see `sd.UNCONDITIONAL`).
The student is the same UNet with a LoRA on the layers the real LCM-LoRA adapts. From a noisy latent at
one of DDIM's 50 timesteps (the grid the LCM scheduler draws its 4 steps from), one guided DDIM step of
the teacher goes 20 timesteps down; the student's consistency function there (LCM's boundary conditions:
c_skip x + c_out x0) must agree with its own prediction, without gradient, at the point the teacher
reached. Guidance is baked in, so the draft needs no CFG.

Saved as a LoRA file the app loads like any other (PEFT's key format, float16, with a fingerprint of its
teacher UNet); 1,500 steps take about a quarter of an hour on two cores, more than a build should, so the
file belongs in `weights/lcm_lora.safetensors` (about 0.8 MB): `python -m tests.toyworld.lcm --train`
trains it, writes it there and measures it.

Test and bench infrastructure only: never behind a user-facing default.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from tests.toyworld import world
from tests.toyworld.optim import warmup_cosine
from tests.toyworld.sd import cached_text_encoder

WEIGHTS = Path(__file__).resolve().parent / "weights" / "lcm_lora.safetensors"
# The layers the real LCM-LoRA for SD 1.5 adapts: attention, feed-forward, ResNet convolutions, resampling.
TARGETS = ["to_q", "to_k", "to_v", "to_out.0", "proj_in", "proj_out", "ff.net.0.proj", "ff.net.2", "conv1", "conv2",
           "conv_shortcut", "downsamplers.0.conv", "upsamplers.0.conv", "time_emb_proj"]
_UNET_FILE = "unet/diffusion_pytorch_model.safetensors"
_TEACHER_KEY = "toyworld_teacher_unet"


def unet_fingerprint(sd_folder: Path) -> str:
    """A short hash of a toy SD folder's UNet weights: which teacher a toy LCM-LoRA belongs to."""
    return hashlib.sha256((sd_folder / _UNET_FILE).read_bytes()).hexdigest()[:16]


@dataclass
class LcmTraining:
    steps: int = 1500
    batch: int = 32
    pictures: int = 8000
    rank: int = 8  # alpha = rank: the app applies it at weight 1 unscaled
    lr: float = 5e-4
    solver_steps: int = 50  # DDIM's grid; the LCM scheduler's `original_inference_steps`
    boundary_scale: float = 10.0  # LCM's timestep scaling in c_skip / c_out, as LCMScheduler's default
    seed: int = 5


def boundary(t: torch.Tensor, scale: float, sigma_data: float = 0.5) -> tuple[torch.Tensor, torch.Tensor]:
    """LCM's (c_skip, c_out) at timesteps `t`, as (n, 1, 1, 1): the identity at t = 0, x0 far from it."""
    scaled = scale * t.float()
    c_skip = sigma_data**2 / (scaled**2 + sigma_data**2)
    c_out = scaled / (scaled**2 + sigma_data**2) ** 0.5
    return c_skip.view(-1, 1, 1, 1), c_out.view(-1, 1, 1, 1)


class Schedule:
    """SD 1.5's noise schedule and DDIM's skip-step grid on it: the teacher's ODE solver."""

    def __init__(self, alphas_cumprod: torch.Tensor, solver_steps: int) -> None:
        self.alpha = alphas_cumprod.sqrt()
        self.sigma = (1 - alphas_cumprod).sqrt()
        self.skip = len(alphas_cumprod) // solver_steps
        self.grid = torch.arange(1, solver_steps + 1) * self.skip - 1  # 19, 39, ..., 999 for 1000 / 50

    def x0(self, eps: torch.Tensor, t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return (x - self.sigma[t].view(-1, 1, 1, 1) * eps) / self.alpha[t].view(-1, 1, 1, 1)

    def ddim_step(self, x0: torch.Tensor, eps: torch.Tensor, to: torch.Tensor) -> torch.Tensor:
        """The deterministic DDIM step to timesteps `to` (-1: the clean end, where alpha is 1)."""
        clean = to < 0
        alpha = torch.where(clean, torch.ones_like(to, dtype=self.alpha.dtype), self.alpha[to.clamp(min=0)])
        sigma = torch.where(clean, torch.zeros_like(to, dtype=self.sigma.dtype), self.sigma[to.clamp(min=0)])
        return alpha.view(-1, 1, 1, 1) * x0 + sigma.view(-1, 1, 1, 1) * eps


def _texts(sd_folder: Path) -> Any:
    from transformers import CLIPTextModel, CLIPTokenizer

    tokenizer = CLIPTokenizer.from_pretrained(sd_folder / "tokenizer", local_files_only=True)
    encoder = CLIPTextModel.from_pretrained(sd_folder / "text_encoder", local_files_only=True).eval()
    encode = cached_text_encoder(tokenizer, encoder)

    return encode


def train_lcm_lora(sd_folder: Path, recipe: LcmTraining | None = None, log: Any = print) -> Any:
    """The toy UNet of `sd_folder` with a LoRA distilled for 4-step LCM sampling without CFG (see the module)."""
    from diffusers import DDPMScheduler, UNet2DConditionModel
    from peft import LoraConfig

    from hear2see_desktop.core.prompt.builder import DEFAULT_NEGATIVE
    from hear2see_desktop.core.settings import RenderSettings
    from tests.toyworld.taesd import load_vae, unet_latents

    recipe = recipe or LcmTraining()
    torch.manual_seed(recipe.seed)
    rng = random.Random(recipe.seed)
    data = world.examples(world.training_scenes(), recipe.pictures, seed=recipe.seed + 40)
    latents = unet_latents(load_vae(sd_folder), np.stack([e.picture() for e in data]))
    texts = [[c.text for c in e.captions] for e in data]
    encode = _texts(sd_folder)
    unconditional = encode([DEFAULT_NEGATIVE])
    w = RenderSettings().cfg - 1.0  # LCM's form of the app's CFG: cond + w (cond - uncond)
    teacher = UNet2DConditionModel.from_pretrained(sd_folder, subfolder="unet", local_files_only=True)
    teacher.requires_grad_(False).eval()
    student = UNet2DConditionModel.from_pretrained(sd_folder, subfolder="unet", local_files_only=True)
    student.requires_grad_(False)
    student.add_adapter(LoraConfig(r=recipe.rank, lora_alpha=recipe.rank, target_modules=TARGETS))
    trained = [p for p in student.parameters() if p.requires_grad]
    schedule = Schedule(DDPMScheduler.from_pretrained(sd_folder, subfolder="scheduler").alphas_cumprod,
                        recipe.solver_steps)
    optimiser = torch.optim.AdamW(trained, lr=recipe.lr, weight_decay=0.0)
    lr_schedule = warmup_cosine(optimiser, recipe.steps, 100)
    student.train()
    log(f"lcm: {len(data)} latents, {sum(p.numel() for p in trained)} LoRA parameters")
    for step in range(recipe.steps):
        index = rng.sample(range(len(data)), recipe.batch)
        clean = latents[index]
        prompts = encode([rng.choice(texts[i]) for i in index])
        n = torch.randint(0, recipe.solver_steps, (recipe.batch,))
        start, end = schedule.grid[n], schedule.grid[n] - schedule.skip  # end -1: the clean latent itself
        noisy = schedule.alpha[start].view(-1, 1, 1, 1) * clean + schedule.sigma[start].view(-1, 1, 1, 1) * \
            torch.randn_like(clean)
        c_skip, c_out = boundary(start, recipe.boundary_scale)
        eps = student(noisy, start, encoder_hidden_states=prompts).sample
        prediction = c_skip * noisy + c_out * schedule.x0(eps, start, noisy)
        with torch.no_grad():
            both = teacher(torch.cat([noisy, noisy]), torch.cat([start, start]),
                           encoder_hidden_states=torch.cat([prompts, unconditional.expand_as(prompts)])).sample
            cond, uncond = both.chunk(2)
            guided_eps = cond + w * (cond - uncond)
            before = schedule.ddim_step(schedule.x0(guided_eps, start, noisy), guided_eps, end)
            at = end.clamp(min=0)
            c_skip, c_out = boundary(at, recipe.boundary_scale)
            target_eps = student(before, at, encoder_hidden_states=prompts).sample
            target = c_skip * before + c_out * schedule.x0(target_eps, at, before)
        loss = F.mse_loss(prediction, target)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trained, 1.0)
        optimiser.step()
        lr_schedule.step()
        if step % 100 == 0 or step == recipe.steps - 1:
            log(f"lcm step {step}/{recipe.steps} loss {loss.item():.5f}")
    return student.eval()


def save(student: Any, target: Path, teacher: str) -> Path:
    """The LoRA in PEFT's key format (`unet.<module>.lora_A.weight`, float16), which diffusers loads without
    converting (its older format loses the attention layers on the way back), with its teacher's fingerprint."""
    from peft.utils import get_peft_model_state_dict
    from safetensors.torch import save_file

    tensors = {f"unet.{key}": tensor.detach().to(torch.float16).contiguous()
               for key, tensor in get_peft_model_state_dict(student).items()}
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    save_file(tensors, partial, metadata={"format": "pt", _TEACHER_KEY: teacher})
    partial.replace(target)
    return target


def toy_lcm_lora(sd_folder: Path | None = None, source: Path = WEIGHTS) -> Path:
    """The committed toy LCM-LoRA file; refused when `sd_folder` (default: the committed world's) holds
    another UNet than the one it was distilled from."""
    from safetensors import safe_open

    from tests.toyworld.build import build

    sd_folder = sd_folder or build() / "sd"
    with safe_open(str(source), framework="pt") as handle:
        teacher = (handle.metadata() or {}).get(_TEACHER_KEY)
    if teacher != unet_fingerprint(sd_folder):
        raise RuntimeError(f"The toy LCM-LoRA {source.name} was distilled from another UNet than {sd_folder}'s: "
                           "train it again (python -m tests.toyworld.lcm --train).")
    return source


def render_draft(sd_folder: Path, lora: Path | None, prompts: list[str], seed: int = 1234) -> list[np.ndarray]:
    """One picture per prompt through the app's classic path as `lcm_draft` sets it up (the toy LCM-LoRA
    installed where the app looks); `lora` None: the same 4 LCM steps without CFG and without the LoRA."""
    from dataclasses import replace

    from hear2see_desktop.core.jobs import never_cancelled, no_progress
    from hear2see_desktop.core.prompt.builder import DEFAULT_NEGATIVE
    from hear2see_desktop.core.render.devices import resolve_device
    from hear2see_desktop.core.render.frames import ScenePrompt, render_images
    from hear2see_desktop.core.render.lcm import LCM_CFG, LCM_STEPS, lcm_draft
    from hear2see_desktop.core.render.model_source import resolve_model_source
    from hear2see_desktop.core.render.pipeline_cache import apply_loras, get_pipeline
    from hear2see_desktop.core.settings import RenderSettings
    from tests.toyworld.install import toy_models_folder

    settings = RenderSettings(model=str(sd_folder), width=world.SIZE_PX, height=world.SIZE_PX, device="cpu",
                              seed=seed)
    pictures: list[np.ndarray] = []
    with toy_models_folder(lcm_lora=lora):
        if lora is not None:
            settings = lcm_draft(settings)
        else:
            settings = replace(settings, scheduler="lcm", steps=LCM_STEPS, cfg=LCM_CFG)
        loaded = get_pipeline(resolve_model_source(settings.model), resolve_device("cpu"))
        apply_loras(loaded, settings.loras)
        try:
            render_images(loaded, settings, [seed + i for i in range(len(prompts))], no_progress, never_cancelled,
                          lambda _index, rgb: pictures.append(np.asarray(rgb)),
                          prompts=[ScenePrompt(p, DEFAULT_NEGATIVE) for p in prompts])
        finally:
            apply_loras(loaded, [])
    return pictures


def measure(world_folder: Path, lora: Path, count: int = 200) -> dict[str, Any]:
    """How often the toy CLIP names object and colour on `count` held-out captions rendered by the LCM
    draft, by the same 4 LCM steps without the LoRA, and by the app's default classic render."""
    from tests.toyworld.evaluate import held_out_prompts, render_classic
    from tests.toyworld.taesd import judged

    chosen = held_out_prompts(count)
    scenes, prompts = [s for s, _ in chosen], [p for _, p in chosen]
    measured: dict[str, Any] = {}
    for name, render in (("lcm_draft", lambda: render_draft(world_folder / "sd", lora, prompts)),
                         ("lcm_steps_without_lora", lambda: render_draft(world_folder / "sd", None, prompts)),
                         ("classic_default", lambda: render_classic(world_folder / "sd", prompts))):
        started = time.perf_counter()
        measured[name] = judged(world_folder / "clip", scenes, render())
        measured[name]["render_s"] = round(time.perf_counter() - started, 1)
    return measured


def main() -> None:
    from tests.toyworld.build import build, log_progress

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", action="store_true", help=f"distil it again and write {WEIGHTS.name}")
    parser.add_argument("--out", type=Path, default=WEIGHTS, help="where --train writes the LoRA")
    parser.add_argument("--steps", type=int, help="training steps (default: the recipe's)")
    parser.add_argument("--count", type=int, default=200, help="held-out captions to render and judge")
    args = parser.parse_args()
    torch.set_num_threads(2)
    world_folder = build()
    report: dict[str, Any] = {}
    if args.train:
        recipe = LcmTraining(**({"steps": args.steps} if args.steps else {}))
        started = time.perf_counter()
        student = train_lcm_lora(world_folder / "sd", recipe, log=log_progress)
        report["train_s"] = round(time.perf_counter() - started, 1)
        report["recipe"] = asdict(recipe)
        save(student, args.out, unet_fingerprint(world_folder / "sd"))
        report["saved_kb"] = round(args.out.stat().st_size / 1e3, 1)
    report["measured"] = measure(world_folder, toy_lcm_lora(world_folder / "sd", args.out), args.count)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
