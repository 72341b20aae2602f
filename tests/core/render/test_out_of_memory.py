"""Running out of memory mid-render: real allocation failures under a capped address space, and the ladder's steps.

The capped tests run a render in a child process whose data segment is limited (RLIMIT_DATA) to what it uses
after a warm-up plus a margin, so a picture too big for the margin fails in PyTorch's CPU allocator for real.
glibc is told to serve every allocation above 128 KiB with its own mapping (MALLOC_MMAP_THRESHOLD_), so freed
tensors go back to the kernel at once and the process's data size follows what is alive: measured peaks are
then repeatable to a few MB instead of depending on heap fragmentation.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from hear2see_desktop.core.errors import RenderFailedError
from hear2see_desktop.core.jobs import never_cancelled, no_progress
from hear2see_desktop.core.render.memory_ladder import (
    ATTENTION_SLICING,
    DECODE,
    DENOISE,
    MemoryLadder,
    ladder_for,
)
from hear2see_desktop.core.render.out_of_memory import is_out_of_memory
from hear2see_desktop.core.render_job import RenderJob, RenderRequest
from hear2see_desktop.core.settings import RenderSettings
from hear2see_desktop.core.transcript import Transcript, Word

ROOT = Path(__file__).resolve().parents[3]

STEP_DOWN_PX = 320
"""At 320 px the tiny UNet's top level attends over 40 x 40 = 1600 tokens. The plain `AttnProcessor` holds
the scores of all 2 (CFG) x 4 heads at once, 8 x 1600^2 floats = 82 MB, and their softmax beside them.
Measured on the whole render in the child process (2 threads), as the cap above the warm-up size that it
needs: all heads at once runs with 190 MB and runs out with 170 MB; one head at a time runs with 60 MB,
needs the VAE step too with 40 MB, and runs out even then with 30 MB."""
STEP_DOWN_HEADROOM_MB = 100
"""Between the two, 40 MB from one edge and 70 MB from the other."""
NEVER_PX = 2048
NEVER_HEADROOM_MB = 40
"""A 2048 px latent is 256 x 256: one UNet activation of the CFG batch is already 16 MB, a resnet holds several,
and one head's attention scores would be 16 GB, so no step down fits in 40 MB."""

_CAPPED_SCRIPT = r"""
import json, os, resource, sys
from pathlib import Path

import torch
from diffusers.models.attention_processor import AttnProcessor

from hear2see_desktop.cli import main
from hear2see_desktop.core.render.devices import resolve_device
from hear2see_desktop.core.render.model_source import resolve_model_source
from hear2see_desktop.core.render.pipeline_cache import get_pipeline
from hear2see_desktop.core.render_job import RenderJob, RenderRequest
from hear2see_desktop.core.settings import RenderSettings

mode, model, audio, work, size, headroom_mb = sys.argv[1:7]
work, size = Path(work), int(size)
os.cpu_count = lambda: 2  # resolve_device runs on every core: two, as the margins were measured, on any machine


def data_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmData:"):
            return int(line.split()[1]) // 1024


def cap(mb):
    resource.setrlimit(resource.RLIMIT_DATA, (mb << 20, resource.getrlimit(resource.RLIMIT_DATA)[1]))


def uncap():
    hard = resource.getrlimit(resource.RLIMIT_DATA)[1]
    resource.setrlimit(resource.RLIMIT_DATA, (hard, hard))


def cli_render(px, out):
    return main(["render", audio, "-o", str(out), "--model", model, "--prompt", "a red fox", "--width", str(px),
                 "--height", str(px), "--steps", "1", "--fps", "2", "--frames", "1", "--device", "cpu",
                 "--no-cache", "--runs-log", str(work / "runs.jsonl")])


def job_render(px, name):
    settings = RenderSettings(model=model, prompt="a red fox", width=px, height=px, steps=1, fps=2, frames=1,
                              device="cpu", mode="classic")
    request = RenderRequest(Path(audio), work / "out" / f"{name}.mp4", settings, runs_log=work / "runs.jsonl",
                            frames_dir=work / name, use_cache=False)
    return RenderJob(request).run(lambda *args: None, lambda: False).record


loaded = get_pipeline(resolve_model_source(model), resolve_device("cpu"))
if mode == "never":
    assert cli_render(64, work / "warm.mp4") == 0  # every import, thread and first allocation happens here
    base = data_mb()
    cap(base + int(headroom_mb))
    sys.exit(cli_render(size, work / "out" / "never.mp4"))

plain = AttnProcessor()  # all heads' scores at once (the default SDPA kernel never holds them)
loaded.pipe.unet.set_attn_processor(plain)
job_render(64, "warm")
base = data_mb()
cap(base + int(headroom_mb))
capped = job_render(size, "capped")
uncap()
processors_after = {type(p).__name__ for p in loaded.pipe.unet.attn_processors.values()}
loaded.memory_ladder.reset()  # back to the plain processor: the references are made by hand
loaded.pipe.enable_attention_slicing("max")
sliced = job_render(size, "sliced")
loaded.pipe.unet.set_attn_processor(plain)
whole = job_render(size, "whole")
print(json.dumps({"base_mb": base, "capped": capped.memory_fallbacks, "sliced": sliced.memory_fallbacks,
                  "whole": whole.memory_fallbacks, "processors_after": sorted(processors_after)}))
"""


