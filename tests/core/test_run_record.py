"""Run records read back typed: today's, older versions' (fields they did not write yet) and broken ones."""

from __future__ import annotations

from typing import Any

import pytest

from hear2see_desktop.core.errors import BadInputError
from hear2see_desktop.core.run_record import RunRecord


def older_record() -> dict[str, Any]:
    """What the first versions wrote: no decoders, memory steps, cache counts, subtitles or transitions."""
    return {"id": "20261101-101010-abcdef", "time": "2026-11-01T10:10:10+00:00", "app_version": "0.1.0",
            "audio": {"path": "/takes/fox.wav", "sha256": "ab" * 32, "duration_s": 2.5},
            "transcript": {"text": "a fox", "words": [{"word": "a", "start": 0.1, "end": 0.2, "conf": 0.9}],
                           "engine": "vosk", "model": "small-en", "duration_s": 2.5},
            "prompt": "a fox, cinematic", "negative_prompt": "blurry", "model": {"requested": "sd15", "kind": "folder",
                                                                               "path": "/models/sd15", "sha256": "cd"},
            "mode": "smooth", "scheduler": "dpmpp-2m", "steps": 20, "cfg": 7.5, "frames": 30, "seeds": [7],
            "fps": 12, "size": [512, 512], "unet_evaluations": 400, "timings_s": {"render_s": 12.5},
            "settings": {"mode": "smooth", "seed": 7, "steps": 20, "fps": 12, "width": 512, "height": 512},
            "output": {"path": "/renders/fox.mp4", "sha256": "ef" * 32}}


def test_an_older_record_reads_with_what_its_version_did_and_replays_as_it_rendered() -> None:
    record = RunRecord.from_dict(older_record())
    assert record.id == "20261101-101010-abcdef" and record.audio.duration_s == 2.5
    assert record.transcript.words[0].word == "a" and record.model.config is None
    assert record.decoder == "vae" and record.preview_decoder == "latent-colours"
    assert record.output_frames == 30 and record.memory_fallbacks == [] and record.storyboard is None
    assert record.settings.transition_s is None  # smooth moved over the whole time between keyframes then
    assert record.settings.scene_change == "dissolve"  # and dissolved across the cuts
    assert record.size == (512, 512) and record.keyframes is None and record.rating is None


def test_a_rating_added_to_the_line_reads_back_and_is_written_again() -> None:
    data = {**older_record(), "rating": 4}
    record = RunRecord.from_dict(data)
    assert record.rating == 4 and record.to_dict()["rating"] == 4
    assert "rating" not in RunRecord.from_dict(older_record()).to_dict()


@pytest.mark.parametrize("broken", [
    {"settings": None},
    {"audio": {"path": "/takes/fox.wav"}},
    {"transcript": "a fox"},
    {"steps": "many"},
])
def test_a_record_a_replay_cannot_use_is_one_sentence_naming_the_run(broken: dict[str, Any]) -> None:
    data = {**older_record(), **broken}
    with pytest.raises(BadInputError, match=r"^The run 20261101-101010-abcdef in the run log is missing fields"):
        RunRecord.from_dict(data)


def test_a_record_without_settings_is_refused() -> None:
    data = older_record()
    del data["settings"]
    with pytest.raises(BadInputError, match="KeyError"):
        RunRecord.from_dict(data)
