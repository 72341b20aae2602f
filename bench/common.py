"""Shared helpers for the benchmarks: timing, peak memory, machine description, result files, test models.

The benchmark scripts are run as files (`python bench/<name>.py`), so they import this module as
`common`. Results always carry the exact command line and the machine they were measured on, because a
ratio measured on one machine says little about another.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import shlex
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
DEFAULT_OUT = BENCH_DIR / "results"
CACHE_DIR = BENCH_DIR / ".cache"
SD15_RANDOM_DIR = CACHE_DIR / "sd15-random-fp32"
TINY_DIR = CACHE_DIR / "tiny"
MOTION_RANDOM_DIR = CACHE_DIR / "animatediff-v1-5-2-random-fp32"
TINY_MOTION_DIR = CACHE_DIR / "tiny-motion"
SD15_RANDOM_NOTE = (
    "random weights in the full SD-1.5 architecture (860M-parameter UNet, KL VAE, 12-layer CLIP text encoder): "
    "each step costs the same as the real model, the pictures are noise"
)
MOTION_RANDOM_NOTE = (
    "random weights in the layout of AnimateDiff's SD 1.5 motion module v1-5-2 (guoyww/animatediff-motion-adapter-"
    "v1-5-2: motion layers for blocks of 320/640/1280/1280 channels, 2 per block, a motion mid block, 8 heads, 32 "
    "positions): each step costs the same as the real module"
)
MOTION_V1_5_2_CONFIG: dict[str, Any] = {
    "block_out_channels": (320, 640, 1280, 1280),
    "motion_layers_per_block": 2,
    "motion_transformer_layers_per_block": 1,
    "motion_mid_block_layers_per_block": 1,
    "motion_transformer_layers_per_mid_block": 1,
    "motion_num_attention_heads": 8,
    "motion_norm_num_groups": 32,
    "motion_max_seq_length": 32,
    "use_motion_mid_block": True,
}
"""The `MotionAdapter` config of guoyww/animatediff-motion-adapter-v1-5-2 (its config.json as published, with
diffusers' defaults for the keys it leaves out), the motion model animate mode uses by default."""
_COMPLETE_MARKER = ".hear2see-bench-complete"


# ---------------------------------------------------------------------------------------------------------
# Measuring


@dataclass
class Timer:
    """Wall-clock time of a `with` block (perf_counter), kept in `elapsed_s` after the block ends."""

    elapsed_s: float = 0.0
    _start: float = field(default=0.0, repr=False)

    def __enter__(self) -> Timer:
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.elapsed_s = time.perf_counter() - self._start


def peak_rss_mib(children: bool = False) -> float:
    """Peak resident memory of this process (or of its finished children) in MiB, from getrusage.

    The kernel only keeps the maximum, so a per-task peak needs a fresh process per task.
    """
    usage = resource.getrusage(resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF)
    scale = 1.0 if sys.platform == "darwin" else 1024.0  # ru_maxrss: bytes on macOS, KiB on Linux
    return usage.ru_maxrss * scale / (1024.0 * 1024.0)


def cpu_time_s() -> float:
    """User + system CPU seconds this process used so far (all threads)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def median(values: Sequence[float]) -> float:
    """The median of a non-empty sequence."""
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2.0


# ---------------------------------------------------------------------------------------------------------
# Where it ran


def _cpu_model_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_description(device: str = "auto") -> dict[str, Any]:
    """CPU count and model, memory, library versions and the device a render would use."""
    import torch

    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    info: dict[str, Any] = {
        "cpu_model": _cpu_model_name(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": usable,
        "torch_threads": torch.get_num_threads(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
    }
    try:
        import diffusers

        info["diffusers"] = diffusers.__version__
    except ImportError:
        pass
    if hasattr(os, "getloadavg"):
        info["load_average"] = [round(value, 2) for value in os.getloadavg()]  # other work on the machine
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        info["memory_gib"] = round(pages / 1024**3, 1)
    except (ValueError, OSError, AttributeError):
        pass
    try:
        from hear2see_desktop.core.render.devices import resolve_device

        chosen = resolve_device(device)
        info["device"] = f"{chosen.device} ({chosen.dtype_name})"
        if chosen.device == "cuda":
            info["gpu"] = torch.cuda.get_device_name(0)
    except Exception as error:  # a machine description must never stop a benchmark
        info["device"] = f"unknown ({error})"
    return info


def machine_line(machine: dict[str, Any]) -> str:
    """One readable line for a Markdown header."""
    parts = [
        f"{machine.get('cpu_model')} ({machine.get('cpus_usable')} of {machine.get('cpu_count')} CPUs usable, "
        f"{machine.get('torch_threads')} torch threads)",
        f"{machine.get('memory_gib', '?')} GiB RAM",
        f"load average {machine.get('load_average', '?')} at the start",
        f"device {machine.get('device')}",
        f"torch {machine.get('torch')}",
    ]
    if "diffusers" in machine:
        parts.append(f"diffusers {machine['diffusers']}")
    if "gpu" in machine:
        parts.append(str(machine["gpu"]))
    parts.append(f"Python {machine.get('python')}")
    return ", ".join(parts)


def command_line() -> str:
    """The command that is running, as it could be typed again from the repository root."""
    script = Path(sys.argv[0])
    try:
        script = script.resolve().relative_to(REPO_ROOT)
    except ValueError:
        pass
    return shlex.join([".venv/bin/python", str(script), *sys.argv[1:]])


# ---------------------------------------------------------------------------------------------------------
# Result files


@dataclass
class Table:
    """A Markdown table: a heading, column names and rows of already formatted cells."""

    heading: str
    columns: list[str]
    rows: list[list[str]]

    def markdown(self) -> str:
        lines = [f"### {self.heading}", "", "| " + " | ".join(self.columns) + " |",
                 "|" + "|".join("---" for _ in self.columns) + "|"]
        lines += ["| " + " | ".join(row) + " |" for row in self.rows]
        return "\n".join(lines)


def fmt(value: float | None, digits: int = 3) -> str:
    """A number for a table cell; None becomes an en dash."""
    if value is None:
        return "–"
    return f"{value:.{digits}f}"


def write_results(
    out_dir: Path,
    name: str,
    title: str,
    notes: Sequence[str],
    tables: Sequence[Table],
    data: dict[str, Any],
    machine: dict[str, Any],
    command: str | None = None,
) -> tuple[Path, Path]:
    """Write `<name>.md` and `<name>.json` into `out_dir`; both name the command and the machine."""
    out_dir.mkdir(parents=True, exist_ok=True)
    command = command or command_line()
    when = datetime.now(timezone.utc).isoformat(timespec="seconds")
    header = [f"# {title}", "", f"- Command: `{command}`", f"- Machine: {machine_line(machine)}", f"- Date: {when}"]
    header += [f"- {note}" for note in notes]
    body = "\n\n".join([*(table.markdown() for table in tables)])
    md_path = out_dir / f"{name}.md"
    md_path.write_text("\n".join(header) + "\n\n" + body + "\n", encoding="utf-8")
    json_path = out_dir / f"{name}.json"
    payload = {"command": command, "date": when, "machine": machine, "notes": list(notes), **data}
    json_path.write_text(json.dumps(payload, indent=2, default=str) + "\n", encoding="utf-8")
    return md_path, json_path


def save_plot(figure: Any, path: Path) -> str:
    """Write a matplotlib figure as PNG, free it, and return the results header's note naming it."""
    import matplotlib.pyplot as plt

    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return f"Plot: {path.name}."


# ---------------------------------------------------------------------------------------------------------
# Test models


def _tests_importable() -> None:
    """The tiny model builders live in the repository's `tests` package, which is not installed."""
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))


