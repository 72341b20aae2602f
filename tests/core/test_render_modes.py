"""The smooth and fast modes, the frame cache and subtitles, end to end on the tiny pipeline."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from hear2see_desktop.core.audio import load_audio
from hear2see_desktop.core.errors import BadInputError, CancelledError
from hear2see_desktop.core.frame_timing import frame_count
from hear2see_desktop.core.jobs import never_cancelled, no_progress
from hear2see_desktop.core.render.events import DenoiseStep, RenderEvents
from hear2see_desktop.core.render_job import RenderJob, RenderRequest, replay_request
from hear2see_desktop.core.settings import RenderSettings
from hear2see_desktop.core.storyboard.board import Scene, Storyboard
from hear2see_desktop.core.transcript import Transcript, Word
from hear2see_desktop.core.video import probe_video, read_frames

WORDS = [
    Word("A", 0.10, 0.20, 1.0), Word("red", 0.20, 0.40, 1.0), Word("fox", 0.40, 0.70, 1.0),
    Word("runs.", 0.70, 1.00, 1.0), Word("It", 1.40, 1.55, 1.0), Word("stops", 1.55, 1.90, 1.0),
    Word("at", 1.90, 2.00, 1.0), Word("the", 2.00, 2.10, 1.0), Word("river.", 2.10, 2.60, 1.0),
]
FOX = Transcript(text=" ".join(w.word for w in WORDS), words=WORDS, engine="given", model="test")


def tiny_settings(model: Path, **changes: object) -> RenderSettings:
    base = RenderSettings(model=str(model), width=64, height=64, steps=4, fps=12, seed=3, device="cpu",
                          mode="smooth", keyframe_interval_s=1.0, reactivity=0.5)
    return replace(base, **changes)


def three_scenes(duration_s: float, middle: str = "a frozen river at night") -> Storyboard:
    cut_1, cut_2 = round(duration_s / 3, 3), round(2 * duration_s / 3, 3)
    return Storyboard(
        scenes=[
            Scene(0.0, cut_1, "a red fox runs", "a red fox in a snowy forest"),
            Scene(cut_1, cut_2, "it stops at the river", middle),
            Scene(cut_2, duration_s, "the end", "a red fox on the ice at dawn"),
        ],
        duration_s=duration_s,
    )


def render(narration: Path, out: Path, settings: RenderSettings, images: dict | None = None,
           **request: object) -> dict:
    """Render and return the run record; `images` collects the keyframes (index -> RGB) as they finish."""

    def keep(index: int, time_s: float, rgb: np.ndarray) -> None:
        if images is not None:
            images[index] = rgb

    job = RenderJob(RenderRequest(narration, out, settings, transcript=FOX, runs_log=out.parent / "runs.jsonl",
                                  **request), RenderEvents(image=keep))
    return job.run(no_progress, never_cancelled).record


def frames_of(path: Path) -> list[np.ndarray]:
    return list(read_frames(path))


@pytest.mark.parametrize("mode", ["smooth", "fast"])
def test_each_mode_covers_the_narration_at_the_output_rate(tiny_models: tuple[Path, Path, Path],
                                                           narration_wav: Path, tmp_path: Path, mode: str) -> None:
    keyframes_seen: list[tuple[int, float]] = []
    steps: list[DenoiseStep] = []
    out = tmp_path / f"{mode}.mp4"
    events = RenderEvents(step=steps.append, image=lambda index, time_s, rgb: keyframes_seen.append((index, time_s)))
    job = RenderJob(RenderRequest(narration_wav, out, tiny_settings(tiny_models[0], mode=mode), transcript=FOX,
                                  runs_log=tmp_path / "runs.jsonl"), events)
    record = job.run(no_progress, never_cancelled).record
    duration = load_audio(narration_wav).duration_s
    info = probe_video(out)
    assert info.frame_count == frame_count(duration, 12) == record.output_frames
    assert info.has_audio and info.codec == "h264"
    assert record.mode == mode and record.storyboard.scenes
    assert record.keyframes == len(keyframes_seen) >= 2
    assert [i for i, _ in keyframes_seen] == list(range(record.keyframes))
    # Each keyframe's 4 steps come as typed events with its index and a preview; in-betweens' steps (smooth
    # only) with neither.
    keyframe_steps = [(s.image, s.step) for s in steps if s.image is not None]
    assert keyframe_steps == [(k, step) for k in range(record.keyframes) for step in range(1, 5)]
    assert all(s.preview is not None for s in steps if s.image is not None)
    inbetween_steps = [s for s in steps if s.image is None]
    assert all(s.preview is None for s in inbetween_steps)
    assert (len(inbetween_steps) > 0) == (mode == "smooth")
    # Keyframes are the only full renders; smooth adds partial in-betweens, fast adds none.
    keyframe_evals = record.keyframes * 4 * 2  # steps x CFG batch
    if mode == "fast":
        assert record.unet_evaluations == keyframe_evals
    else:
        assert keyframe_evals < record.unet_evaluations < record.output_frames * 4 * 2


def test_smooth_and_fast_need_fewer_unet_evaluations_per_second_than_classic(
        tiny_models: tuple[Path, Path, Path], narration_wav: Path, tmp_path: Path) -> None:
    classic = render(narration_wav, tmp_path / "c.mp4", tiny_settings(tiny_models[0], mode="classic", fps=6,
                                                                      steps=8))
    smooth = render(narration_wav, tmp_path / "s.mp4", tiny_settings(tiny_models[0], steps=8, keyframe_interval_s=3))
    fast = render(narration_wav, tmp_path / "f.mp4", tiny_settings(tiny_models[0], mode="fast", steps=8,
                                                                   keyframe_interval_s=3))
    assert fast.unet_evaluations < smooth.unet_evaluations < classic.unet_evaluations


def test_a_rerun_takes_every_frame_from_the_cache(tiny_models: tuple[Path, Path, Path], narration_wav: Path,
                                                  tmp_path: Path) -> None:
    settings = tiny_settings(tiny_models[0])
    first = render(narration_wav, tmp_path / "a.mp4", settings)
    again = render(narration_wav, tmp_path / "b.mp4", settings)
    assert first.unet_evaluations > 0 and again.unet_evaluations == 0
    assert again.frame_cache["hits"] > 0
    pairs = zip(frames_of(tmp_path / "a.mp4"), frames_of(tmp_path / "b.mp4"), strict=True)
    assert all(np.array_equal(a, b) for a, b in pairs)
    fresh = render(narration_wav, tmp_path / "c.mp4", settings, use_cache=False)
    assert fresh.unet_evaluations == first.unet_evaluations


def test_a_cancelled_render_continues_where_it_stopped(tiny_models: tuple[Path, Path, Path], narration_wav: Path,
                                                       tmp_path: Path) -> None:
    settings = tiny_settings(tiny_models[0], mode="classic", fps=4, steps=2)
    full = render(narration_wav, tmp_path / "full.mp4", settings, use_cache=False)
    previews = 0

    def progress(done: int, total: int, message: str, preview: np.ndarray | None = None) -> None:
        nonlocal previews
        previews += preview is not None

    out = tmp_path / "cut.mp4"
    with pytest.raises(CancelledError):
        RenderJob(RenderRequest(narration_wav, out, settings, transcript=FOX)).run(progress, lambda: previews >= 7)
    assert not out.exists()
    resumed = render(narration_wav, out, settings)
    # Three images (2 steps each) were finished before the cancel; only the rest are rendered now.
    assert resumed.frame_cache["hits"] == 3
    assert resumed.unet_evaluations == full.unet_evaluations - 3 * 2 * 2
    assert probe_video(out).frame_count == full.output_frames


def test_editing_one_scene_rerenders_only_its_frames(tiny_models: tuple[Path, Path, Path], narration_wav: Path,
                                                     tmp_path: Path) -> None:
    from hear2see_desktop.core.motion.plan import plan_frames
    from hear2see_desktop.core.render.frames import ScenePrompt
    from hear2see_desktop.core.render.sequence import planned_unet_work

    duration = load_audio(narration_wav).duration_s
    settings = tiny_settings(tiny_models[0], reactivity=0.0)
    board = three_scenes(duration)
    before: dict[int, np.ndarray] = {}
    after: dict[int, np.ndarray] = {}
    first = render(narration_wav, tmp_path / "a.mp4", settings, before, storyboard=board)
    edited = board.with_scene_prompt(1, "a lighthouse in a storm")
    second = render(narration_wav, tmp_path / "b.mp4", settings, after, storyboard=edited)
    assert second.storyboard.scenes[1].prompt == "a lighthouse in a storm"
    assert 0 < second.unet_evaluations < first.unet_evaluations

    # Exactly the keyframes of scene 1 and the transitions that touch them are rendered again.
    plan = plan_frames([(s.start_s, s.end_s) for s in board.scenes], duration, 12, keyframe_interval_s=1.0,
                       transition_s=settings.transition_s, cut_scenes=settings.scene_change == "cut")
    prompts = [ScenePrompt(s.prompt, s.negative_prompt or first.negative_prompt) for s in edited.scenes]
    touched = {k.index for k in plan.keyframes if k.scene == 1}
    full = planned_unet_work(plan, settings, prompts)[1]
    untouched_keyframes = [k for k in plan.keyframes if k.index not in touched]
    kept = len(untouched_keyframes) * settings.steps * 2 + sum(
        _inbetween_samples(plan, settings, prompts, a) for a in range(len(plan.keyframes) - 1)
        if a not in touched and a + 1 not in touched)
    assert second.unet_evaluations == full - kept
    assert all(np.array_equal(before[k.index], after[k.index]) for k in untouched_keyframes)
    assert not any(np.array_equal(before[i], after[i]) for i in touched)


def _inbetween_samples(plan: object, settings: RenderSettings, prompts: list, a: int) -> int:
    from hear2see_desktop.core.render.sequence import inbetween_cost, inbetween_strength

    keyframes = plan.keyframes  # type: ignore[attr-defined]
    change = prompts[keyframes[a].scene] != prompts[keyframes[a + 1].scene]
    return sum(inbetween_cost(settings.steps, inbetween_strength(f.t, change, f.pulse), True)[1]
               for f in plan.segment(a) if f.t > 0)  # type: ignore[attr-defined]


def test_pictures_hold_and_only_transitions_cost_in_betweens(tiny_models: tuple[Path, Path, Path],
                                                             narration_wav: Path, tmp_path: Path) -> None:
    settings = tiny_settings(tiny_models[0], reactivity=0.0, keyframe_interval_s=3.0, scene_change="dissolve")
    board = three_scenes(load_audio(narration_wav).duration_s)
    cut = render(narration_wav, tmp_path / "cut.mp4", replace(settings, transition_s=0.0), use_cache=False,
                 storyboard=board)
    dissolve = render(narration_wav, tmp_path / "dissolve.mp4", settings, use_cache=False, storyboard=board)
    morph = render(narration_wav, tmp_path / "morph.mp4", replace(settings, transition_s=None), use_cache=False,
                   storyboard=board)
    assert cut.keyframes == dissolve.keyframes == 3
    assert cut.unet_evaluations == cut.keyframes * settings.steps * 2, "a cut renders keyframes only"
    assert cut.unet_evaluations < dissolve.unet_evaluations < morph.unet_evaluations
    assert morph.keyframes == dissolve.keyframes + 1, "morphing moves towards a keyframe on the last frame"
    frames = [f.astype(np.int16) for f in frames_of(tmp_path / "cut.mp4")]
    starts = {round(t * 12) for t in cut.keyframe_times_s}
    changes = [int(np.abs(b - a).max()) for a, b in zip(frames, frames[1:], strict=False)]
    held = [c for i, c in enumerate(changes) if i + 1 not in starts]
    assert max(held) <= 8, "between cuts the picture holds (up to the encoder's noise)"
    assert all(changes[s - 1] > 8 for s in starts if s > 0), "and changes on each cut"


def test_reactivity_moves_the_picture_on_the_speech(tiny_models: tuple[Path, Path, Path], narration_wav: Path,
                                                    tmp_path: Path) -> None:
    still = render(narration_wav, tmp_path / "linear.mp4", tiny_settings(tiny_models[0], mode="fast", reactivity=0))
    moving = render(narration_wav, tmp_path / "react.mp4", tiny_settings(tiny_models[0], mode="fast", reactivity=1))
    assert still.keyframe_times_s == moving.keyframe_times_s
    a, b = frames_of(tmp_path / "linear.mp4"), frames_of(tmp_path / "react.mp4")
    assert len(a) == len(b)
    assert any(not np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def test_storyboard_of_another_narration_is_refused(tiny_models: tuple[Path, Path, Path], narration_wav: Path,
                                                    tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="storyboard lasts 30.0 s"):
        render(narration_wav, tmp_path / "x.mp4", tiny_settings(tiny_models[0]), storyboard=three_scenes(30.0))
    assert not (tmp_path / "x.mp4").exists()


def test_subtitles_and_burned_captions(tiny_models: tuple[Path, Path, Path], narration_wav: Path,
                                       tmp_path: Path) -> None:
    import srt

    settings = tiny_settings(tiny_models[0], mode="fast", width=128, height=128)
    plain = render(narration_wav, tmp_path / "plain.mp4", settings)
    record = render(narration_wav, tmp_path / "cap.mp4", replace(settings, captions=True),
                    srt_path=tmp_path / "cap.srt", vtt_path=tmp_path / "cap.vtt")
    cues = list(srt.parse((tmp_path / "cap.srt").read_text(encoding="utf-8")))
    assert cues[0].start.total_seconds() == pytest.approx(0.1, abs=1e-3)
    assert "fox" in cues[0].content
    assert (tmp_path / "cap.vtt").read_text(encoding="utf-8").startswith("WEBVTT")
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
    assert record.subtitles == [str((tmp_path / "cap.srt").resolve()), str((tmp_path / "cap.vtt").resolve())]
    # Captions change the bottom of a frame while a word is spoken, never the top.
    assert plain.unet_evaluations > 0 and record.unet_evaluations == 0  # same pictures, from the cache
    index = int(0.5 * 12)
    without, with_caption = frames_of(tmp_path / "plain.mp4")[index], frames_of(tmp_path / "cap.mp4")[index]
    def white(region: np.ndarray) -> int:  # the caption's letters; the outline around them is dark
        return int((region.min(axis=2) > 220).sum())

    assert white(with_caption[96:]) > 3 * white(without[96:]) + 20
    assert white(with_caption[:48]) <= white(without[:48]) + 5


def test_a_smooth_replay_uses_the_logged_storyboard(tiny_models: tuple[Path, Path, Path], narration_wav: Path,
                                                    tmp_path: Path) -> None:
    duration = load_audio(narration_wav).duration_s
    settings = tiny_settings(tiny_models[0], mode="fast")
    first = render(narration_wav, tmp_path / "a.mp4", settings, storyboard=three_scenes(duration))
    request = replay_request(first, tmp_path / "b.mp4", tmp_path / "runs.jsonl")
    request.use_cache = False
    again = RenderJob(request).run(no_progress, never_cancelled).record
    assert again.storyboard == first.storyboard
    pairs = zip(frames_of(tmp_path / "a.mp4"), frames_of(tmp_path / "b.mp4"), strict=True)
    assert all(np.array_equal(a, b) for a, b in pairs)


def test_guidance_stops_at_guidance_end_of_the_schedule(tiny_models: tuple[Path, Path, Path]) -> None:
    from hear2see_desktop.core.render.denoise import denoise, encode_text, seeded_noise
    from hear2see_desktop.core.render.devices import resolve_device
    from hear2see_desktop.core.render.frames import UNetCounter
    from hear2see_desktop.core.render.model_source import resolve_model_source
    from hear2see_desktop.core.render.pipeline_cache import get_pipeline

    pipe = get_pipeline(resolve_model_source(str(tiny_models[0])), resolve_device("cpu")).pipe
    condition = encode_text(pipe, "a red fox", "blurry", use_cfg=True)
    noise = seeded_noise(5, (1, 4, 8, 8))
    counter = UNetCounter()
    hook = pipe.unet.register_forward_pre_hook(counter, with_kwargs=True)
    try:
        guided_all = denoise(pipe, "euler-a", 4, 7.5, condition, noise, seed=1)
        assert (counter.calls, counter.samples) == (4, 8)
        half = denoise(pipe, "euler-a", 4, 7.5, condition, noise, seed=1, guidance_end=0.5)
        assert (counter.calls, counter.samples) == (8, 8 + 2 * 2 + 2)  # two guided steps, then two unguided
        # A partial denoise counts its steps from the start of the full schedule: the last 2 of 4 are unguided.
        denoise(pipe, "euler-a", 4, 7.5, condition, noise, start=guided_all, strength=0.5, seed=1,
                guidance_end=0.5)
        assert (counter.calls, counter.samples) == (10, 14 + 2)
    finally:
        hook.remove()
    assert not np.allclose(guided_all.numpy(), half.numpy())  # the unguided steps really ran differently


def test_unchanged_scenes_are_not_encoded_again(tiny_models: tuple[Path, Path, Path], narration_wav: Path,
                                                tmp_path: Path) -> None:
    from hear2see_desktop.core.render.devices import resolve_device
    from hear2see_desktop.core.render.model_source import resolve_model_source
    from hear2see_desktop.core.render.pipeline_cache import get_pipeline

    settings = tiny_settings(tiny_models[0], reactivity=0.0)
    board = three_scenes(load_audio(narration_wav).duration_s)
    loaded = get_pipeline(resolve_model_source(str(tiny_models[0])), resolve_device("cpu"))
    loaded.text_conditions.clear()  # earlier tests rendered these prompts with this model
    text_encoder = loaded.pipe.text_encoder
    calls: list[int] = []
    hook = text_encoder.register_forward_pre_hook(lambda module, args: calls.append(1))
    try:
        render(narration_wav, tmp_path / "a.mp4", settings, storyboard=board, use_cache=False)
        assert len(calls) == 3 * 2  # three scenes, each prompt and its negative prompt (CFG)
        calls.clear()
        edited = board.with_scene_prompt(1, "a lighthouse in a storm")
        render(narration_wav, tmp_path / "b.mp4", settings, storyboard=edited, use_cache=False)
        # Only the edited scene is encoded again (its prompt and negative prompt): the others come from the cache.
        assert len(calls) == 2
    finally:
        hook.remove()


def test_batched_inbetweens_match_one_at_a_time(tiny_models: tuple[Path, Path, Path], narration_wav: Path,
                                                tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from PIL import Image

    from hear2see_desktop.core.render import sequence

    # Euler a: per-frame noise; transitions over the whole segment: many in-betweens to batch
    settings = tiny_settings(tiny_models[0], scheduler="euler-a", reactivity=0.0, transition_s=None)
    alone = render(narration_wav, tmp_path / "alone.mp4", settings, cache_dir=tmp_path / "alone")
    monkeypatch.setattr(sequence, "CPU_BATCH", 4)
    together = render(narration_wav, tmp_path / "together.mp4", settings, cache_dir=tmp_path / "together")
    assert together.unet_evaluations == alone.unet_evaluations
    assert together.unet_calls < alone.unet_calls  # several in-betweens per UNet call
    # Every picture, compared losslessly in each render's frame cache (same keys: same inputs).
    pictures = sorted(p.relative_to(tmp_path / "alone") for p in (tmp_path / "alone").rglob("*.png"))
    assert len(pictures) > alone.keyframes + 10  # keyframes and in-betweens
    for name in pictures:
        a = np.asarray(Image.open(tmp_path / "alone" / name), dtype=int)
        b = np.asarray(Image.open(tmp_path / "together" / name), dtype=int)
        assert np.abs(a - b).max() <= 2, name  # the same pictures, up to float rounding in batched kernels


@pytest.mark.parametrize("mode", ["classic", "smooth", "fast"])
def test_a_model_whose_vae_downsamples_by_two_renders_in_every_mode(narration_wav: Path, tmp_path: Path,
                                                                     mode: str) -> None:
    """Latents take their shape from the loaded model, not from SD 1.5's 1/8 (a 2-level VAE: 1/2)."""
    from tests.tiny_pipeline import save_tiny_diffusers

    model = save_tiny_diffusers(tmp_path / "vae-2x", vae_channels=(32, 32))
    out = tmp_path / f"{mode}.mp4"
    record = render(narration_wav, out, tiny_settings(model, mode=mode, fps=4, steps=2))
    frames = frames_of(out)
    assert len(frames) == record.output_frames and frames[0].shape == (64, 64, 3)


