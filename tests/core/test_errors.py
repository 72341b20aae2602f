"""A core error names the setting that mends it; each front end words that setting its own way."""

from __future__ import annotations

import pickle

import pytest

from hear2see_desktop.cli.render_flags import flag_words
from hear2see_desktop.core.errors import BadInputError, Fix, RenderFailedError
from hear2see_desktop.core.render.devices import resolve_device
from hear2see_desktop.core.render.pipeline_cache import render_failed_for
from hear2see_desktop.ui.fix_words import field_words, sentence


def test_a_fix_is_a_flag_on_the_command_line_a_field_in_the_window_and_plain_elsewhere() -> None:
    error = BadInputError("No GPU here: use ", Fix("device", "cpu"), " or set ", Fix("model_config"), ".")
    assert error.worded(flag_words) == "No GPU here: use --device cpu or set --model-config."
    assert error.worded(field_words) == "No GPU here: use “Device: cpu” or set “Model config”."
    assert str(error) == "No GPU here: use device: cpu or set model config."
    assert sentence(error) == error.worded(field_words) and sentence(ValueError("plain")) == "plain"
    assert error.fixes == (Fix("device", "cpu"), Fix("model_config"))


def test_a_sentence_with_braces_in_a_path_is_kept_as_written() -> None:
    error = BadInputError("The file {clip}.wav is gone: check ", Fix("loras"), ".")
    assert error.worded(flag_words) == "The file {clip}.wav is gone: check --lora."
    assert str(pickle.loads(pickle.dumps(error))) == str(error)  # errors cross process boundaries in tests


def test_out_of_memory_on_a_gpu_names_the_device_setting() -> None:
    error = render_failed_for(RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB"), "768x768", "cuda")
    assert isinstance(error, RenderFailedError) and Fix("device", "cpu") in error.fixes
    assert error.worded(flag_words).endswith("lower the width/height, or use --device cpu.")


def test_asking_for_a_gpu_this_machine_lacks_names_the_device_setting() -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU")
    with pytest.raises(BadInputError) as refused:
        resolve_device("cuda")
    assert refused.value.worded(flag_words).endswith("use --device cpu or --device auto.")
    assert refused.value.worded(field_words).endswith("use “Device: cpu” or “Device: auto”.")


def test_training_errors_name_the_flag_on_the_command_line_and_the_field_in_the_dialog() -> None:
    from hear2see_desktop.core.training.settings import TrainSettings

    with pytest.raises(BadInputError) as refused:
        TrainSettings(base=" ").validate()
    assert "set --base to a hub id" in refused.value.worded(flag_words)
    assert "set “Base model” to a hub id" in refused.value.worded(field_words)


def test_a_metrics_note_names_its_setting_as_each_front_end_does() -> None:
    from hear2see_desktop.core.errors import Sentence

    note = Sentence.of("FVD and IS: not computed without a reference set (give one with ", Fix("reference"), ").")
    assert note.worded(flag_words).endswith("(give one with --reference).")
    assert "“Reference”" in note.worded(field_words) and str(note).endswith("(give one with reference).")
