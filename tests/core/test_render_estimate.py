"""The render time estimate: the work it counts is the work a render does, its unit costs come from renders on
this machine (rough before the first), and the first-run defaults fit the device."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from hear2see_desktop.core import paths
from hear2see_desktop.core.jobs import never_cancelled, no_progress
from hear2see_desktop.core.render_estimate import LONG_RENDER_S, RenderEstimate, estimate_work, format_duration
from hear2see_desktop.core.render_job import RenderJob, RenderRequest
from hear2see_desktop.core.render_work import RenderWork, plan_work
from hear2see_desktop.core.settings import RenderSettings
from hear2see_desktop.core.storyboard.board import Scene, Storyboard
from hear2see_desktop.core.transcript import Transcript, Word
from hear2see_desktop.core.unit_costs import ROUGH_SAMPLE_S, load_costs, record_sample_cost, sample_cost

WORDS = [
    Word("A", 0.10, 0.20, 1.0), Word("red", 0.20, 0.40, 1.0), Word("fox", 0.40, 0.70, 1.0),
    Word("runs.", 0.70, 1.00, 1.0), Word("It", 1.40, 1.55, 1.0), Word("stops", 1.55, 1.90, 1.0),
    Word("at", 1.90, 2.00, 1.0), Word("the", 2.00, 2.10, 1.0), Word("river.", 2.10, 2.60, 1.0),
]
FOX = Transcript(text=" ".join(w.word for w in WORDS), words=WORDS, engine="given", model="test")


def two_scenes(duration_s: float) -> Storyboard:
    return Storyboard(scenes=[Scene(0.0, 1.3, "a red fox runs", "a red fox in a snowy forest"),
                              Scene(1.3, duration_s, "it stops at the river", "a frozen river at night")],
                      duration_s=duration_s)


def render_with_estimate(narration: Path, out: Path, settings: RenderSettings,
                         **request: object) -> tuple[RenderEstimate, object]:
    estimates: list[RenderEstimate] = []
    job = RenderJob(RenderRequest(narration, out, settings, transcript=FOX, runs_log=out.parent / "runs.jsonl",
                                  use_cache=False, **request), on_estimate=estimates.append)
    record = job.run(no_progress, never_cancelled).record
    assert len(estimates) == 1
    return estimates[0], record


@pytest.mark.parametrize("mode", ["classic", "smooth"])
def test_the_estimate_counts_the_unet_samples_the_render_runs(tiny_models: tuple[Path, Path, Path],
                                                              narration_wav: Path, tmp_path: Path, mode: str) -> None:
    from hear2see_desktop.core.audio import load_audio

    duration = load_audio(narration_wav).duration_s
    settings = RenderSettings(model=str(tiny_models[0]), width=64, height=64, steps=4, fps=6, seed=3, device="cpu",
                              mode=mode, frames=4, keyframe_interval_s=1.0, reactivity=0.7)
    estimate, record = render_with_estimate(narration_wav, tmp_path / f"{mode}.mp4", settings,
                                            storyboard=two_scenes(duration))
    assert record.unet_evaluations > 0
    assert estimate.work.unet_samples == record.unet_evaluations
    assert estimate.work.output_frames == record.output_frames
    assert estimate.device == "cpu" and not estimate.calibrated  # a fresh machine: rough until this render
    # The render timed its first steps: the next estimate of this device and size is calibrated.
    kept = load_costs(paths.unit_costs_path())
    assert list(kept) == ["cpu/image/64x64"] and kept["cpu/image/64x64"][0] > 0
    again = estimate_work(estimate.work, "cpu", kept)
    assert again.calibrated and "from earlier renders" in again.words()


def test_the_estimate_counts_an_animate_clip_as_the_render_does(
        tiny_models: tuple[Path, Path, Path], tiny_motion_models: tuple[Path, Path], narration_wav: Path,
        tmp_path: Path) -> None:
    from hear2see_desktop.core.audio import load_audio

    duration = load_audio(narration_wav).duration_s
    settings = RenderSettings(model=str(tiny_models[0]), motion_model=str(tiny_motion_models[0]), width=64,
                              height=64, steps=3, fps=12, seed=3, device="cpu", mode="animate")
    estimate, record = render_with_estimate(narration_wav, tmp_path / "animate.mp4", settings,
                                            storyboard=two_scenes(duration))
    assert estimate.work.motion and estimate.work.unet_samples == record.unet_evaluations
    assert estimate.work.decodes == record.frames
    assert "cpu/motion/64x64" in load_costs(paths.unit_costs_path())


def test_smooth_is_cheaper_than_classic_and_animate_on_a_cpu_above_256_px_is_flagged() -> None:
    board = two_scenes(6.0)
    classic = plan_work(RenderSettings(mode="classic"), 6.0, board)
    smooth = plan_work(RenderSettings(mode="smooth", fps=12), 6.0, board)
    fast = plan_work(RenderSettings(mode="fast", fps=12), 6.0, board)
    assert classic.unet_samples == 48 * 25 * 2  # one image per output frame at 8 fps, 25 steps with CFG
    assert fast.unet_samples < smooth.unet_samples < classic.unet_samples
    assert fast.flow_frames > 0 and smooth.flow_frames == 0
    animate = plan_work(RenderSettings(mode="animate", width=384, height=384), 6.0, board)
    assert estimate_work(animate, "cpu", {}).animate_on_cpu_too_big
    assert not estimate_work(animate, "cuda", {}).animate_on_cpu_too_big
    small = replace(animate, width_px=256, height_px=256)
    assert not estimate_work(small, "cpu", {}).animate_on_cpu_too_big


def test_before_any_render_the_estimate_is_rough_and_says_so() -> None:
    classic = plan_work(RenderSettings(mode="classic"), 6.12, None)
    rough = estimate_work(classic, "cpu", {})
    assert not rough.calibrated and rough.long
    assert rough.words().startswith("About ") and rough.words().endswith("on this CPU (rough until a first render)")
    # The example: 49 images x 25 steps x 2 samples at ~4 s is hours on a 2-core CPU.
    assert rough.seconds > 2 * 3600
    assert estimate_work(classic, "cuda", {}).seconds < rough.seconds / 20


def test_unit_costs_come_from_the_nearest_measured_size_scaled_by_pixels(tmp_path: Path) -> None:
    path = tmp_path / "unit-costs.json"
    for seconds in (1.0, 3.0, 2.0):
        record_sample_cost(path, "cpu", False, 256, 256, seconds)
    costs = load_costs(path)
    assert sample_cost(costs, "cpu", False, 256, 256).seconds == pytest.approx(2.0)  # the median
    assert sample_cost(costs, "cpu", False, 512, 512).seconds == pytest.approx(8.0)
    assert sample_cost(costs, "cpu", False, 512, 512).measured
    rough = sample_cost(costs, "cuda", False, 512, 512)
    assert not rough.measured and rough.seconds == ROUGH_SAMPLE_S["cuda"]
    assert not sample_cost(costs, "cpu", True, 256, 256).measured  # the motion UNet is timed apart
    for seconds in range(1, 10):
        record_sample_cost(path, "cpu", False, 256, 256, float(seconds))
    assert len(load_costs(path)["cpu/image/256x256"]) == 5
    assert not list(tmp_path.glob(".*part*")), "written through a part file that took the final name"


def test_an_unreadable_costs_file_means_rough_estimates_not_an_error(tmp_path: Path) -> None:
    path = tmp_path / "unit-costs.json"
    path.write_text("{not json", encoding="utf-8")
    assert load_costs(path) == {}
    record_sample_cost(path, "cpu", False, 64, 64, 0.5)
    assert json.loads(path.read_text(encoding="utf-8"))["sample_s"] == {"cpu/image/64x64": [0.5]}


@pytest.mark.parametrize(("seconds", "words"), [(3, "3 s"), (42, "45 s"), (600, "10 min"), (1800, "30 min"),
                                                (3 * 3600 + 1200, "3 h 20 min"), (7200, "2 h")])
def test_durations_read_as_a_person_says_them(seconds: float, words: str) -> None:
    assert format_duration(seconds) == words


def test_long_means_above_thirty_minutes() -> None:
    work = RenderWork("classic", 512, 512, 0, 0, 0, 1)
    assert not RenderEstimate(LONG_RENDER_S, "cpu", False, work).long
    assert RenderEstimate(LONG_RENDER_S + 1, "cpu", False, work).long


def test_first_run_defaults_fit_the_device(tiny_models: tuple[Path, Path, Path], tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from hear2see_desktop.core.first_run import first_run_settings
    from tests.core.render.test_draft_models import install_tiny_taesd
    from tests.tiny_lora import save_tiny_lora

    models = tmp_path / "models"
    monkeypatch.setenv("HEAR2SEE_MODELS_DIR", str(models))
    gpu = first_run_settings("cuda")
    assert (gpu.mode, gpu.width, gpu.height, gpu.fps, gpu.decoder) == ("smooth", 512, 512, 12, "vae")
    cpu = first_run_settings("cpu")
    assert (cpu.mode, cpu.width, cpu.height, cpu.decoder, cpu.steps) == ("smooth", 256, 256, "vae", 25)
    install_tiny_taesd(models)
    lora = models / "loras" / "lcm-lora-sdv1-5.safetensors"
    lora.parent.mkdir(parents=True)
    lora.write_bytes(save_tiny_lora(tiny_models[0], tmp_path / "lora").read_bytes())
    drafted = first_run_settings("cpu")
    assert (drafted.mode, drafted.width, drafted.decoder) == ("smooth", 256, "taesd")
    assert (drafted.scheduler, drafted.steps, drafted.cfg) == ("lcm", 4, 1.0) and drafted.loras


def test_the_render_command_prints_the_estimate_before_the_model_loads(
        tiny_models: tuple[Path, Path, Path], silence_wav: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    from tests.cli_helpers import run_cli

    out = tmp_path / "lake.mp4"
    code, stdout, err = run_cli(["render", str(silence_wav), "-o", str(out), "--model", str(tiny_models[0]),
                                 "--prompt", "a quiet lake", "--frames", "1", "--steps", "2", "--fps", "2",
                                 "--width", "64", "--height", "64", "--device", "cpu"], capsys)
    assert code == 0 and stdout.strip() == str(out)
    lines = [line for line in err.splitlines() if line.startswith("Estimated render time: ")]
    assert lines == ["Estimated render time: About 20 s on this CPU (rough until a first render)."]
    assert err.index("Estimated render time") < err.index("Loading the model")
    # 512 px classic at 8 fps over 20 s: hours on a CPU, so the line names a draft's flags.
    settings = RenderSettings(mode="classic", device="cpu")
    from hear2see_desktop.cli.narration_commands import estimate_line
    from hear2see_desktop.core.render_estimate import estimate_render

    line = estimate_line(estimate_render(settings, 20.0))
    assert "rough until a first render). For a quick draft first: --mode smooth --width 256" in line
