"""A failed task's dialog title comes from the error's type, not from words in its sentence."""

from __future__ import annotations

from hear2see_desktop.core.errors import BadInputError, ModelMissingError
from hear2see_desktop.ui.main_window.workers import failure_title


def test_a_missing_model_asks_for_one_whatever_the_sentence_says() -> None:
    assert failure_title("render", ModelMissingError("The bundled Whisper model is missing.")) == "Model needed"
    assert failure_title("transcribe", ModelMissingError("")) == "Model needed"


def test_other_failures_are_titled_by_their_task() -> None:
    words = BadInputError("The model is not on this machine: download it.")  # model words, but bad input
    assert failure_title("render", words) == "Render failed"
    assert failure_title("export", None) == "Export failed"
    assert failure_title("mystery", RuntimeError("x")) == "Something went wrong"
