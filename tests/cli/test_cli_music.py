"""`hear2see render --music FILE --music-level DB`: background music under the narration from the command line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from hear2see_desktop.cli import build_parser
from hear2see_desktop.cli.render_flags import settings_from_args
from hear2see_desktop.core.audio import load_audio
from hear2see_desktop.core.music_mix import NO_SPEECH_REFERENCE_DBFS
from hear2see_desktop.core.video import probe_video
from tests.cli_helpers import FAST, one_sentence, run_cli


def test_the_music_flags_land_in_the_settings_with_an_absolute_path(monkeypatch: pytest.MonkeyPatch,
                                                                    tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    args = build_parser().parse_args(["render", "in.wav", "-o", "out.mp4", "--music", "song.ogg",
                                      "--music-level", "-20"])
    settings = settings_from_args(args)
    assert settings.music_path == str(tmp_path / "song.ogg") and settings.music_level_db == -20.0
    defaults = settings_from_args(build_parser().parse_args(["render", "in.wav", "-o", "out.mp4"]))
    assert defaults.music_path is None and defaults.music_level_db == -15.0


def test_a_render_with_music_plays_it_at_its_level_for_the_narrations_length(
    silence_wav: Path, tiny_models: tuple[Path, Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    music = tmp_path / "hum.wav"
    rate = 44100
    sf.write(music, (0.3 * np.sin(2 * np.pi * 220 * np.arange(3 * rate) / rate)).astype(np.float32), rate)
    out = tmp_path / "lake.mp4"
    code, stdout, err = run_cli(["render", str(silence_wav), "-o", str(out), "--model", str(tiny_models[0]),
                                 "--frames", "1", "--prompt", "a quiet lake", "--music", str(music),
                                 "--music-level", "-10", *FAST], capsys)
    assert code == 0, err
    assert stdout.strip() == str(out)
    assert probe_video(out).has_audio
    track = load_audio(out, None)
    assert track.duration_s == pytest.approx(20.0, abs=0.05), "the narration, not the music, sets the length"
    # A take without speech: the level is relative to a standard voice level, and nothing ducks it.
    middle = track.samples[5 * track.sample_rate_hz : 15 * track.sample_rate_hz].astype(np.float64)
    assert 10 * np.log10(np.mean(middle**2)) == pytest.approx(NO_SPEECH_REFERENCE_DBFS - 10.0, abs=1.0)


@pytest.mark.parametrize("music, says", [
    ("gone.mp3", "There is no music file at"),
    ("notes.mp3", "The music file notes.mp3 is not audio we can read"),
])
def test_a_bad_music_file_is_one_sentence_and_exit_2(music: str, says: str, silence_wav: Path,
                                                     tiny_models: tuple[Path, Path, Path], tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "notes.mp3").write_text("la la la " * 100)
    out = tmp_path / "lake.mp4"
    code, stdout, err = run_cli(["render", str(silence_wav), "-o", str(out), "--model", str(tiny_models[0]),
                                 "--frames", "1", "--prompt", "a quiet lake", "--music", str(tmp_path / music),
                                 *FAST], capsys)
    assert code == 2 and stdout == ""
    assert says in one_sentence(err)
    assert not out.exists()


def test_a_music_level_out_of_range_is_one_sentence(silence_wav: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(["render", str(silence_wav), "-o", str(tmp_path / "x.mp4"), "--music", "a.ogg",
                            "--music-level", "6", *FAST], capsys)
    assert code == 2 and "The music level must be between -40 and 0 dB (got 6.0)." in one_sentence(err)
