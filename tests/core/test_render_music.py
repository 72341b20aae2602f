"""A render with background music on the tiny pipeline: the MP4's soundtrack is the narration with the music
under it, as long as the narration, and the run record keeps the music so a replay is exact."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from hear2see_desktop.core.analysis.speech_activity import speech_level_dbfs
from hear2see_desktop.core.audio import load_audio
from hear2see_desktop.core.errors import BadInputError
from hear2see_desktop.core.jobs import never_cancelled, no_progress
from hear2see_desktop.core.music_mix import MIN_MIX_RATE_HZ, RELEASE_S
from hear2see_desktop.core.render_job import RenderJob, RenderRequest, replay_request
from hear2see_desktop.core.run_record import RunRecord
from hear2see_desktop.core.runlog import read_log
from hear2see_desktop.core.settings import RenderSettings
from hear2see_desktop.core.transcript import Transcript, Word
from hear2see_desktop.core.video import probe_video

FOX = Transcript(text="A red fox runs through the snowy forest at dawn.",
                 words=[Word("a", 0.1, 0.2, 1.0), Word("red", 0.2, 0.4, 1.0), Word("fox", 0.4, 0.7, 1.0)],
                 engine="given", model="test")
QUIET_S = 3.0


@pytest.fixture()
def narration_then_quiet(narration_wav: Path, tmp_path: Path) -> Path:
    """The fox sentence, then 3 s of silence in which the music can be heard at its own level."""
    voice, rate = sf.read(narration_wav, dtype="float32")
    path = tmp_path / "fox-then-quiet.wav"
    sf.write(path, np.concatenate([voice, np.zeros(round(QUIET_S * rate), dtype=np.float32)]), rate)
    return path


@pytest.fixture()
def music_file(tmp_path: Path) -> Path:
    """Two seconds of stereo noise at 48 kHz: looped under the narration."""
    noise = np.random.default_rng(3).standard_normal((96000, 2)).astype(np.float32) * 0.1
    path = tmp_path / "music.flac"
    sf.write(path, noise, 48000)
    return path


def settings_with_music(model: Path, music: Path) -> RenderSettings:
    return RenderSettings(model=str(model), width=64, height=64, steps=2, fps=4, seed=7, device="cpu", frames=2,
                          music_path=str(music), music_level_db=-15.0)


def test_an_mp4_with_music_has_the_narrations_length_and_the_music_under_it(
    tiny_models: tuple[Path, Path, Path], narration_then_quiet: Path, music_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "fox-music.mp4"
    request = RenderRequest(narration_then_quiet, out, settings_with_music(tiny_models[0], music_file),
                            transcript=FOX, runs_log=tmp_path / "runs.jsonl")
    record = RenderJob(request).run(no_progress, never_cancelled).record

    info = probe_video(out)
    assert info.has_audio and info.audio_codec == "aac"
    track = load_audio(out, None)
    narration = load_audio(narration_then_quiet, None)
    assert track.sample_rate_hz == MIN_MIX_RATE_HZ
    assert track.duration_s == pytest.approx(narration.duration_s, abs=0.05), "the narration is the timing source"
    # In the quiet after the sentence (past the release, before the fade-out) the music plays at its level.
    voice_db = speech_level_dbfs(narration.samples, narration.sample_rate_hz)
    assert voice_db is not None
    rate = track.sample_rate_hz
    quiet = track.samples[round((narration.duration_s - QUIET_S + RELEASE_S + 0.3) * rate):
                          round((narration.duration_s - 1.6) * rate)]
    music_db = 10 * np.log10(np.mean(quiet.astype(np.float64) ** 2))
    assert music_db - voice_db == pytest.approx(-15.0, abs=1.5)

    assert record.music is not None and record.music.path == str(music_file.resolve())
    assert record.settings.music_path == str(music_file) and record.settings.music_level_db == -15.0
    logged = read_log(tmp_path / "runs.jsonl").records[-1]
    assert RunRecord.from_dict(logged) == record

    # A replay renders the same soundtrack; a changed music file is refused, as a changed narration is.
    again = replay_request(record, tmp_path / "again.mp4", tmp_path / "runs.jsonl")
    assert again.settings.music_path == str(music_file)
    replayed = RenderJob(again).run(no_progress, never_cancelled).record
    assert replayed.output.sha256 == record.output.sha256
    sf.write(music_file, np.zeros((48000, 2), dtype=np.float32) + 0.01, 48000)
    with pytest.raises(BadInputError, match=r"The music music\.flac changed since run .*: the replay would differ\."):
        replay_request(record, tmp_path / "third.mp4", tmp_path / "runs.jsonl")


def test_a_bad_music_file_stops_the_render_before_anything_is_written(
    tiny_models: tuple[Path, Path, Path], narration_wav: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "song.mp3"
    bad.write_text("not a song " * 100)
    out = tmp_path / "fox.mp4"
    request = RenderRequest(narration_wav, out, replace(settings_with_music(tiny_models[0], bad)), transcript=FOX,
                            runs_log=tmp_path / "runs.jsonl")
    with pytest.raises(BadInputError, match=r"The music file song\.mp3 is not audio we can read"):
        RenderJob(request).run(no_progress, never_cancelled)
    assert not out.exists() and not (tmp_path / "runs.jsonl").exists()
