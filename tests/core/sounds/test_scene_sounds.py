"""Sound events in the storyboard: words in the right scenes, loudness as distance, takes without speech, edits kept."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from hear2see_desktop.core.audio import Audio
from hear2see_desktop.core.errors import BadInputError
from hear2see_desktop.core.prompt.builder import build_prompt
from hear2see_desktop.core.prompt.tokens import CLIP_CONTENT_TOKENS, clip_token_count
from hear2see_desktop.core.sounds.changes import strong_onsets
from hear2see_desktop.core.sounds.tagger import load_tagger
from hear2see_desktop.core.sounds.track import SoundEvent, SoundTrack, tag_audio
from hear2see_desktop.core.storyboard.board import Storyboard, rebuild_prompts
from hear2see_desktop.core.storyboard.edits import carry_scene_edits
from hear2see_desktop.core.storyboard.sounds import hear_scenes, storyboard_for_take
from hear2see_desktop.core.transcript import Transcript, Word
from tests.tiny_tagger import noise_take, save_loudness_tagger


@pytest.fixture(scope="module")
def quiet_then_loud(tmp_path_factory: pytest.TempPathFactory) -> tuple[Audio, SoundTrack]:
    """Eight seconds: four of quiet noise (heard as Ocean), four of loud (heard as Rain)."""
    tagger = load_tagger(save_loudness_tagger(tmp_path_factory.mktemp("tagger") / "loudness"))
    audio = Audio(noise_take([-40.0, -15.0], 4.0), 16000)
    return audio, tag_audio(audio, tagger)


def _two_sentences() -> Transcript:
    words = [Word("A", 0.5, 0.7, 1.0), Word("fox", 0.8, 1.2, 1.0), Word("walks.", 1.3, 2.5, 1.0),
             Word("The", 5.0, 5.2, 1.0), Word("fox", 5.3, 5.7, 1.0), Word("sleeps.", 5.8, 7.0, 1.0)]
    return Transcript(text="A fox walks. The fox sleeps.", words=words, duration_s=8.0)


def test_events_become_their_phrases_in_the_scenes_they_happen_in(quiet_then_loud: tuple[Audio, SoundTrack]) -> None:
    _, track = quiet_then_loud
    board, from_sounds = storyboard_for_take(_two_sentences(), track, [], min_scene_s=2.0, max_scene_s=6.0)
    assert not from_sounds and len(board.scenes) == 2 and board.sounds is track
    first, second = board.scenes
    assert "waves, sea" in first.sound_words and "rain" not in first.sound_words
    assert "rain, wet streets" in second.sound_words and "sea" not in second.sound_words
    assert "waves" in _terms(board, 0) and "rain" in _terms(board, 1) and "fox" in first.prompt
    for scene in board.scenes:
        assert "speech" not in scene.sound_words.lower(), "speech is never turned into a picture"


def test_loudness_words_follow_the_loudness(quiet_then_loud: tuple[Audio, SoundTrack]) -> None:
    _, track = quiet_then_loud
    board, _ = storyboard_for_take(_two_sentences(), track, [], min_scene_s=2.0, max_scene_s=6.0)
    first, second = board.scenes
    assert "far away, small" in first.sound_words and "close-up" not in first.sound_words
    assert "close-up, large" in second.sound_words and "far away" not in second.sound_words


def test_sound_words_count_in_the_77_token_budget() -> None:
    long_text = ("A red fox and a grey wolf and a brown bear and an old owl walk through the snowy forest by the "
                 "frozen mountain lake under the golden evening sky past the stone bridge and the wooden cabin")
    sounds = ["rain", "wet streets", "storm clouds", "lightning", "close-up", "large"]
    result = build_prompt(long_text, sounds=sounds)
    assert clip_token_count(result.prompt) <= CLIP_CONTENT_TOKENS
    kept = [s for s in sounds if s in result.prompt.split(", ")]
    assert kept and len(kept) + len([s for s in sounds if s in result.dropped]) == len(sounds)
    assert build_prompt("", sounds=["rain", "wet streets"]).prompt.startswith("rain, wet streets")


def _terms(board: Storyboard, index: int) -> list[str]:
    return board.scenes[index].prompt.split(", ")


def test_the_users_sound_words_survive_a_rebuild(quiet_then_loud: tuple[Audio, SoundTrack]) -> None:
    _, track = quiet_then_loud
    board, _ = storyboard_for_take(_two_sentences(), track, [], min_scene_s=2.0, max_scene_s=6.0)
    heard = board.scenes[1].sound_words
    edited = board.with_scene_sound_words(0, "lighthouse, foghorn").with_scene_sound_words(1, heard, on=False)
    assert "lighthouse" in _terms(edited, 0) and "waves" not in _terms(edited, 0)
    assert "rain" not in _terms(edited, 1), "switched off sound words leave the prompt"
    for again in (rebuild_prompts(edited, style="anime"), hear_scenes(edited, track),
                  Storyboard.from_dict(edited.to_dict()),
                  carry_scene_edits(edited, storyboard_for_take(_two_sentences(), track, [], min_scene_s=2.0,
                                                                max_scene_s=6.0)[0], times_edited=False)[0]):
        assert again.scenes[0].sound_words == "lighthouse, foghorn" and "lighthouse" in _terms(again, 0)
        assert not again.scenes[1].sound_words_on and "rain" not in _terms(again, 1)
        assert again.scenes[1].sound_words == heard, "switched off, the words wait to be switched on again"
    assert Storyboard.from_dict(edited.to_dict()).sounds == track


def test_a_take_of_rain_without_speech_makes_a_storyboard(tmp_path_factory: pytest.TempPathFactory) -> None:
    tagger = load_tagger(save_loudness_tagger(tmp_path_factory.mktemp("tagger") / "rain"))
    audio = Audio(noise_take([-15.0], 9.0, seed=3), 16000)
    empty = Transcript(text="", words=[], duration_s=audio.duration_s)
    board, from_sounds = storyboard_for_take(empty, tag_audio(audio, tagger), strong_onsets(audio))
    board.validate()
    assert from_sounds and len(board.scenes) >= 2
    assert all(2.0 - 1e-6 <= s.end_s - s.start_s <= 8.0 + 1e-6 for s in board.scenes)
    assert all("rain" in scene.prompt.split(", ") for scene in board.scenes)


def test_a_take_without_speech_is_cut_where_its_sounds_change(quiet_then_loud: tuple[Audio, SoundTrack]) -> None:
    audio, track = quiet_then_loud
    empty = Transcript(text="", words=[], duration_s=audio.duration_s)
    board, _ = storyboard_for_take(empty, track, [], min_scene_s=1.0, max_scene_s=8.0)
    assert [s.start_s for s in board.scenes][1:] == [pytest.approx(4.0, abs=0.5)]
    assert "waves" in _terms(board, 0) and "rain" in _terms(board, 1)


def test_a_take_whose_sounds_add_no_picture_is_one_sentence(quiet_then_loud: tuple[Audio, SoundTrack]) -> None:
    _, track = quiet_then_loud
    heard_as_speech = (SoundEvent("Speech", 0.9), SoundEvent("Inside, small room", 0.8), SoundEvent("Dog", 0.1))
    speech_only = SoundTrack(tuple(replace(w, events=heard_as_speech) for w in track.windows), track.duration_s)
    with pytest.raises(BadInputError, match="no speech and no sound"):
        storyboard_for_take(Transcript(text="", words=[], duration_s=8.0), speech_only, [])


def test_the_project_keeps_the_track_and_what_it_added(quiet_then_loud: tuple[Audio, SoundTrack],
                                                       tmp_path_factory: pytest.TempPathFactory) -> None:
    import soundfile as sf

    from hear2see_desktop.core.project import Project, load_project, save_project

    audio, track = quiet_then_loud
    folder = tmp_path_factory.mktemp("project")
    take = folder / "take.wav"
    sf.write(take, audio.samples, 16000)
    board, _ = storyboard_for_take(_two_sentences(), track, [], min_scene_s=2.0, max_scene_s=6.0)
    board = board.with_scene_sound_words(1, "rain, neon signs")
    path = save_project(Project(transcript=_two_sentences(), storyboard=board), folder / "clip.h2s", audio_source=take)
    loaded = load_project(path).storyboard
    assert loaded == board and loaded.sounds == track
    assert loaded.scenes[1].sound_edited and "neon signs" in _terms(loaded, 1)


def test_the_heard_storyboard_job_reuses_a_track_heard_before(quiet_then_loud: tuple[Audio, SoundTrack],
                                                              tmp_path: Path) -> None:
    from hear2see_desktop.core.jobs import never_cancelled, no_progress
    from hear2see_desktop.core.storyboard.sounds import HeardStoryboardJob

    audio, track = quiet_then_loud
    job = HeardStoryboardJob(audio, tmp_path / "storm.wav", _two_sentences(), str(tmp_path / "no-tagger-here"), track,
                             min_scene_s=2.0, max_scene_s=6.0)
    board, from_sounds = job.run(no_progress, never_cancelled)  # the tagger named is not there: never loaded
    assert not from_sounds and board.sounds is track and "rain" in board.scenes[-1].sound_words
    no_speech = HeardStoryboardJob(audio, tmp_path / "storm.wav", Transcript(text="", words=[], duration_s=8.0),
                                   None, track)
    board, from_sounds = no_speech.run(no_progress, never_cancelled)
    assert from_sounds and len(board.scenes) >= 2
