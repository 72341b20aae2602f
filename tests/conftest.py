"""Shared fixtures: an isolated data folder, offline hubs, tiny models and spoken narrations."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

# Before anything imports huggingface_hub / Qt: never reach a network, never need a screen.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Session- and module-scoped fixtures run before `isolated_home`: they too must not write into the user's
# folders (a Vosk model's tuned config, for one, goes into the cache folder).
os.environ.setdefault("HEAR2SEE_HOME", tempfile.mkdtemp(prefix="hear2see-test-session-"))

# Property tests draw the same examples on every run, so a run's result depends on the code, not on luck;
# HYPOTHESIS_PROFILE=explore searches with fresh random examples (and remembers failures) to hunt for new bugs.
hypothesis_settings.register_profile("repeatable", derandomize=True, database=None, print_blob=True)
hypothesis_settings.register_profile("explore", derandomize=False, print_blob=True)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test gets its own HEAR2SEE_HOME (models, runs.jsonl, logs), never the user's."""
    home = tmp_path_factory.mktemp("hear2see-home")
    monkeypatch.setenv("HEAR2SEE_HOME", str(home))
    monkeypatch.delenv("HEAR2SEE_VOSK_MODEL", raising=False)
    monkeypatch.delenv("HEAR2SEE_FEATURE_MODELS", raising=False)
    monkeypatch.delenv("HEAR2SEE_CLIP_MODEL", raising=False)
    monkeypatch.delenv("HEAR2SEE_MODELS_DIR", raising=False)
    monkeypatch.delenv("HEAR2SEE_CATALOGUE", raising=False)
    return home


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """(diffusers folder, single-file .safetensors, its config folder) of a tiny random SD-1.5 pipeline."""
    from tests.tiny_pipeline import tiny_model_paths

    return tiny_model_paths(tmp_path_factory.mktemp("tiny-sd"))


@pytest.fixture(scope="session")
def narration_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About three seconds of English espeak-ng speech at 16 kHz."""
    from tests.speech import speak

    return speak("A red fox runs through the snowy forest at dawn.", tmp_path_factory.mktemp("speech") / "fox.wav")


@pytest.fixture(scope="session")
def silence_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Twenty seconds of digital silence."""
    import numpy as np
    import soundfile as sf

    path = tmp_path_factory.mktemp("silence") / "silence.wav"
    sf.write(path, np.zeros(20 * 16000, dtype=np.float32), 16000, subtype="PCM_16")
    return path


@pytest.fixture(scope="session")
def tiny_motion_models(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(diffusers folder, original-layout single .safetensors) of a tiny random motion adapter that fits
    `tiny_models`."""
    from tests.tiny_motion_adapter import save_tiny_motion_file, save_tiny_motion_folder

    folder = tmp_path_factory.mktemp("tiny-motion")
    return (save_tiny_motion_folder(folder / "tiny-motion-adapter"),
            save_tiny_motion_file(folder / "tiny-motion.safetensors"))
