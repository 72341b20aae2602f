"""CLIPSIM (paper eq. 1) on a tiny random CLIP model: range, shape, determinism and the error paths."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hear2see_desktop.core.errors import BadInputError, Fix, ModelMissingError
from hear2see_desktop.core.metrics.clipsim import ClipScorer, find_clip_model, load_clip


@pytest.fixture(scope="module")
def clip_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.tiny_clip import save_tiny_clip

    return save_tiny_clip(tmp_path_factory.mktemp("tiny-clip"))


@pytest.fixture(scope="module")
def scorer(clip_folder: Path) -> ClipScorer:
    return load_clip(clip_folder)


def _frames(count: int, seed: int = 0, shape: tuple[int, int] = (40, 56)) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (*shape, 3), dtype=np.uint8) for _ in range(count)]


def test_score_range_and_per_frame_length(scorer: ClipScorer, clip_folder: Path) -> None:
    frames = _frames(5)
    result = scorer.clipsim(iter(frames), "the fox and the hen", batch_size=2)
    assert len(result.per_frame) == 5
    assert all(-1.0 <= value <= 1.0 for value in result.per_frame)
    assert -1.0 <= result.score <= 1.0
    assert result.score == pytest.approx(float(np.mean(result.per_frame)))
    assert result.model == str(clip_folder.resolve())


def test_deterministic_and_batch_size_independent(scorer: ClipScorer) -> None:
    frames = _frames(3, seed=1)
    first = scorer.clipsim(frames, "a red fox in the snow", batch_size=1)
    second = scorer.clipsim(frames, "a red fox in the snow", batch_size=8)
    assert first.per_frame == pytest.approx(second.per_frame, abs=1e-5)
    assert scorer.clipsim(frames, "a red fox in the snow", batch_size=1) == first


def test_identical_frames_score_identically(scorer: ClipScorer) -> None:
    frame = _frames(1, seed=2)[0]
    result = scorer.clipsim([frame, frame.copy(), frame], "the sun on the water")
    assert result.per_frame[0] == pytest.approx(result.per_frame[1], abs=1e-6)
    assert result.per_frame[0] == pytest.approx(result.per_frame[2], abs=1e-6)


def test_different_texts_score_differently(scorer: ClipScorer) -> None:
    frames = _frames(2, seed=3)
    one = scorer.clipsim(frames, "the fox and the hen")
    other = scorer.clipsim(frames, "rain on a quiet street at night")
    assert one.score != pytest.approx(other.score, abs=1e-4)


def test_long_text_is_truncated(scorer: ClipScorer) -> None:
    result = scorer.clipsim(_frames(1), "the fox runs " * 200)
    assert -1.0 <= result.score <= 1.0


def test_load_is_cached_per_path(scorer: ClipScorer, clip_folder: Path) -> None:
    assert load_clip(str(clip_folder)) is scorer


def test_empty_frames_raise_bad_input(scorer: ClipScorer) -> None:
    with pytest.raises(BadInputError):
        scorer.clipsim([], "the fox")
    with pytest.raises(BadInputError):
        scorer.clipsim(iter(()), "the fox")


def test_bad_frames_and_text_raise_bad_input(scorer: ClipScorer) -> None:
    with pytest.raises(BadInputError):
        scorer.clipsim([np.zeros((8, 8), dtype=np.uint8)], "the fox")
    with pytest.raises(BadInputError):
        scorer.clipsim([np.zeros((8, 8, 3), dtype=np.float32)], "the fox")
    with pytest.raises(BadInputError):
        scorer.clipsim(_frames(1), "   ")


def test_missing_folder_raises_model_missing(tmp_path: Path) -> None:
    missing = tmp_path / "no-clip-here"
    with pytest.raises(ModelMissingError) as info:
        load_clip(missing)
    message = str(info.value)
    assert str(missing) in message
    assert "openai/clip-vit-base-patch32" in message
    assert Fix("clip_model") in info.value.fixes  # the CLI says --clip-model (tests/core/test_errors.py)


def test_invalid_folder_raises_model_missing(tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ModelMissingError, match="not a usable CLIP model"):
        load_clip(broken)


def test_find_clip_model_order(tmp_path: Path, isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HEAR2SEE_CLIP_MODEL", raising=False)
    assert find_clip_model(None) is None
    default = isolated_home / "models" / "clip"
    default.mkdir(parents=True)
    assert find_clip_model(None) is None  # no config.json yet
    (default / "config.json").write_text("{}", encoding="utf-8")
    assert find_clip_model(None) == default
    monkeypatch.setenv("HEAR2SEE_CLIP_MODEL", str(tmp_path / "env"))
    assert find_clip_model(None) == tmp_path / "env"
    assert find_clip_model(str(tmp_path / "explicit")) == tmp_path / "explicit"
