"""The sound-event tagger and its track: loading a real-architecture tagger folder, windows that cover the take."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hear2see_desktop.core.audio import Audio
from hear2see_desktop.core.errors import BadInputError, ModelMissingError
from hear2see_desktop.core.models.catalogue import find_entry
from hear2see_desktop.core.sounds.job import SoundsJob
from hear2see_desktop.core.sounds.tagger import load_tagger
from hear2see_desktop.core.sounds.track import HOP_S, WINDOW_S, SoundTrack, tag_audio, window_spans
from hear2see_desktop.core.sounds.visual_words import load_visual_words, strong_labels
from tests.tiny_tagger import LABELS, noise_take, save_loudness_tagger, save_tiny_tagger


@pytest.fixture(scope="module")
def loudness_tagger(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_loudness_tagger(tmp_path_factory.mktemp("tagger") / "loudness")


def test_a_tiny_tagger_folder_loads_through_the_real_path(tmp_path: Path) -> None:
    folder = save_tiny_tagger(tmp_path / "tiny")
    tagger = load_tagger(str(folder))
    assert tagger.labels == LABELS and tagger.sample_rate_hz == 16000
    scores = tagger.scores(np.zeros((2, 16000), dtype=np.float32))
    assert scores.shape == (2, len(LABELS)) and np.all((scores >= 0) & (scores <= 1))
    assert load_tagger(folder) is tagger, "a tagger is loaded once per folder"


def test_a_folder_with_only_pickle_weights_is_refused(tmp_path: Path) -> None:
    folder = save_tiny_tagger(tmp_path / "pickled")
    (folder / "model.safetensors").rename(folder / "pytorch_model.bin")
    with pytest.raises(BadInputError, match="pickle"):
        load_tagger(folder)


def test_a_missing_tagger_says_which_model_adds_sound_events_and_how_to_get_it(tmp_path: Path) -> None:
    with pytest.raises(ModelMissingError, match="hear2see models download ast-audioset"):
        load_tagger(None)
    with pytest.raises(ModelMissingError, match="ast-audioset"):
        load_tagger(tmp_path / "no-such-folder")
    entry = find_entry("ast-audioset")
    assert entry.kind == "sound" and entry.licence == "BSD-3-Clause" and entry.size_bytes > 300_000_000
    assert {file.path for file in entry.files} >= {"config.json", "model.safetensors", "preprocessor_config.json"}


@pytest.mark.parametrize("duration_s", [0.3, 1.0, 1.2, 2.0, 7.33])
def test_windows_cover_the_take_exactly(duration_s: float) -> None:
    spans = window_spans(duration_s)
    assert spans[0][0] == 0.0 and spans[-1][1] == pytest.approx(duration_s, abs=1e-12)
    for (start, end), (next_start, _) in zip(spans, spans[1:], strict=False):
        assert next_start - start == pytest.approx(HOP_S) and next_start <= end, "no gap between windows"
    assert all(0 < end - start <= WINDOW_S + 1e-12 for start, end in spans)
    assert spans[-1][0] < duration_s and (len(spans) == 1 or spans[-1][0] + WINDOW_S >= duration_s - 1e-9)


def test_loud_windows_are_rain_and_quiet_ones_ocean_and_speech_is_never_pictured(loudness_tagger: Path) -> None:
    samples = noise_take([-40.0, -15.0], 3.0)
    track = tag_audio(Audio(samples, 16000), load_tagger(loudness_tagger))
    assert [(w.start_s, w.end_s) for w in track.windows] == window_spans(6.0)
    words = load_visual_words()
    for window in track.windows:
        assert window.events[0].label in {"Speech", "Rain", "Ocean"}
        expected = ["Ocean"] if window.end_s <= 3.0 else ["Rain"] if window.start_s >= 3.0 else None
        if expected is not None:
            assert strong_labels(window, words) == expected, f"window {window.start_s}-{window.end_s} s"
    quiet = [w.loudness_dbfs for w in track.windows if w.end_s <= 3.0]
    loud = [w.loudness_dbfs for w in track.windows if w.start_s >= 3.0]
    assert max(quiet) < -38 and min(loud) > -17
    assert SoundTrack.from_dict(track.to_dict()) == SoundTrack.from_dict(track.to_dict())
    assert SoundTrack.from_dict(track.to_dict()).windows[3].events[0].label == track.windows[3].events[0].label


def test_silence_alone_is_refused_with_one_sentence(tmp_path: Path, loudness_tagger: Path) -> None:
    import soundfile as sf

    path = tmp_path / "quiet.wav"
    sf.write(path, np.zeros(32000, dtype=np.float32), 16000)
    with pytest.raises(BadInputError, match="silent") as caught:
        SoundsJob(path, str(loudness_tagger)).run(lambda *a: None, lambda: False)
    assert "\n" not in str(caught.value)
