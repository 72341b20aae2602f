"""Animate mode end to end on the tiny pipeline and the tiny motion model: the clip, its prompt travel, its cost,
cancelling, refusals and replay."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from hear2see_desktop.core.audio import load_audio
from hear2see_desktop.core.errors import BadInputError, CancelledError
from hear2see_desktop.core.frame_timing import frame_count
from hear2see_desktop.core.jobs import never_cancelled, no_progress
from hear2see_desktop.core.render import pipeline_cache
from hear2see_desktop.core.render.animate import CONTEXT_FRAMES, clip_timing
from hear2see_desktop.core.render.devices import resolve_device
from hear2see_desktop.core.render.events import NO_EVENTS, DenoiseStep, RenderEvents
from hear2see_desktop.core.render.model_source import resolve_model_source
from hear2see_desktop.core.render.pipeline_cache import get_pipeline
from hear2see_desktop.core.render.weights_hash import weights_sha256
from hear2see_desktop.core.render_job import RenderJob, RenderRequest, replay_request
from hear2see_desktop.core.run_record import RunRecord
from hear2see_desktop.core.settings import RenderSettings
from hear2see_desktop.core.storyboard.board import Scene, Storyboard
from hear2see_desktop.core.transcript import Transcript, Word
from hear2see_desktop.core.video import probe_video, read_frames
from tests.tiny_motion_adapter import save_pickle_motion_file, save_tiny_motion_folder

WORDS = [
    Word("A", 0.10, 0.20, 1.0), Word("red", 0.20, 0.40, 1.0), Word("fox", 0.40, 0.70, 1.0),
    Word("runs.", 0.70, 1.00, 1.0), Word("It", 1.40, 1.55, 1.0), Word("stops", 1.55, 1.90, 1.0),
    Word("at", 1.90, 2.00, 1.0), Word("the", 2.00, 2.10, 1.0), Word("river.", 2.10, 2.60, 1.0),
]
FOX = Transcript(text=" ".join(w.word for w in WORDS), words=WORDS, engine="given", model="test")
STEPS = 2


def animate_settings(model: Path, motion: Path, **changes: Any) -> RenderSettings:
    base = RenderSettings(model=str(model), motion_model=str(motion), width=64, height=64, steps=STEPS, fps=12,
                          seed=3, device="cpu", mode="animate", transition_s=0.0)
    return replace(base, **changes)


def two_scenes(duration_s: float) -> Storyboard:
    return Storyboard(scenes=[Scene(0.0, 1.3, "a red fox runs", "a red fox in a snowy forest"),
                              Scene(1.3, duration_s, "it stops at the river", "a frozen river at night")],
                      duration_s=duration_s)


def render(narration: Path, out: Path, settings: RenderSettings, events: RenderEvents = NO_EVENTS,
           **request: Any) -> RunRecord:
    job = RenderJob(RenderRequest(narration, out, settings, transcript=FOX, runs_log=out.parent / "runs.jsonl",
                                  **request), events)
    return job.run(no_progress, never_cancelled).record


def test_animate_covers_the_narration_at_the_output_rate_with_sound(
        tiny_models: tuple[Path, Path, Path], tiny_motion_models: tuple[Path, Path], narration_wav: Path,
        tmp_path: Path) -> None:
    from diffusers.models.attention import FreeNoiseTransformerBlock

    plan: list[list[float]] = []
    steps: list[DenoiseStep] = []
    images: list[tuple[int, float]] = []
    events = RenderEvents(plan=plan.append, step=steps.append,
                          image=lambda index, time_s, rgb: images.append((index, time_s)))
    out, srt = tmp_path / "animate.mp4", tmp_path / "animate.srt"
    record = render(narration_wav, out, animate_settings(tiny_models[0], tiny_motion_models[0], captions=True),
                    events, srt_path=srt)
    duration = load_audio(narration_wav).duration_s
    timing = clip_timing(duration, 12)
    info = probe_video(out)
    assert info.frame_count == frame_count(duration, 12) == record.output_frames == len(list(read_frames(out)))
    assert info.has_audio and info.codec == "h264" and info.fps == 12.0
    assert srt.is_file() and "fox" in srt.read_text()
    # The motion model renders at 8 frames a second; the video's 12 come from flow in-betweens of those.
    # (just enough native frames that the last output frame lies between two of them)
    last = timing.position(timing.output_frames - 1)
    assert record.mode == "animate" and record.frames == timing.native_frames and last <= record.frames - 1 < last + 1
    assert plan == [[i / 8 for i in range(timing.native_frames)]]
    assert [index for index, _ in images] == list(range(timing.native_frames))
    assert [(s.step, s.steps) for s in steps] == [(1, STEPS), (2, STEPS)]
    assert all(s.preview is not None and s.preview.ndim == 3 and s.preview.shape[2] == 3 for s in steps)
    assert [s.image for s in steps] == [0, 0], "each step previews a scene's first frame (one scene here)"
    # One UNet call per step on the whole clip; each frame of it is a sample, twice with CFG.
    assert record.unet_calls == STEPS
    assert record.unet_evaluations == STEPS * 2 * timing.native_frames
    # The clip is longer than one 16-frame window: FreeNoise's sliding windows cover it.
    assert timing.native_frames > CONTEXT_FRAMES
    loaded = get_pipeline(resolve_model_source(str(tiny_models[0])), resolve_device("cpu"))
    assert loaded.animate is not None
    windows = [b for b in loaded.animate[1].unet.modules() if isinstance(b, FreeNoiseTransformerBlock)]
    assert windows and all((b.context_length, b.context_stride) == (CONTEXT_FRAMES, 4) for b in windows)
    motion = record.motion_model
    assert motion is not None and motion.kind == "diffusers"
    assert motion.sha256 == weights_sha256(tiny_motion_models[0])
    assert RunRecord.from_dict(record.to_dict()).motion_model == motion


def test_a_two_scene_storyboard_travels_to_the_second_prompt_at_its_start(
        tiny_models: tuple[Path, Path, Path], tiny_motion_models: tuple[Path, Path], narration_wav: Path,
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from diffusers import AnimateDiffPipeline

    calls: list[dict[str, Any]] = []
    original = AnimateDiffPipeline.__call__

    def spy(self: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(AnimateDiffPipeline, "__call__", spy)
    duration = load_audio(narration_wav).duration_s
    board = two_scenes(duration)
    render(narration_wav, tmp_path / "travel.mp4", animate_settings(tiny_models[0], tiny_motion_models[0]),
           storyboard=board)
    (call,) = calls
    fox, river = (scene.prompt for scene in board.scenes)
    start = round(1.3 * 8)
    assert call["prompt"] == {0: fox, start - 1: fox, start: river}
    assert min(frame for frame, text in call["prompt"].items() if text == river) == start
    assert call["num_frames"] == clip_timing(duration, 12).native_frames


def test_the_motion_model_moves_the_picture(tiny_models: tuple[Path, Path, Path],
                                            tiny_motion_models: tuple[Path, Path], narration_wav: Path,
                                            tmp_path: Path) -> None:
    """The same render with another motion model gives other frames: the motion layers take part."""
    first = render(narration_wav, tmp_path / "a.mp4", animate_settings(tiny_models[0], tiny_motion_models[0], fps=8))
    other = save_tiny_motion_folder(tmp_path / "other-motion", seed=7)
    second = render(narration_wav, tmp_path / "b.mp4", animate_settings(tiny_models[0], other, fps=8))
    assert first.output_frames == second.output_frames
    a, b = list(read_frames(tmp_path / "a.mp4")), list(read_frames(tmp_path / "b.mp4"))
    assert any(not np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def test_cancel_stops_within_one_step_and_leaves_nothing(tiny_models: tuple[Path, Path, Path],
                                                        tiny_motion_models: tuple[Path, Path], narration_wav: Path,
                                                        tmp_path: Path) -> None:
    steps: list[DenoiseStep] = []
    out = tmp_path / "cut.mp4"
    settings = animate_settings(tiny_models[0], tiny_motion_models[0], steps=6)
    job = RenderJob(RenderRequest(narration_wav, out, settings, transcript=FOX, runs_log=tmp_path / "runs.jsonl"),
                    RenderEvents(step=steps.append))
    with pytest.raises(CancelledError):
        job.run(no_progress, lambda: len(steps) >= 1)  # the user presses Cancel during the first step
    assert [s.step for s in steps] == [1], "the render stopped at the end of the step it was cancelled in"
    assert not out.exists() and not (tmp_path / "runs.jsonl").exists()


def test_replay_renders_the_same_frames(tiny_models: tuple[Path, Path, Path], tiny_motion_models: tuple[Path, Path],
                                        narration_wav: Path, tmp_path: Path) -> None:
    log = tmp_path / "runs.jsonl"
    settings = animate_settings(tiny_models[0], tiny_motion_models[1], transition_s=0.5)  # the single file
    first = render(narration_wav, tmp_path / "a.mp4", settings)
    assert first.motion_model is not None and first.motion_model.kind == "single_file"
    request = replay_request(RunRecord.from_dict(first.to_dict()), tmp_path / "b.mp4", log)
    again = RenderJob(replace(request, use_cache=False)).run(no_progress, never_cancelled).record  # from scratch
    assert again.replay_of == first.id and again.settings == first.settings
    assert again.motion_model == first.motion_model and again.unet_evaluations == first.unet_evaluations
    pairs = list(zip(read_frames(tmp_path / "a.mp4"), read_frames(tmp_path / "b.mp4"), strict=True))
    assert len(pairs) == first.output_frames and all(np.array_equal(a, b) for a, b in pairs)


def test_unfit_and_pickle_motion_models_are_refused_before_anything_renders(
        tiny_models: tuple[Path, Path, Path], narration_wav: Path, tmp_path: Path) -> None:
    messages: list[str] = []

    def progress(done: int, total: int, message: str, preview: Any = None) -> None:
        messages.append(message)

    loads = pipeline_cache.load_count
    for motion, words in ((save_tiny_motion_folder(tmp_path / "sdxl-like", channels=(64, 128)), "does not fit"),
                          (save_pickle_motion_file(tmp_path / "mm.ckpt"), "pickle-based")):
        job = RenderJob(RenderRequest(narration_wav, tmp_path / "o.mp4", animate_settings(tiny_models[0], motion),
                                      transcript=FOX))
        with pytest.raises(BadInputError, match=words) as caught:
            job.run(progress, never_cancelled)
        assert "\n" not in str(caught.value)
    assert messages == [] and pipeline_cache.load_count == loads
    assert not (tmp_path / "o.mp4").exists()


def test_the_sound_paces_the_prompt_travel_and_onsets_punch_the_picture_in(
        tiny_models: tuple[Path, Path, Path], tiny_motion_models: tuple[Path, Path], narration_wav: Path,
        tmp_path: Path) -> None:
    from hear2see_desktop.core.motion.reactive import audio_envelope, pulses

    audio = load_audio(narration_wav)
    board = Storyboard(scenes=[Scene(0.0, audio.duration_s, "a red fox runs", "a red fox in a snowy forest")],
                       duration_s=audio.duration_s)  # one prompt: no travel, so only the pulses tell the two apart
    still = render(narration_wav, tmp_path / "still.mp4",
                   animate_settings(tiny_models[0], tiny_motion_models[0], reactivity=0.0), storyboard=board)
    paced = render(narration_wav, tmp_path / "paced.mp4",
                   animate_settings(tiny_models[0], tiny_motion_models[0], reactivity=1.0), storyboard=board)
    pulse = pulses(audio_envelope(audio.samples, audio.sample_rate_hz, 12, paced.output_frames))
    assert pulse.max() > 0 and (pulse == 0).sum() > 0, "the narration has onsets and quiet frames"
    differences = [np.abs(a.astype(int) - b.astype(int)).mean() for a, b in
                   zip(read_frames(tmp_path / "still.mp4"), read_frames(tmp_path / "paced.mp4"), strict=True)]
    assert len(differences) == still.output_frames == paced.output_frames
    peaks = [d for d, p in zip(differences, pulse, strict=True) if p == 1.0]
    calm = [d for d, p in zip(differences, pulse, strict=True) if p == 0]
    # Only the frames on an onset's pulse changed; the others differ by the encoder's noise around them.
    assert peaks and min(peaks) > max(calm) and np.mean(peaks) > 3 * np.mean(calm)

    loaded = get_pipeline(resolve_model_source(str(tiny_models[0])), resolve_device("cpu"))
    assert loaded.animate is not None
    travel = loaded.animate[1]._free_noise_prompt_interpolation_callback
    assert travel.__qualname__ == "paced_travel.<locals>.blend", "the sound paces the travel across cuts"
    schedule = loaded.animate[1].scheduler.config  # the one the motion modules were trained on
    assert (schedule.beta_schedule, schedule.clip_sample, schedule.timestep_spacing) == ("linear", False, "linspace")
    assert loaded.pipe.scheduler.config.beta_schedule == "scaled_linear", "the model's own is left alone"


def test_a_run_logged_by_animates_first_release_replays_as_it_was_made(
        tiny_models: tuple[Path, Path, Path], tiny_motion_models: tuple[Path, Path], narration_wav: Path,
        tmp_path: Path) -> None:
    from hear2see_desktop.core.settings import from_logged_run

    record = render(narration_wav, tmp_path / "old.mp4",
                    animate_settings(tiny_models[0], tiny_motion_models[0], animate_version=1, reactivity=0.5))
    logged = record.to_dict()
    del logged["settings"]["animate_version"]  # as animate's first release wrote it
    assert from_logged_run(logged["settings"]).animate_version == 1
    request = replay_request(RunRecord.from_dict(logged), tmp_path / "again.mp4", tmp_path / "runs.jsonl")
    assert RenderJob(replace(request, use_cache=False)).run(no_progress, never_cancelled).record.unet_calls == STEPS
    loaded = get_pipeline(resolve_model_source(str(tiny_models[0])), resolve_device("cpu"))
    assert loaded.animate is not None
    assert loaded.animate[1]._free_noise_prompt_interpolation_callback.__name__ == "_lerp"
    assert loaded.animate[1].scheduler.config.beta_schedule == "scaled_linear"
    pairs = list(zip(read_frames(tmp_path / "old.mp4"), read_frames(tmp_path / "again.mp4"), strict=True))
    assert all(np.array_equal(a, b) for a, b in pairs)


def test_a_cached_clip_renders_again_without_the_unet_and_a_cancelled_decode_resumes(
        tiny_models: tuple[Path, Path, Path], tiny_motion_models: tuple[Path, Path], narration_wav: Path,
        tmp_path: Path) -> None:
    settings = animate_settings(tiny_models[0], tiny_motion_models[0])
    decoding: list[str] = []

    def progress(done: int, total: int, message: str, preview: Any = None) -> None:
        if message.startswith("Decoding frame"):
            decoding.append(message)

    job = RenderJob(RenderRequest(narration_wav, tmp_path / "cut.mp4", settings, transcript=FOX,
                                  runs_log=tmp_path / "runs.jsonl"))
    with pytest.raises(CancelledError):  # cancelled after the clip's first frames were decoded
        job.run(progress, lambda: bool(decoding))
    assert len(decoding) == 1 and not (tmp_path / "cut.mp4").exists()

    resumed = render(narration_wav, tmp_path / "resumed.mp4", settings)
    assert resumed.unet_evaluations == 0 and resumed.unet_calls == 0, "the clip's latents were kept"
    assert resumed.frame_cache["hits"] >= 2  # the clip, and the frames decoded before the cancel
    again = render(narration_wav, tmp_path / "again.mp4", settings)
    assert again.unet_evaluations == 0 and again.frame_cache["misses"] == 0, "every frame came from the cache"
    fresh = RenderJob(RenderRequest(narration_wav, tmp_path / "fresh.mp4", settings, transcript=FOX,
                                    runs_log=tmp_path / "runs.jsonl", use_cache=False)).run(
        no_progress, never_cancelled).record
    assert fresh.unet_evaluations > 0
    for name in ("resumed.mp4", "again.mp4"):
        pairs = list(zip(read_frames(tmp_path / "fresh.mp4"), read_frames(tmp_path / name), strict=True))
        assert len(pairs) == fresh.output_frames and all(np.array_equal(a, b) for a, b in pairs), name
    other = render(narration_wav, tmp_path / "other.mp4", replace(settings, seed=4))
    assert other.unet_evaluations > 0, "another seed is another clip"
