"""The render job end to end on the tiny pipeline: real diffusers, real ASR, real ffmpeg."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from hear2see_desktop.core.errors import BadInputError, CancelledError, ModelMissingError
from hear2see_desktop.core.jobs import never_cancelled, no_progress
from hear2see_desktop.core.render import pipeline_cache
from hear2see_desktop.core.render.events import DenoiseStep, RenderEvents
from hear2see_desktop.core.render_job import RenderJob, RenderRequest, replay_request
from hear2see_desktop.core.run_record import RunRecord
from hear2see_desktop.core.runlog import read_log
from hear2see_desktop.core.settings import LoraSpec, RenderSettings
from hear2see_desktop.core.transcript import Transcript, Word
from hear2see_desktop.core.video import probe_video, read_frames

FOX = Transcript(
    text="A red fox runs through the snowy forest at dawn.",
    words=[Word("a", 0.1, 0.2, 1.0), Word("red", 0.2, 0.4, 1.0), Word("fox", 0.4, 0.7, 1.0)],
    engine="given",
    model="test",
)


def tiny_settings(model: Path, **changes: object) -> RenderSettings:
    base = RenderSettings(model=str(model), width=64, height=64, steps=2, fps=4, seed=7, device="cpu")
    return replace(base, **changes)


def decoded(path: Path) -> list[np.ndarray]:
    return list(read_frames(path))


def test_narration_becomes_an_mp4_that_lasts_as_long_as_the_speech(
    tiny_models: tuple[Path, Path, Path], narration_wav: Path, tmp_path: Path
) -> None:
    out = tmp_path / "fox.mp4"
    previews: list[np.ndarray] = []

    def progress(done: int, total: int, message: str, preview: np.ndarray | None = None) -> None:
        if preview is not None:
            previews.append(preview)

    request = RenderRequest(narration_wav, out, tiny_settings(tiny_models[0]), runs_log=tmp_path / "runs.jsonl")
    steps: list[DenoiseStep] = []
    plans: list[list[float]] = []
    result = RenderJob(request, RenderEvents(plan=plans.append, step=steps.append)).run(progress, never_cancelled)

    info = probe_video(out)
    record = result.record
    assert info.codec == "h264" and info.pix_fmt == "yuv420p"
    assert info.has_audio
    assert info.frame_count == record.output_frames == record.frames
    assert abs(info.duration_s - record.audio.duration_s) <= 1 / 4 + 0.05
    # Real ASR ran (the embedded Whisper engine: no Vosk model in this HEAR2SEE_HOME).
    assert record.transcript.engine == "whisper"
    assert "fox" in record.transcript.text.lower()
    assert "fox" in record.prompt
    assert record.negative_prompt
    # One preview per denoising step, each an RGB image of the latent size.
    assert len(previews) == record.frames * 2
    assert previews[0].ndim == 3 and previews[0].shape[2] == 3 and previews[0].dtype == np.uint8
    # The same steps as typed events: which image each belongs to, its step, and the same preview.
    assert [(s.image, s.step, s.steps) for s in steps] == [(i, k, 2) for i in range(record.frames) for k in (1, 2)]
    assert all(np.array_equal(s.preview, p) for s, p in zip(steps, previews, strict=True))
    assert len(plans) == 1 and len(plans[0]) == record.frames and plans[0][0] == 0.0
    assert record.seeds == [7 + i for i in range(record.frames)]
    assert record.unet_evaluations == record.frames * 2 * 2  # steps x CFG pair
    assert set(record.timings_s) >= {"audio_s", "asr_s", "prompt_s", "model_load_s", "render_s", "total_s"}
    # The log's line is the record's JSON, and reads back as the same typed record.
    logged = read_log(tmp_path / "runs.jsonl").records[-1]
    assert logged["id"] == result.run_id and logged == json.loads(json.dumps(record.to_dict()))
    assert RunRecord.from_dict(logged) == record


def test_frames_flag_holds_few_images_evenly_across_the_clip(
    tiny_models: tuple[Path, Path, Path], narration_wav: Path, tmp_path: Path
) -> None:
    out = tmp_path / "two.mp4"
    request = RenderRequest(narration_wav, out, tiny_settings(tiny_models[0], frames=2), transcript=FOX,
                            runs_log=tmp_path / "runs.jsonl", frames_dir=tmp_path / "pngs")
    shown: list[tuple[int, float]] = []
    record = RenderJob(request, RenderEvents(image=lambda i, t, rgb: shown.append((i, t)))).run(
        no_progress, never_cancelled).record
    frames = decoded(out)
    assert record.frames == 2 and len(frames) == record.output_frames > 2
    # Each distinct image is handed out with the time it first shows, and kept as a PNG.
    assert shown == [(0, 0.0), (1, (record.output_frames // 2) / 4)]
    assert sorted(p.name for p in (tmp_path / "pngs").iterdir()) == ["frame_0001.png", "frame_0002.png"]
    half = len(frames) // 2
    # Within a held image the encoded frames barely differ; across the cut they change a lot.
    assert np.abs(frames[0].astype(int) - frames[half - 1].astype(int)).mean() < 3
    assert np.abs(frames[half - 1].astype(int) - frames[-1].astype(int)).mean() > 3


def test_single_file_checkpoint_renders_the_same_frames_as_the_folder(
    tiny_models: tuple[Path, Path, Path], narration_wav: Path, tmp_path: Path
) -> None:
    folder, single_file, config_dir = tiny_models
    outputs = []
    for name, settings in (
        ("folder.mp4", tiny_settings(folder, frames=2)),
        ("file.mp4", tiny_settings(single_file, model_config=str(config_dir), frames=2)),
    ):
        request = RenderRequest(narration_wav, tmp_path / name, settings, transcript=FOX,
                                runs_log=tmp_path / "runs.jsonl")
        outputs.append(RenderJob(request).run(no_progress, never_cancelled).record)
    assert outputs[1].model.kind == "single_file"
    assert outputs[0].output.sha256 == outputs[1].output.sha256


def test_replay_renders_identical_frames(tiny_models: tuple[Path, Path, Path], narration_wav: Path,
                                         tmp_path: Path) -> None:
    log = tmp_path / "runs.jsonl"
    first = RenderJob(RenderRequest(narration_wav, tmp_path / "a.mp4", tiny_settings(tiny_models[0], frames=3),
                                    transcript=FOX, runs_log=log)).run(no_progress, never_cancelled)
    request = replay_request(first.record, tmp_path / "b.mp4", log)
    request.use_cache = False  # render every image again: the replay itself must be exact
    again = RenderJob(request).run(no_progress, never_cancelled)
    assert again.record.unet_evaluations == first.record.unet_evaluations
    assert again.record.replay_of == first.run_id
    assert again.record.settings == first.record.settings
    pairs = zip(decoded(tmp_path / "a.mp4"), decoded(tmp_path / "b.mp4"), strict=True)
    assert all(np.array_equal(a, b) for a, b in pairs)


def test_a_second_render_reuses_the_loaded_model(tiny_models: tuple[Path, Path, Path], narration_wav: Path,
                                                 tmp_path: Path) -> None:
    settings = tiny_settings(tiny_models[0], frames=1)
    RenderJob(RenderRequest(narration_wav, tmp_path / "1.mp4", settings, transcript=FOX,
                            runs_log=tmp_path / "r.jsonl")).run(no_progress, never_cancelled)
    loads = pipeline_cache.load_count
    RenderJob(RenderRequest(narration_wav, tmp_path / "2.mp4", replace(settings, seed=99), transcript=FOX,
                            runs_log=tmp_path / "r.jsonl")).run(no_progress, never_cancelled)
    assert pipeline_cache.load_count == loads


def test_cancel_mid_render_leaves_no_output_and_no_record(tiny_models: tuple[Path, Path, Path],
                                                         narration_wav: Path, tmp_path: Path) -> None:
    steps_seen = 0

    def progress(done: int, total: int, message: str, preview: np.ndarray | None = None) -> None:
        nonlocal steps_seen
        steps_seen += preview is not None

    out_dir = tmp_path / "out"
    out_dir.mkdir()
    request = RenderRequest(narration_wav, out_dir / "cut.mp4", tiny_settings(tiny_models[0], frames=4),
                            transcript=FOX, runs_log=tmp_path / "runs.jsonl")
    with pytest.raises(CancelledError):
        RenderJob(request).run(progress, lambda: steps_seen >= 3)
    assert steps_seen == 3  # stopped within the step that saw the request
    assert list(out_dir.iterdir()) == []
    assert not (tmp_path / "runs.jsonl").exists()


def test_a_lora_changes_the_picture_and_its_weight_matters(tiny_models: tuple[Path, Path, Path],
                                                          narration_wav: Path, tmp_path: Path) -> None:
    from tests.tiny_lora import save_tiny_lora

    lora = save_tiny_lora(tiny_models[0], tmp_path / "lora")
    shas = []
    for weight in (None, 1.0, 0.3, None):
        loras = [] if weight is None else [LoraSpec(str(lora), weight)]
        settings = tiny_settings(tiny_models[0], frames=1, loras=loras)
        record = RenderJob(RenderRequest(narration_wav, tmp_path / f"{len(shas)}.mp4", settings, transcript=FOX,
                                         runs_log=tmp_path / "r.jsonl", use_cache=False)
                           ).run(no_progress, never_cancelled).record
        shas.append(record.output.sha256)
        if weight is not None:
            assert record.loras[0].weight == weight and len(record.loras[0].sha256) == 64
    base, strong, weak, base_again = shas
    assert len({base, strong, weak}) == 3
    assert base_again == base  # unloading the LoRA restores the base model exactly


def test_silence_needs_a_prompt(tiny_models: tuple[Path, Path, Path], silence_wav: Path, tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="No speech detected"):
        RenderJob(RenderRequest(silence_wav, tmp_path / "s.mp4", tiny_settings(tiny_models[0], frames=1),
                                runs_log=tmp_path / "r.jsonl")).run(no_progress, never_cancelled)
    assert not (tmp_path / "s.mp4").exists()
    settings = tiny_settings(tiny_models[0], frames=1, prompt="a lighthouse in a storm")
    record = RenderJob(RenderRequest(silence_wav, tmp_path / "s.mp4", settings,
                                     runs_log=tmp_path / "r.jsonl")).run(no_progress, never_cancelled).record
    assert record.prompt == "a lighthouse in a storm"
    assert probe_video(tmp_path / "s.mp4").frame_count == 80


def test_a_missing_hub_model_says_where_it_looked(narration_wav: Path, tmp_path: Path) -> None:
    request = RenderRequest(narration_wav, tmp_path / "m.mp4", RenderSettings(device="cpu"), transcript=FOX)
    with pytest.raises(ModelMissingError) as caught:
        RenderJob(request).run(no_progress, never_cancelled)
    assert "'stable-diffusion-v1-5/stable-diffusion-v1-5' is not on this machine" in str(caught.value)
    assert "hear2see models download sd15" in str(caught.value)
    assert not (tmp_path / "m.mp4").exists()


@pytest.mark.parametrize("scheduler", ["euler-a", "ddim", "lcm"])
def test_every_scheduler_renders(tiny_models: tuple[Path, Path, Path], narration_wav: Path, tmp_path: Path,
                                 scheduler: str) -> None:
    settings = tiny_settings(tiny_models[0], frames=1, scheduler=scheduler)
    record = RenderJob(RenderRequest(narration_wav, tmp_path / "x.mp4", settings, transcript=FOX,
                                     runs_log=tmp_path / "r.jsonl")).run(no_progress, never_cancelled).record
    assert record.scheduler == scheduler
