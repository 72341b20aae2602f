"""Vosk (Kaldi) recognition: small, fast models with word times that stream natively.

`vosk` is imported inside functions so that importing this module (and starting the GUI) stays fast.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import threading
from pathlib import Path
from typing import Any

import numpy as np

from hear2see_desktop.core import paths
from hear2see_desktop.core.asr.base import (
    SAMPLE_RATE_HZ,
    StreamUpdate,
    as_mono_16k,
    join_words,
    monotonic_words,
    report_seconds,
)
from hear2see_desktop.core.errors import Fix, ModelMissingError
from hear2see_desktop.core.jobs import CancelledFn, ProgressFn, raise_if_cancelled
from hear2see_desktop.core.part_files import part_path
from hear2see_desktop.core.transcript import Transcript, Word

log = logging.getLogger(__name__)

ENV_VAR = "HEAR2SEE_VOSK_MODEL"
MODELS_PAGE = "https://alphacephei.com/vosk/models"
# Vosk decodes in fixed 0.02 s pieces whatever the caller's chunking, so live and batch results agree.
# With the recorder's 0.1 s blocks and Kaldi's 20-frame chunks, live text showed a word a median 0.66 s after it
# ended against 0.74 s with 0.1 s pieces, at the same CPU cost (see also FRAMES_PER_CHUNK); a piece divides
# the block, so no audio waits for the next block.
PIECE_SAMPLES = SAMPLE_RATE_HZ // 50
BATCH_CHUNK_SAMPLES = SAMPLE_RATE_HZ // 2

_models: dict[Path, Any] = {}
_models_lock = threading.Lock()


def vosk_models_folder() -> Path:
    """Where installed Vosk models live: `<models_dir>/vosk`, one unzipped model per sub-folder."""
    return paths.models_dir() / "vosk"


def looks_like_vosk_model(folder: Path) -> bool:
    """A Vosk model folder has `am/final.mdl` (or `final.mdl`) and a `conf/` folder."""
    has_acoustic_model = (folder / "am" / "final.mdl").is_file() or (folder / "final.mdl").is_file()
    return has_acoustic_model and (folder / "conf").is_dir()


def _model_in(folder: Path) -> Path | None:
    """The folder itself when it is a model, else its first sub-folder (by name) that is one."""
    if looks_like_vosk_model(folder):
        return folder
    if not folder.is_dir():
        return None
    for child in sorted(folder.iterdir()):
        if child.is_dir() and looks_like_vosk_model(child):
            return child
    return None


def _how_to_get_one() -> tuple[str | Fix, ...]:
    return (f"Download an English model (for example vosk-model-small-en-us-0.15) from {MODELS_PAGE} "
            f"and unzip it into {vosk_models_folder()}, or set ", Fix("asr_model"), " to a model folder.")


def vosk_model_missing_error() -> ModelMissingError:
    """The error for "no Vosk model anywhere we look", naming every place and how to fix it."""
    env_value = os.environ.get(ENV_VAR)
    looked = f"{ENV_VAR}={env_value}" if env_value else f"{ENV_VAR} (not set)"
    return ModelMissingError(
        f"No Vosk speech model found (looked at {looked} and in {vosk_models_folder()}). ", *_how_to_get_one()
    )


def find_vosk_model(explicit: str | os.PathLike[str] | None = None) -> Path | None:
    """The Vosk model to use: `explicit`, then $HEAR2SEE_VOSK_MODEL, then the data folder.

    A path the user gave (argument or environment) that holds no model raises ModelMissingError rather
    than being skipped silently; an empty data folder returns None (callers may fall back to Whisper).
    """
    for given, source in ((explicit, "The speech model path"), (os.environ.get(ENV_VAR), ENV_VAR)):
        if given:
            folder = Path(given).expanduser()
            found = _model_in(folder)
            if found is None:
                raise ModelMissingError(
                    f"{source} {folder} does not hold a Vosk model (a folder with am/final.mdl and conf/). ",
                    *_how_to_get_one()
                )
            return found
    return _model_in(vosk_models_folder())


FRAMES_PER_CHUNK = 10
"""Audio frames (10 ms each) the acoustic model evaluates at a time, where a model's own config does not say:
Kaldi's default of 20 holds words back until a 0.2 s chunk is complete. With 10, live text shows a word a
median 0.57 s after it ends instead of 0.66 s on the Korean model (bench/results/asr_latency.md), for 7% more
CPU (bench/results/asr_ko.md). Vosk reads it only from the model's conf/model.conf, so the model is loaded
through `tuned_model_dir`."""


def tuned_model_dir(model_path: Path) -> Path:
    """A folder that is `model_path` with `FRAMES_PER_CHUNK` added to its conf/model.conf: links to the model's
    own files and one edited copy of that small file, in the app's cache (made once, atomically). The model
    itself is returned when its config already sets the chunk, has no conf/model.conf, or the system cannot
    make links (the model then runs with Kaldi's default, only later)."""
    model_path = Path(model_path).resolve()
    conf = model_path / "conf" / "model.conf"
    try:
        text = conf.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return model_path
    if "--frames-per-chunk" in text:
        return model_path
    digest = hashlib.sha256(f"{model_path}\n{FRAMES_PER_CHUNK}\n{text}".encode()).hexdigest()[:16]
    tuned = paths.cache_dir() / "vosk-models" / f"{model_path.name}-{digest}"
    if (tuned / "conf" / "model.conf").is_file():
        return tuned
    part = part_path(tuned)
    try:
        (part / "conf").mkdir(parents=True)
        for entry in model_path.iterdir():
            if entry.name != "conf":
                (part / entry.name).symlink_to(entry, target_is_directory=entry.is_dir())
        for entry in (model_path / "conf").iterdir():
            if entry.name != "model.conf":
                (part / "conf" / entry.name).symlink_to(entry, target_is_directory=entry.is_dir())
        (part / "conf" / "model.conf").write_text(f"{text.rstrip()}\n--frames-per-chunk={FRAMES_PER_CHUNK}\n",
                                                   encoding="utf-8")
        os.replace(part, tuned)
    except (OSError, NotImplementedError) as error:
        shutil.rmtree(part, ignore_errors=True)
        if (tuned / "conf" / "model.conf").is_file():
            return tuned  # another process made it meanwhile
        log.info("using %s with Kaldi's default chunk (could not make %s: %s)", model_path, tuned, error)
        return model_path
    return tuned


def load_vosk_model(model_path: Path) -> Any:
    """The `vosk.Model` for a folder, loaded once per process (loading takes seconds), through
    `tuned_model_dir` so that live text keeps closer to the voice."""
    key = Path(model_path).resolve()
    with _models_lock:
        if key not in _models:
            import vosk

            vosk.SetLogLevel(-1)
            try:
                _models[key] = vosk.Model(str(tuned_model_dir(key)))
            except Exception as error:  # vosk raises a bare Exception on a broken folder
                raise ModelMissingError(
                    f"Could not load the Vosk model in {key} ({error}); it may be incomplete. ", *_how_to_get_one()
                ) from error
        return _models[key]


def vosk_model_name(model_path: Path) -> str:
    """A readable name: the folder name, with its parent when the folder is just called "model"."""
    return f"{model_path.parent.name}/{model_path.name}" if model_path.name == "model" else model_path.name


def _is_real_word(token: str) -> bool:
    """Drop Kaldi markers such as `[unk]`, `<unk>`, `[3]` and stray dashes: they are not speech."""
    if (token.startswith("[") and token.endswith("]")) or (token.startswith("<") and token.endswith(">")):
        return False
    return any(ch.isalnum() for ch in token)


def _to_pcm16(samples: np.ndarray) -> np.ndarray:
    return (np.clip(samples, -1.0, 1.0) * 32767.0).astype(np.int16)


class VoskStream:
    """One take fed to a Kaldi recogniser; word times count from the first sample fed."""

    def __init__(self, model: Any, model_name: str, piece_samples: int = PIECE_SAMPLES) -> None:
        import vosk

        self._recognizer = vosk.KaldiRecognizer(model, SAMPLE_RATE_HZ)
        self._recognizer.SetWords(True)
        self._model_name = model_name
        self._piece = piece_samples
        self._pending = np.zeros(0, dtype=np.int16)
        self._words: list[Word] = []
        self._samples_fed = 0
        self._result: Transcript | None = None

    def _commit(self, result_json: str) -> list[Word]:
        raw = json.loads(result_json).get("result", [])
        words = [
            Word(str(w["word"]), float(w["start"]), float(w["end"]), float(w.get("conf", 1.0)))
            for w in raw
            if _is_real_word(str(w["word"]))
        ]
        after_s = self._words[-1].end if self._words else 0.0
        new_words = monotonic_words(words, after_s=after_s)
        self._words.extend(new_words)
        return new_words

    def push(self, samples16k: np.ndarray) -> list[Word]:
        """Decode the samples; returns words that became final (no partial text: batch needs none)."""
        if self._result is not None:
            raise RuntimeError("This stream is finished; start a new one with engine.stream().")
        pcm = _to_pcm16(as_mono_16k(samples16k))
        self._samples_fed += len(pcm)
        buffer = np.concatenate([self._pending, pcm]) if len(self._pending) else pcm
        whole = len(buffer) - len(buffer) % self._piece
        new_words: list[Word] = []
        for start in range(0, whole, self._piece):
            if self._recognizer.AcceptWaveform(buffer[start : start + self._piece].tobytes()):
                new_words += self._commit(self._recognizer.Result())
        self._pending = buffer[whole:]
        return new_words

    def feed(self, samples16k: np.ndarray) -> StreamUpdate:
        """Decode the samples; the text so far includes the utterance still being spoken."""
        new_words = self.push(samples16k)
        partial = json.loads(self._recognizer.PartialResult()).get("partial", "")
        unfinished = [token for token in partial.split() if _is_real_word(token)]
        text = " ".join([join_words(self._words), *unfinished]).strip()
        return StreamUpdate(partial_text=text, new_final_words=new_words)

    def finish(self) -> Transcript:
        """Flush the last utterance; calling it again returns the same transcript."""
        if self._result is None:
            if len(self._pending) and self._recognizer.AcceptWaveform(self._pending.tobytes()):
                self._commit(self._recognizer.Result())
            self._pending = np.zeros(0, dtype=np.int16)
            self._commit(self._recognizer.FinalResult())
            self._result = Transcript(
                text=join_words(self._words),
                words=list(self._words),
                engine="vosk",
                model=self._model_name,
                duration_s=round(self._samples_fed / SAMPLE_RATE_HZ, 3),
            )
        return self._result


class VoskEngine:
    """Vosk recognition with one model folder; the model is shared by every engine on that folder."""

    name = "vosk"

    def __init__(self, model_path: Path) -> None:
        self.model_path = Path(model_path)
        self.model_name = vosk_model_name(self.model_path)
        self._model = load_vosk_model(self.model_path)

    def stream(self, piece_samples: int = PIECE_SAMPLES) -> VoskStream:
        """A fresh recogniser for one live take (`piece_samples`: how much audio Vosk decodes at a time)."""
        return VoskStream(self._model, self.model_name, piece_samples)

    def transcribe(self, samples: np.ndarray, progress: ProgressFn, cancelled: CancelledFn) -> Transcript:
        """Recognise a whole take in 0.5 s chunks, reporting seconds done and checking cancel between."""
        samples = as_mono_16k(samples)
        total_s = len(samples) / SAMPLE_RATE_HZ
        stream = self.stream()
        report_seconds(progress, 0.0, total_s)
        for start in range(0, len(samples), BATCH_CHUNK_SAMPLES):
            raise_if_cancelled(cancelled)
            stream.push(samples[start : start + BATCH_CHUNK_SAMPLES])
            report_seconds(progress, (start + BATCH_CHUNK_SAMPLES) / SAMPLE_RATE_HZ, total_s)
        raise_if_cancelled(cancelled)
        return stream.finish()