def run_capped(mode: str, model: Path, audio: Path, work: Path, size: int,
               headroom_mb: int) -> subprocess.CompletedProcess[str]:
    (work / "out").mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "131072", "MALLOC_ARENA_MAX": "1", "PYTHONPATH": str(ROOT),
           "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-c", _CAPPED_SCRIPT, mode, str(model), str(audio), str(work), str(size),
                           str(headroom_mb)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def quiet_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One second of silence: with --prompt no speech recogniser is loaded."""
    path = tmp_path_factory.mktemp("quiet") / "quiet.wav"
    sf.write(path, np.zeros(16000, dtype=np.float32), 16000, subtype="PCM_16")
    return path


pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_DATA caps mmap only on Linux")


def test_a_size_that_never_fits_stops_with_one_sentence_and_leaves_nothing(
        tiny_models: tuple[Path, Path, Path], quiet_wav: Path, tmp_path: Path, isolated_home: Path) -> None:
    result = run_capped("never", tiny_models[0], quiet_wav, tmp_path, NEVER_PX, NEVER_HEADROOM_MB)
    assert result.returncode == RenderFailedError.exit_code, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("hear2see:")]
    assert len(errors) == 1 and result.stderr.strip().endswith(errors[0]), result.stderr[-3000:]
    assert errors[0] == (
        "hear2see: The render ran out of memory at 2048x2048 even with attention computed one head at a time: "
        "lower the width/height (to 1536x1536, say) or close other programs."
    )
    assert list((tmp_path / "out").iterdir()) == []  # neither the video nor its hidden part file
    log = (isolated_home / "logs" / "hear2see.log").read_text(encoding="utf-8")
    assert "trying again with attention computed one head at a time" in log  # it did step down first
    assert "can't allocate memory" in log  # and what failed was PyTorch's own allocator


def test_attention_that_does_not_fit_steps_down_to_one_head_at_a_time_and_draws_the_same_picture(
        tiny_models: tuple[Path, Path, Path], quiet_wav: Path, tmp_path: Path) -> None:
    from PIL import Image

    result = run_capped("step-down", tiny_models[0], quiet_wav, tmp_path, STEP_DOWN_PX, STEP_DOWN_HEADROOM_MB)
    assert result.returncode == 0, result.stderr[-3000:]
    measured = json.loads(result.stdout.strip().splitlines()[-1])
    assert measured["capped"] == [ATTENTION_SLICING], measured  # one step down, and the render finished
    assert measured["processors_after"] == ["SlicedAttnProcessor"]  # ...and stays down after it
    assert measured["sliced"] == measured["whole"] == []  # the references never ran out

    def picture(name: str) -> np.ndarray:
        return np.asarray(Image.open(tmp_path / name / "frame_0001.png"), dtype=int)

    capped, sliced, whole = picture("capped"), picture("sliced"), picture("whole")
    assert capped.shape == (STEP_DOWN_PX, STEP_DOWN_PX, 3)
    assert np.abs(capped - sliced).max() <= 1  # the retry is the render that slicing makes...
    assert np.abs(capped - whole).max() <= 2  # ...which is the picture all heads at once make, up to rounding
    assert (tmp_path / "out" / "capped.mp4").is_file()


# --- the ladder's decisions, fed real torch.OutOfMemoryError instances -------------------------------------


def cuda_out_of_memory() -> BaseException:
    import torch

    return torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 7.79 GiB total capacity)")


def run_out() -> None:
    raise MemoryError()


def test_out_of_memory_errors_are_told_from_other_failures() -> None:
    import torch

    try:
        torch.empty(2**50, dtype=torch.uint8)  # a real failure of PyTorch's CPU allocator: 1 PiB
    except RuntimeError as error:
        cpu_failure: BaseException = error
    assert not isinstance(cpu_failure, torch.OutOfMemoryError)  # a plain RuntimeError on the CPU...
    assert is_out_of_memory(cpu_failure)  # ...recognised by its text
    assert is_out_of_memory(cuda_out_of_memory())
    assert is_out_of_memory(MemoryError())
    assert is_out_of_memory(RuntimeError("MPS backend out of memory (MPS allocated: 8.00 GB)"))
    assert not is_out_of_memory(RuntimeError("mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)"))
    assert not is_out_of_memory(ValueError("out of memory"))


@pytest.fixture
def loaded(tiny_models: tuple[Path, Path, Path]):  # noqa: ANN201 - a LoadedPipeline
    """The tiny pipeline, dropped afterwards: the steps down change it, and no later test may inherit them."""
    from hear2see_desktop.core.render.devices import DeviceChoice
    from hear2see_desktop.core.render.model_source import resolve_model_source
    from hear2see_desktop.core.render.pipeline_cache import get_pipeline, release

    release()
    yield get_pipeline(resolve_model_source(str(tiny_models[0])), DeviceChoice("cpu", "float32"))
    release()


def test_a_batch_that_runs_out_is_halved_and_only_the_failed_chunk_runs_again(loaded) -> None:  # noqa: ANN001
    ladder = MemoryLadder(loaded.pipe, loaded.device, 512, 512)
    chunks: list[list[int]] = []

    def unit(chunk: list[int]) -> list[int]:
        chunks.append(chunk)
        if len(chunk) > 2:
            raise cuda_out_of_memory()
        return [item * 10 for item in chunk]

    assert ladder.run_batched(DENOISE, "in-betweens", [1, 2, 3, 4, 5], unit) == [10, 20, 30, 40, 50]
    assert chunks == [[1, 2, 3, 4, 5], [1, 2], [3, 4], [5]]
    assert ladder.steps == ["inbetween_batch_2"] and ladder.batch_size(8) == 2
    chunks.clear()
    assert ladder.run_batched(DENOISE, "in-betweens", [6, 7, 8], unit) == [60, 70, 80]
    assert chunks == [[6, 7], [8]]  # the smaller batch holds for the rest of the render
    assert not ladder.attention_sliced  # a smaller batch was enough


def test_a_single_denoise_that_runs_out_slices_attention_then_gives_up_with_the_size(loaded) -> None:  # noqa: ANN001
    from diffusers.models.attention_processor import SlicedAttnProcessor

    pipe = loaded.pipe
    original = dict(pipe.unet.attn_processors)
    ladder = MemoryLadder(pipe, loaded.device, 768, 640)
    attempts = []

    def unit() -> str:
        attempts.append(type(next(iter(pipe.unet.attn_processors.values()))).__name__)
        if len(attempts) == 1:
            raise cuda_out_of_memory()
        return "latents"

    assert ladder.run(DENOISE, "Image 1/1", unit) == "latents"
    assert attempts == [type(next(iter(original.values()))).__name__, "SlicedAttnProcessor"]
    assert ladder.steps == [ATTENTION_SLICING]
    assert all(isinstance(p, SlicedAttnProcessor) for p in pipe.unet.attn_processors.values())

    def always() -> str:
        raise cuda_out_of_memory()

    with pytest.raises(RenderFailedError) as failure:
        ladder.run(DENOISE, "Image 2/2", always)
    assert str(failure.value) == ("The render ran out of memory at 768x640 even with attention computed one head at "
                                  "a time: lower the width/height (to 576x448, say) or close other programs.")
    ladder.reset()
    assert pipe.unet.attn_processors == original  # the very processors it had (not the library's defaults)


def test_a_decode_that_runs_out_uses_smaller_vae_tiles_one_picture_at_a_time(loaded) -> None:  # noqa: ANN001
    vae = loaded.pipe.vae
    assert vae.use_tiling and vae.tile_sample_min_size == 256 and not vae.use_slicing
    ladder = MemoryLadder(loaded.pipe, loaded.device, 512, 512)
    seen = []

    def decode() -> str:
        seen.append((vae.tile_sample_min_size, vae.use_slicing))
        if len(seen) == 1:
            raise MemoryError()
        return "pictures"

    assert ladder.run(DECODE, "Keyframe 1/3", decode) == "pictures"
    assert seen == [(256, False), (128, True)]
    assert ladder.steps == ["vae_tiles_128"] and not ladder.attention_sliced  # slicing the UNet would not help
    assert not ladder.pictures_cacheable  # other seams than the frame cache's keys promise
    with pytest.raises(RenderFailedError, match="at 512x512 even with the VAE decoding one picture at a time in 128"):
        ladder.run(DECODE, "Keyframe 2/3", run_out)
    ladder.reset()
    assert vae.use_tiling and vae.tile_sample_min_size == 256 and not vae.use_slicing


def test_other_errors_pass_through_without_a_step(loaded) -> None:  # noqa: ANN001
    ladder = MemoryLadder(loaded.pipe, loaded.device, 512, 512)

    def broken() -> None:
        raise RuntimeError("mat1 and mat2 shapes cannot be multiplied")

    with pytest.raises(RuntimeError, match="shapes cannot be multiplied"):
        ladder.run(DENOISE, "Image 1/1", broken)
    assert ladder.steps == []


def test_the_steps_hold_for_renders_of_the_same_size_and_reset_for_another(loaded) -> None:  # noqa: ANN001
    original = dict(loaded.pipe.unet.attn_processors)
    first = ladder_for(loaded, 512, 512, True, "vae")
    first.run(DENOISE, "Image 1/1", lambda: None if first.attention_sliced else run_out())
    assert first.steps == [ATTENTION_SLICING]
    assert ladder_for(loaded, 512, 512, True, "vae") is first  # the next render at this size starts sliced
    other = ladder_for(loaded, 384, 384, True, "vae")
    assert other is not first and other.steps == []
    assert loaded.pipe.unet.attn_processors == original  # a new size is back on the fast path


def test_a_smooth_render_splits_its_inbetween_batches_and_records_it(
        loaded, narration_wav: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    from PIL import Image

    from hear2see_desktop.core.render import sequence

    settings = RenderSettings(model=str(loaded.source.path), width=64, height=64, steps=4, fps=6, seed=3,
                              device="cpu", mode="smooth", keyframe_interval_s=1.0, reactivity=0.0,
                              scheduler="euler-a", transition_s=None)  # whole-segment transitions: many in-betweens

    words = [Word("A", 0.1, 0.2, 1.0), Word("red", 0.2, 0.4, 1.0), Word("fox", 0.4, 0.7, 1.0),
             Word("runs.", 0.7, 1.0, 1.0), Word("It", 1.4, 1.55, 1.0), Word("stops.", 1.55, 1.9, 1.0)]
    fox = Transcript(text=" ".join(w.word for w in words), words=words, engine="given", model="test")

    def render(name: str) -> dict:
        request = RenderRequest(narration_wav, tmp_path / f"{name}.mp4", settings, transcript=fox,
                                runs_log=tmp_path / "runs.jsonl", cache_dir=tmp_path / name)
        return RenderJob(request).run(no_progress, never_cancelled).record

    alone = render("alone")
    assert alone.memory_fallbacks == []
    monkeypatch.setattr(sequence, "CPU_BATCH", 4)
    batches: list[int] = []

    def at_most_two(module: object, args: tuple, kwargs: dict) -> None:
        sample = args[0] if args else kwargs["sample"]
        batches.append(int(sample.shape[0]))
        if sample.shape[0] > 2:
            raise cuda_out_of_memory()

    hook = loaded.pipe.unet.register_forward_pre_hook(at_most_two, with_kwargs=True)
    try:
        split = render("split")
    finally:
        hook.remove()
    assert any(size > 2 for size in batches) and split.memory_fallbacks[0] == "inbetween_batch_2"
    pictures = sorted(p.relative_to(tmp_path / "alone") for p in (tmp_path / "alone").rglob("*.png"))
    assert len(pictures) > alone.keyframes
    for name in pictures:  # every keyframe and in-between, as the frame cache holds them losslessly
        a = np.asarray(Image.open(tmp_path / "alone" / name), dtype=int)
        b = np.asarray(Image.open(tmp_path / "split" / name), dtype=int)
        assert np.abs(a - b).max() <= 2, name


def test_a_render_that_never_fits_leaves_no_output_and_no_record(
        loaded, quiet_wav: Path, tmp_path: Path) -> None:  # noqa: ANN001
    out = tmp_path / "out"
    out.mkdir()
    settings = RenderSettings(model=str(loaded.source.path), prompt="a red fox", width=96, height=64, steps=2,
                              fps=2, frames=1, device="cpu", mode="classic")

    def no_memory(module: object, args: tuple, kwargs: dict) -> None:
        raise cuda_out_of_memory()

    hook = loaded.pipe.unet.register_forward_pre_hook(no_memory, with_kwargs=True)
    try:
        with pytest.raises(RenderFailedError, match=r"^The render ran out of memory at 96x64 even with attention"):
            RenderJob(RenderRequest(quiet_wav, out / "v.mp4", replace(settings), runs_log=tmp_path / "runs.jsonl",
                                    use_cache=False)).run(no_progress, never_cancelled)
    finally:
        hook.remove()
    assert list(out.iterdir()) == [] and not (tmp_path / "runs.jsonl").exists()


def test_an_animate_clip_that_runs_out_denoises_its_frames_a_few_at_a_time_then_slices_attention(
        loaded, tiny_motion_models: tuple[Path, Path]) -> None:  # noqa: ANN001
    import torch
    from diffusers.models.attention_processor import SlicedAttnProcessor
    from diffusers.pipelines.free_noise_utils import SplitInferenceModule

    from hear2see_desktop.core.render.memory_ladder import SPLIT_INFERENCE
    from hear2see_desktop.core.render.motion_pipeline import animate_pipeline
    from hear2see_desktop.core.render.motion_source import motion_shape, resolve_motion_source

    source = resolve_motion_source(str(tiny_motion_models[0]))
    animate = animate_pipeline(loaded, source, motion_shape(source))
    ladder = ladder_for(loaded, 64, 64, True, "vae", animate)
    assert ladder.motion_pipe is animate

    def clip() -> Any:
        ladder.enable_free_noise(animate, context_length=16, context_stride=4)
        with torch.inference_mode():
            return animate(prompt="a red fox in the snow", num_frames=20, num_inference_steps=2, width=64, height=64,
                           generator=torch.Generator().manual_seed(5), output_type="latent").frames

    plain = clip()
    attempts: list[bool] = []

    def unit() -> Any:
        attempts.append(any(isinstance(m, SplitInferenceModule) for m in animate.unet.modules()))
        if len(attempts) == 1:
            raise cuda_out_of_memory()
        return clip()

    split = ladder.run(DENOISE, "Animation of 20 frames", unit)
    assert attempts == [False, True] and ladder.steps == [SPLIT_INFERENCE]
    assert torch.allclose(split, plain, atol=1e-4), "the same clip, a few frames at a time"
    with pytest.raises(RenderFailedError, match="even with the clip's frames denoised a few at a time and attention"):
        ladder.run(DENOISE, "Animation of 20 frames", lambda: (_ for _ in ()).throw(cuda_out_of_memory()))
    assert ladder.steps == [SPLIT_INFERENCE, ATTENTION_SLICING]
    assert all(isinstance(p, SlicedAttnProcessor) for p in animate.unet.attn_processors.values())

    # A classic render of the same size is another ladder: the model's own UNet, which shares its spatial layers
    # with the clip's, is back on the fast path.
    classic = ladder_for(loaded, 64, 64, True, "vae")
    assert classic is not ladder and not classic.steps
    for unet in (loaded.pipe.unet, animate.unet):
        assert not any(isinstance(m, SplitInferenceModule) for m in unet.modules())
        assert not any(isinstance(p, SlicedAttnProcessor) for p in unet.attn_processors.values())
    assert torch.allclose(clip(), plain, atol=1e-6)