def test_a_scene_after_a_cut_starts_from_its_own_noise_and_runs_logged_before_cuts_replay_their_dissolves(
        tiny_models: tuple[Path, Path, Path], narration_wav: Path, tmp_path: Path) -> None:
    from hear2see_desktop.core.render.denoise import denoise, seeded_noise
    from hear2see_desktop.core.render.devices import resolve_device
    from hear2see_desktop.core.render.model_source import resolve_model_source
    from hear2see_desktop.core.render.pipeline_cache import get_pipeline, text_condition
    from hear2see_desktop.core.render.sequence import keyframe_seed
    from hear2see_desktop.core.render.taesd import Decoders
    from hear2see_desktop.core.run_record import RunRecord

    settings = tiny_settings(tiny_models[0], mode="fast", reactivity=0.0, keyframe_interval_s=10.0)
    board = three_scenes(load_audio(narration_wav).duration_s)
    cut_images: dict = {}
    cut = render(narration_wav, tmp_path / "cut.mp4", settings, cut_images, storyboard=board, use_cache=False)
    assert cut.settings.scene_change == "cut" and cut.keyframes == 3
    frame = round(cut.keyframe_times_s[1] * settings.fps)
    assert frame == round(board.scenes[1].start_s * settings.fps), "the second scene's keyframe is on its cut"
    loaded = get_pipeline(resolve_model_source(settings.model), resolve_device("cpu"))
    scene = board.scenes[1]
    variation = keyframe_seed(settings.seed, frame)
    own = denoise(loaded.pipe, settings.scheduler, settings.steps, settings.cfg,
                  text_condition(loaded, scene.prompt, settings.negative_prompt, True),
                  seeded_noise(variation, (1, 4, 8, 8)), seed=variation)
    assert np.array_equal(cut_images[1], Decoders(loaded.pipe).final(loaded.pipe, own)), \
        "drawn from its own noise, as a classic image is, not leaning on the clip's"

    dissolve = render(narration_wav, tmp_path / "dissolve.mp4", replace(settings, scene_change="dissolve"),
                      storyboard=board, use_cache=False)
    older = dissolve.to_dict()
    del older["settings"]["scene_change"]  # a run logged before scenes cut
    request = replay_request(RunRecord.from_dict(older), tmp_path / "again.mp4", tmp_path / "runs.jsonl")
    request.use_cache = False
    RenderJob(request).run(no_progress, never_cancelled)
    again, before = frames_of(tmp_path / "again.mp4"), frames_of(tmp_path / "dissolve.mp4")
    assert len(again) == len(before) and all(np.array_equal(a, b) for a, b in zip(again, before, strict=True))
    assert any(not np.array_equal(a, b) for a, b in zip(frames_of(tmp_path / "cut.mp4"), before, strict=True))
