"""Damaged models and LoRAs at render time: one sentence that names the file and says what to do, never a traceback."""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from hear2see_desktop.core.errors import BadInputError
from hear2see_desktop.core.jobs import never_cancelled
from hear2see_desktop.core.render_job import RenderJob, RenderRequest
from hear2see_desktop.core.settings import LoraSpec, RenderSettings
from tests.cli_helpers import FAST, run_cli

ROOT = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class BadCase:
    """A model (and LoRA) to render with, the file the sentence must name, and the words it must say."""

    model: Path
    named: Path
    words: str
    config: Path | None = None
    lora: Path | None = None
    before_loading: bool = True  # refused from the file headers, before any progress is shown


def half_of(source: Path, target: Path) -> Path:
    data = source.read_bytes()
    target.write_bytes(data[: len(data) // 2])
    return target


@pytest.fixture(scope="module")
def cases(tiny_models: tuple[Path, Path, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, BadCase]:
    from tests.tiny_lora import save_tiny_lora_for_another_model, save_tiny_lora_peft

    diffusers_dir, single_file, config_dir = tiny_models
    root = tmp_path_factory.mktemp("bad-models")
    made: dict[str, BadCase] = {}

    truncated = half_of(single_file, root / "half.safetensors")
    made["truncated checkpoint"] = BadCase(truncated, truncated, "is cut short", config=config_dir)

    noise = root / "noise" / "model.safetensors"
    noise.parent.mkdir()
    noise.write_bytes(np.random.default_rng(0).bytes(200_000))
    made["random bytes named model.safetensors"] = BadCase(noise, noise, "is not a safetensors file",
                                                           config=config_dir)

    no_unet = shutil.copytree(diffusers_dir, root / "no-unet")
    (no_unet / "unet" / "diffusion_pytorch_model.safetensors").unlink()
    made["folder without UNet weights"] = BadCase(no_unet, no_unet, "has no weights for its unet")

    noisy_text = shutil.copytree(diffusers_dir, root / "noisy-text-encoder")
    weights = noisy_text / "text_encoder" / "model.safetensors"
    weights.write_bytes(np.random.default_rng(1).bytes(weights.stat().st_size))
    made["folder with random bytes as text encoder"] = BadCase(noisy_text, weights, "is not a safetensors file")

    other_base = save_tiny_lora_for_another_model(root / "other_base.safetensors", cross_attention_dim=48)
    made["LoRA for another base model"] = BadCase(diffusers_dir, other_base, "was trained for another base model",
                                                  lora=other_base)

    other_sizes = save_tiny_lora_for_another_model(root / "other_sizes.safetensors", block_out_channels=(64, 128))
    made["LoRA with other layer sizes"] = BadCase(diffusers_dir, other_sizes, "its layers have other sizes",
                                                  lora=other_sizes, before_loading=False)

    good_lora = save_tiny_lora_peft(diffusers_dir, root / "good_lora.safetensors")
    cut_lora = half_of(good_lora, root / "cut_lora.safetensors")
    made["truncated LoRA"] = BadCase(diffusers_dir, cut_lora, "is cut short", lora=cut_lora)
    made["LoRA given as the model"] = BadCase(good_lora, good_lora, "holds no UNet weights", config=config_dir)
    return made


@pytest.fixture(scope="module")
def quiet_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One second of silence: with a prompt given, no speech recogniser is loaded."""
    path = tmp_path_factory.mktemp("quiet") / "quiet.wav"
    sf.write(path, np.zeros(16000, dtype=np.float32), 16000, subtype="PCM_16")
    return path


CASES = ["truncated checkpoint", "random bytes named model.safetensors", "folder without UNet weights",
         "folder with random bytes as text encoder", "LoRA for another base model", "LoRA with other layer sizes",
         "truncated LoRA", "LoRA given as the model"]


def check_sentence(sentence: str, case: BadCase) -> None:
    assert case.words in sentence, sentence
    assert str(case.named) in sentence, f"the sentence should name {case.named}: {sentence}"
    assert "\n" not in sentence and sentence.endswith(".")
    assert any(remedy in sentence for remedy in ("download", "copy it again", "use a LoRA", "pass it with loras",
                                                 "pass it with --lora")), sentence


@pytest.mark.parametrize("name", CASES)
def test_the_render_job_refuses_a_bad_model_in_one_sentence(name: str, cases: dict[str, BadCase], quiet_wav: Path,
                                                            tmp_path: Path) -> None:
    case = cases[name]
    settings = RenderSettings(model=str(case.model), model_config=str(case.config) if case.config else None,
                              prompt="a red fox", width=64, height=64, steps=2, fps=4, frames=1, device="cpu",
                              loras=[LoraSpec(str(case.lora))] if case.lora else [])
    shown: list[str] = []
    request = RenderRequest(quiet_wav, tmp_path / "out" / "v.mp4", settings, runs_log=tmp_path / "runs.jsonl")
    (tmp_path / "out").mkdir()
    with pytest.raises(BadInputError) as refused:
        RenderJob(request).run(lambda done, total, message, preview=None: shown.append(message), never_cancelled)
    check_sentence(str(refused.value), case)
    assert (shown == []) == case.before_loading  # header checks answer before the first progress line
    assert list((tmp_path / "out").iterdir()) == [] and not (tmp_path / "runs.jsonl").exists()


@pytest.mark.parametrize("name", CASES)
def test_the_cli_exits_2_with_the_sentence_and_no_traceback(name: str, cases: dict[str, BadCase], quiet_wav: Path,
                                                            tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    case = cases[name]
    args = ["render", str(quiet_wav), "-o", str(tmp_path / "v.mp4"), "--model", str(case.model), "--prompt",
            "a red fox", "--frames", "1", *FAST]
    if case.config:
        args += ["--model-config", str(case.config)]
    if case.lora:
        args += ["--lora", str(case.lora)]
    code, out, err = run_cli(args, capsys)
    assert code == 2 and out == "" and "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines[-1].startswith("hear2see: ") and sum(line.startswith("hear2see:") for line in lines) == 1, err
    check_sentence(lines[-1], case)
    if case.before_loading:
        assert len(lines) == 1, err  # the whole of stderr is the one sentence
    else:  # refused while loading: after the plain progress lines of the stages before (and the time estimate)
        assert all(line.endswith("%)") or line.startswith("Estimated render time: ") for line in lines[:-1]), err
    assert not (tmp_path / "v.mp4").exists()


def test_as_a_command_random_bytes_get_one_line_on_stderr(cases: dict[str, BadCase], quiet_wav: Path,
                                                          tmp_path: Path) -> None:
    case = cases["random bytes named model.safetensors"]
    result = subprocess.run(
        [sys.executable, "-m", "hear2see_desktop", "render", str(quiet_wav), "-o", str(tmp_path / "v.mp4"),
         "--model", str(case.model), "--model-config", str(case.config), "--prompt", "a red fox", *FAST],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 2 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("hear2see: "), result.stderr
    check_sentence(lines[0], case)


def test_loading_directly_checks_the_files_too(cases: dict[str, BadCase]) -> None:
    """Training and the benchmarks load models without the render job: the same sentence, before reading."""
    from hear2see_desktop.core.render.devices import DeviceChoice
    from hear2see_desktop.core.render.model_source import resolve_model_source
    from hear2see_desktop.core.render.pipeline_cache import load_pipeline

    for name in ("truncated checkpoint", "folder without UNet weights"):
        case = cases[name]
        source = resolve_model_source(str(case.model), str(case.config) if case.config else None)
        with pytest.raises(BadInputError) as refused:
            load_pipeline(source, DeviceChoice("cpu", "float32"))
        check_sentence(str(refused.value), case)


def test_a_refused_lora_leaves_the_loaded_model_as_it_was(cases: dict[str, BadCase],
                                                          tiny_models: tuple[Path, Path, Path]) -> None:
    import torch

    from hear2see_desktop.core.render.denoise import decode
    from hear2see_desktop.core.render.devices import DeviceChoice
    from hear2see_desktop.core.render.model_source import resolve_model_source
    from hear2see_desktop.core.render.pipeline_cache import apply_loras, get_pipeline

    loaded = get_pipeline(resolve_model_source(str(tiny_models[0])), DeviceChoice("cpu", "float32"))
    apply_loras(loaded, [])
    latents = torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(0))
    noise = torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(1))
    embeds = torch.zeros(1, 77, 32)

    def unet_out() -> torch.Tensor:
        with torch.inference_mode():
            return loaded.pipe.unet(noise, 10, encoder_hidden_states=embeds, return_dict=False)[0]

    before_unet, before_picture = unet_out(), decode(loaded.pipe, latents)
    for name in ("LoRA with other layer sizes", "LoRA for another base model", "truncated LoRA"):
        with pytest.raises(BadInputError):
            apply_loras(loaded, [LoraSpec(str(cases[name].lora))])
        assert loaded.loras == () and loaded.adapter_names == []
        assert not any(loaded.pipe.get_list_adapters().values())
    assert torch.equal(unet_out(), before_unet) and np.array_equal(decode(loaded.pipe, latents), before_picture)