def _is_complete(folder: Path, index: str = "model_index.json") -> bool:
    return (folder / index).is_file() and (folder / _COMPLETE_MARKER).is_file()


def _mark_complete(folder: Path, description: str) -> None:
    (folder / _COMPLETE_MARKER).write_text(description + "\n", encoding="utf-8")


def sd15_scheduler() -> Any:
    """The scheduler SD-1.5 ships (PNDM with its scaled-linear betas); the renderer swaps in its own kind."""
    from diffusers import PNDMScheduler

    # SD-1.5's scheduler_config.json as shipped ("clip_sample" is kept there although PNDM ignores it).
    return PNDMScheduler.from_config(
        {
            "num_train_timesteps": 1000,
            "beta_start": 0.00085,
            "beta_end": 0.012,
            "beta_schedule": "scaled_linear",
            "skip_prk_steps": True,
            "set_alpha_to_one": False,
            "steps_offset": 1,
            "clip_sample": False,
            "trained_betas": None,
        }
    )


def build_random_sd15(folder: Path = SD15_RANDOM_DIR, seed: int = 0) -> Path:
    """A diffusers folder with SD-1.5's exact architecture and seeded random weights; built once, then reused.

    Benchmarks need the real model's cost per step, which depends only on the shapes, not on the
    weights, and the real weights cannot be downloaded here. Weights are stored in fp32, like the files
    the catalogue's `sd15` entry downloads (4.1 GB), so loading and memory behave as with the real model
    (safetensors are memory-mapped: fp32 files on the CPU are used in place, not copied).
    """
    folder = Path(folder)
    if _is_complete(folder):
        return folder
    import shutil

    import torch
    from diffusers import AutoencoderKL, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    _tests_importable()
    from tests.tiny_tokenizer import write_tiny_tokenizer_files

    if folder.exists():
        shutil.rmtree(folder)  # an interrupted build: start again
    folder.mkdir(parents=True)
    tokenizer = CLIPTokenizer.from_pretrained(
        str(write_tiny_tokenizer_files(folder / "tokenizer")), local_files_only=True
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        unet = UNet2DConditionModel(
            sample_size=64,
            in_channels=4,
            out_channels=4,
            down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
            up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
            block_out_channels=(320, 640, 1280, 1280),
            layers_per_block=2,
            cross_attention_dim=768,
            attention_head_dim=8,
            norm_num_groups=32,
            norm_eps=1e-5,
            act_fn="silu",
            flip_sin_to_cos=True,
            freq_shift=0,
            downsample_padding=1,
            mid_block_scale_factor=1,
        ).eval()
        torch.manual_seed(seed + 1)
        vae = AutoencoderKL(
            in_channels=3,
            out_channels=3,
            down_block_types=("DownEncoderBlock2D",) * 4,
            up_block_types=("UpDecoderBlock2D",) * 4,
            block_out_channels=(128, 256, 512, 512),
            layers_per_block=2,
            latent_channels=4,
            norm_num_groups=32,
            act_fn="silu",
            sample_size=512,
            scaling_factor=0.18215,
        ).eval()
        torch.manual_seed(seed + 2)
        text_encoder = CLIPTextModel(
            CLIPTextConfig(
                vocab_size=49408,
                hidden_size=768,
                intermediate_size=3072,
                projection_dim=768,
                num_hidden_layers=12,
                num_attention_heads=12,
                max_position_embeddings=77,
                hidden_act="quick_gelu",
                layer_norm_eps=1e-5,
                bos_token_id=tokenizer.bos_token_id,
                eos_token_id=tokenizer.eos_token_id,
                pad_token_id=tokenizer.pad_token_id,
            )
        ).eval()
    pipe = StableDiffusionPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=unet,
        scheduler=sd15_scheduler(),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipe.save_pretrained(folder, safe_serialization=True)
    _mark_complete(folder, f"random SD-1.5 architecture, seed {seed}")
    return folder


def build_tiny(folder: Path = TINY_DIR, seed: int = 0) -> Path:
    """The tests' tiny SD-1.5-shaped pipeline as a diffusers folder: proves a script runs end to end in seconds."""
    folder = Path(folder)
    if _is_complete(folder):
        return folder
    import shutil

    _tests_importable()
    from tests.tiny_pipeline import save_tiny_diffusers

    if folder.exists():
        shutil.rmtree(folder)
    save_tiny_diffusers(folder, seed=seed)
    _mark_complete(folder, f"tests/tiny_pipeline.py, seed {seed}")
    return folder


def build_random_motion_adapter(folder: Path = MOTION_RANDOM_DIR, seed: int = 0) -> Path:
    """A diffusers `MotionAdapter` folder in the v1-5-2 layout with seeded random weights; built once, then reused.

    For the same reason as `build_random_sd15`: animate mode's cost per step depends on the motion layers'
    shapes, not their weights (fp32 files, 1.8 GB, like the published module's).
    """
    folder = Path(folder)
    if _is_complete(folder, "config.json"):
        return folder
    import shutil

    import torch
    from diffusers import MotionAdapter

    if folder.exists():
        shutil.rmtree(folder)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        adapter = MotionAdapter(**MOTION_V1_5_2_CONFIG).eval()
    adapter.save_pretrained(folder, safe_serialization=True)
    _mark_complete(folder, f"random AnimateDiff v1-5-2 motion module layout, seed {seed}")
    return folder


def build_tiny_motion(folder: Path = TINY_MOTION_DIR, seed: int = 0) -> Path:
    """The tests' tiny motion adapter (fits `build_tiny`'s model) as a diffusers folder."""
    folder = Path(folder)
    if _is_complete(folder, "config.json"):
        return folder
    import shutil

    _tests_importable()
    from tests.tiny_motion_adapter import save_tiny_motion_folder

    if folder.exists():
        shutil.rmtree(folder)
    save_tiny_motion_folder(folder, seed=seed)
    _mark_complete(folder, f"tests/tiny_motion_adapter.py, seed {seed}")
    return folder


def resolve_bench_model(value: str | None) -> Path:
    """`--model`: a diffusers folder, "tiny" for the tests' toy model, or (default) the random SD-1.5."""
    if value is None or value == "sd15-random":
        return build_random_sd15()
    if value == "tiny":
        return build_tiny()
    return Path(value).expanduser()


def describe_model(folder: Path) -> str:
    """How a results header names the model it measured (inside the repository: its path from the root)."""
    resolved = folder.resolve()
    if resolved.is_relative_to(REPO_ROOT):
        folder = resolved.relative_to(REPO_ROOT)
    if resolved == SD15_RANDOM_DIR.resolve():
        return f"{folder} ({SD15_RANDOM_NOTE})"
    if resolved == TINY_DIR.resolve():
        return f"{folder} (tests/tiny_pipeline.py: a toy SD-shaped model, NOT representative of SD-1.5 cost)"
    if resolved == MOTION_RANDOM_DIR.resolve():
        return f"{folder} ({MOTION_RANDOM_NOTE})"
    if resolved == TINY_MOTION_DIR.resolve():
        return f"{folder} (tests/tiny_motion_adapter.py: a toy motion model that fits the toy model)"
    return str(folder)


if __name__ == "__main__":
    # `python bench/common.py` builds (or finds) the cached random SD-1.5 and prints where it is.
    print(build_random_sd15())
