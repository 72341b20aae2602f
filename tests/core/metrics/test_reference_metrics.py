"""FVD and IS with known answers: Fréchet arithmetic, Inception Score extremes, tiny TorchScript detectors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy.ndimage import gaussian_filter

from hear2see_desktop.core.audio import SAMPLE_RATE_HZ, Audio
from hear2see_desktop.core.errors import BadInputError, CancelledError
from hear2see_desktop.core.metrics.feature_models import (
    FEATURE_MODELS_ENV_VAR,
    I3D_FILE,
    INCEPTION_FILE,
    feature_model_dirs,
    find_feature_model,
    load_feature_model,
    missing_model_note,
)
from hear2see_desktop.core.metrics.frechet import feature_stats, frechet_between, frechet_distance
from hear2see_desktop.core.metrics.fvd import CLIP_FRAMES, fvd, video_clips
from hear2see_desktop.core.metrics.inception_score import inception_score, inception_scores, split_count
from hear2see_desktop.core.metrics.reference_set import reference_frames, reference_sequences, scan_reference_set
from hear2see_desktop.core.video import VideoWriter
from tests.tiny_feature_models import save_tiny_feature_models


def _texture(size: int = 64, seed: int = 0) -> np.ndarray:
    noise = gaussian_filter(np.random.default_rng(seed).random((size, size)), 3.0)
    noise = (noise - noise.min()) / (noise.max() - noise.min())
    return np.repeat((noise * 255).astype(np.uint8)[:, :, None], 3, axis=2)


def _panning(n_frames: int, seed: int = 0, step_px: int = 1) -> list[np.ndarray]:
    """A smooth texture sliding sideways: a calm, natural-looking clip."""
    base = _texture(seed=seed)
    return [np.roll(base, i * step_px, axis=1) for i in range(n_frames)]


def _strobe(n_frames: int, seed: int = 1) -> list[np.ndarray]:
    """Full-frame coloured noise, new every frame: as unlike `_panning` as a video gets."""
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (64, 64, 3), dtype=np.uint8) for _ in range(n_frames)]


@pytest.fixture(scope="module")
def feature_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_feature_models(tmp_path_factory.mktemp("feature-models"))


@pytest.fixture(scope="module")
def i3d(feature_models: Path) -> object:
    return load_feature_model(feature_models / I3D_FILE)


@pytest.fixture(scope="module")
def inception(feature_models: Path) -> object:
    return load_feature_model(feature_models / INCEPTION_FILE)


# Fréchet distance


def test_identical_statistics_are_zero_apart() -> None:
    features = np.random.default_rng(0).normal(size=(200, 8))
    mu, sigma = feature_stats(features)
    assert frechet_distance(mu, sigma, mu, sigma) == pytest.approx(0.0, abs=1e-6)


def test_shifted_unit_gaussians_are_the_squared_shift_apart() -> None:
    mu = np.array([1.0, -2.0, 0.5, 3.0])
    eye = np.eye(4)
    assert frechet_distance(np.zeros(4), eye, mu, eye) == pytest.approx(float(mu @ mu), abs=1e-9)
    rng = np.random.default_rng(1)
    sampled = frechet_between(rng.normal(size=(20000, 4)), rng.normal(size=(20000, 4)) + mu)
    assert sampled.distance == pytest.approx(float(mu @ mu), rel=0.02)


def test_different_spreads_add_the_trace_term() -> None:
    # N(0, a^2 I) vs N(0, b^2 I) in D dims: D (a - b)^2.
    assert frechet_distance(np.zeros(3), 4.0 * np.eye(3), np.zeros(3), np.eye(3)) == pytest.approx(3.0)


def test_singular_covariances_still_give_a_finite_distance() -> None:
    features = np.random.default_rng(2).normal(size=(3, 32))  # 3 samples, 32 dims: rank 2
    result = frechet_between(features, features)
    assert result.distance is not None and 0.0 <= result.distance < 1e-2


def test_one_sample_gives_a_note_not_nan() -> None:
    result = frechet_between(np.ones((1, 4)), np.random.default_rng(0).normal(size=(10, 4)), unit="clip")
    assert result.distance is None and result.samples == 1 and result.reference_samples == 10
    assert result.note == "the evaluated video gives 1 clip and the covariance needs at least 2"
    with pytest.raises(ValueError, match="at least 2"):
        feature_stats(np.ones((1, 4)))


def test_feature_stats_are_the_unbiased_mean_and_covariance() -> None:
    features = np.random.default_rng(3).normal(size=(50, 5))
    mu, sigma = feature_stats(features)
    assert np.allclose(mu, features.mean(axis=0)) and np.allclose(sigma, np.cov(features, rowvar=False, ddof=1))


# Inception Score


def test_identical_predictions_score_one() -> None:
    probs = np.tile(np.array([0.7, 0.2, 0.1]), (40, 1))
    score, std, splits = inception_score(probs)
    assert score == pytest.approx(1.0) and std == pytest.approx(0.0) and splits == 1


def test_distinct_confident_predictions_score_the_class_count() -> None:
    classes = 10
    score, std, splits = inception_score(np.eye(classes))
    assert score == pytest.approx(classes) and std == 0.0 and splits == 1


def test_splits_shrink_for_few_frames_and_average() -> None:
    assert (split_count(10), split_count(120), split_count(1000), split_count(5000)) == (1, 2, 10, 10)
    probs = np.tile(np.eye(4), (100, 1))  # 400 rows, each split of 100 holds all 4 classes evenly
    score, std, splits = inception_score(probs, splits=4)
    assert splits == 4 and score == pytest.approx(4.0) and std == pytest.approx(0.0, abs=1e-9)


def test_inception_scores_with_a_tiny_detector(inception: object) -> None:
    rng = np.random.default_rng(0)
    varied = [np.full((40, 48, 3), rng.integers(0, 256, 3), dtype=np.uint8) for _ in range(60)]
    result = inception_scores(inception, varied, [varied[0]] * 7)
    assert result.frames == 60 and result.splits == 1 and result.score > 1.5
    assert result.reference_frames == 7 and result.reference_score == pytest.approx(1.0)
    assert result.model == INCEPTION_FILE and result.note == ""
    capped = inception_scores(inception, varied[:5], _strobe(7), max_reference_frames=3)
    assert capped.reference_frames == 3 and capped.note == "used the first 3 reference frames of a larger set"


# FVD


def test_clips_are_consecutive_and_short_videos_are_padded() -> None:
    frames = [np.full((2, 2, 3), i, dtype=np.uint8) for i in range(40)]
    clips = list(video_clips(frames))
    assert len(clips) == 2 and clips[0].shape == (CLIP_FRAMES, 2, 2, 3)
    assert clips[1][0, 0, 0, 0] == 16 and clips[1][-1, 0, 0, 0] == 31  # frames 32-39 are dropped
    (short,) = video_clips(frames[:5])
    assert short.shape[0] == CLIP_FRAMES and [int(f[0, 0, 0]) for f in short] == [0, 1, 2, 3] + [4] * 12
    assert list(video_clips([])) == []


def test_fvd_of_a_video_against_itself_is_near_zero_and_grows_with_difference(i3d: object) -> None:
    video = _panning(64)
    same = fvd(i3d, video, [_panning(64)])
    other = fvd(i3d, video, [_strobe(64)])
    assert same.clips == 4 and same.reference_clips == 4 and same.clip_frames == CLIP_FRAMES
    assert same.score is not None and same.score < 1e-3 and same.note == ""
    assert other.score is not None and other.score > 1.0 and other.score > 1000 * max(same.score, 1e-6)


def test_fvd_of_a_single_clip_says_why_it_has_no_score(i3d: object) -> None:
    result = fvd(i3d, _panning(20), [_panning(64)])
    assert result.score is None and result.clips == 1
    assert result.note == "the evaluated video gives 1 16-frame clip and the covariance needs at least 2 " \
                          "(at least 32 frames)"


def test_fvd_caps_the_reference_clips(i3d: object) -> None:
    result = fvd(i3d, _panning(32), [_panning(64), _strobe(64)], max_reference_clips=5)
    assert result.reference_clips == 5 and result.note == "used the first 5 reference clips of a larger set"


def test_cancel_stops_feature_extraction(i3d: object) -> None:
    with pytest.raises(CancelledError):
        fvd(i3d, _panning(32), [_panning(32)], cancelled=lambda: True)


# Feature models


def test_feature_models_are_looked_for_in_order(tmp_path: Path, isolated_home: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    explicit, env, default = tmp_path / "explicit", tmp_path / "env", isolated_home / "models" / "metrics"
    monkeypatch.setenv(FEATURE_MODELS_ENV_VAR, str(env))
    assert feature_model_dirs(explicit) == [explicit, env, default]
    assert find_feature_model(I3D_FILE, explicit) is None
    for folder in (default, env, explicit):
        folder.mkdir(parents=True)
        (folder / I3D_FILE).write_bytes(b"x")
        assert find_feature_model(I3D_FILE, explicit) == folder / I3D_FILE
    note = missing_model_note("IS", "Inception", INCEPTION_FILE, explicit)
    assert note == (f"IS: the Inception feature model {INCEPTION_FILE} was not found (looked in {explicit}, {env}, "
                    f"{default}): put it there to compute IS.")


def test_a_file_that_is_not_torchscript_is_bad_input(tmp_path: Path) -> None:
    bad = tmp_path / I3D_FILE
    bad.write_text("not a model")
    with pytest.raises(BadInputError, match="is not a loadable TorchScript file"):
        load_feature_model(bad)


def test_a_model_that_rejects_the_input_is_bad_input(inception: object) -> None:
    with pytest.raises(BadInputError, match=f"{I3D_FILE} did not accept its input"):
        fvd(inception, _panning(32), [_panning(32)])  # an image model where the video model should be


def test_models_are_loaded_once(feature_models: Path) -> None:
    assert load_feature_model(feature_models / I3D_FILE) is load_feature_model(feature_models / I3D_FILE)


# Reference set


def test_reference_folder_must_exist_and_hold_media(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="does not exist"):
        scan_reference_set(tmp_path / "missing")
    (tmp_path / "readme.txt").write_text("no videos here")
    with pytest.raises(BadInputError, match="holds no videos or images"):
        scan_reference_set(tmp_path)
    with pytest.raises(BadInputError, match="is a file"):
        scan_reference_set(tmp_path / "readme.txt")


def test_reference_videos_and_frame_folders_are_sequences(tmp_path: Path) -> None:
    with VideoWriter(tmp_path / "b.mp4", 64, 64, 8) as writer:
        for frame in _panning(20):
            writer.write_frame(frame)
    frames_dir = tmp_path / "clip_a"
    frames_dir.mkdir()
    for i in (10, 2, 1):  # natural order: 1, 2, 10; the odd-sized one is resized to the first
        Image.fromarray(np.full((32 if i != 10 else 48, 32, 3), i * 20, dtype=np.uint8)).save(frames_dir / f"f{i}.png")
    (tmp_path / ".hidden.mp4").write_bytes(b"partial")
    reference = scan_reference_set(tmp_path)
    assert reference.videos == (tmp_path / "b.mp4",) and reference.sequences == 2
    assert [p.name for p in reference.image_folders[0]] == ["f1.png", "f2.png", "f10.png"]
    sequences = [list(frames) for frames in reference_sequences(reference)]
    assert [len(s) for s in sequences] == [20, 3]
    assert {f.shape for f in sequences[1]} == {(32, 32, 3)} and sequences[1][2][0, 0, 0] == 200
    assert sum(1 for _ in reference_frames(reference)) == 23


def test_an_unreadable_reference_image_is_bad_input(tmp_path: Path) -> None:
    (tmp_path / "broken.png").write_bytes(b"not a png")
    with pytest.raises(BadInputError, match="cannot be read"):
        list(reference_frames(scan_reference_set(tmp_path)))


# The eval job


def _video_with_sound(path: Path, frames: list[np.ndarray], fps: float = 8.0) -> Path:
    audio = Audio(np.random.default_rng(0).normal(0, 0.05, int(len(frames) / fps * SAMPLE_RATE_HZ)).astype(np.float32))
    with VideoWriter(path, 64, 64, fps, audio=audio) as writer:
        for frame in frames:
            writer.write_frame(frame)
    return path


def test_eval_job_cancelled_during_fvd_never_reaches_is(tmp_path: Path, feature_models: Path) -> None:
    from hear2see_desktop.core.eval_job import EvalJob

    video = _video_with_sound(tmp_path / "v.mp4", _panning(32))
    reference = tmp_path / "reference"
    reference.mkdir()
    _video_with_sound(reference / "r.mp4", _panning(32, seed=3))
    messages: list[str] = []
    job = EvalJob(video, reference_dir=reference, feature_models=feature_models)
    with pytest.raises(CancelledError):
        job.run(lambda done, total, message, preview: messages.append(message), lambda: messages[-1].startswith("FVD"))
    assert messages[-1].startswith("FVD") and not any(m.startswith("IS") for m in messages)
