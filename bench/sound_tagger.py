"""What hearing sound events costs: the AudioSet tagger's real-time factor over a take, on this machine's CPU.

The tagger has the full size of the catalogue's `ast-audioset` (an Audio Spectrogram Transformer: 12 layers,
768 wide, 128 mel bins, 1024 frames, 527 AudioSet classes) with random weights: the cost is the architecture's,
the weights do not change it. It is saved as a transformers folder and read through the app's own loader
(`core/sounds/tagger.py`), then `tag_audio` hears `--seconds` of noise in the app's windows (1 s every 0.5 s):
every window is padded to the model's 1024 frames (10.24 s), as the feature extractor does for this model, so a
window costs as much as a 10 s clip. Reported: wall and CPU seconds, seconds per window, and the real-time
factor (wall seconds per second of audio).

    .venv/bin/python bench/sound_tagger.py [--seconds 10] [--threads N] [--out DIR]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from common import DEFAULT_OUT, Table, cpu_time_s, fmt, machine_description, write_results

AUDIOSET_CLASSES = 527


def build_full_size_tagger(folder: Path) -> Path:
    """A random AST of the real model's shape, with its feature extractor, as a transformers folder."""
    import torch
    from transformers import ASTConfig, ASTFeatureExtractor, ASTForAudioClassification

    torch.manual_seed(0)
    labels = {i: f"class {i}" for i in range(AUDIOSET_CLASSES)}
    config = ASTConfig(id2label=labels, label2id={v: k for k, v in labels.items()})  # the defaults: AST base
    ASTForAudioClassification(config).eval().save_pretrained(folder)
    ASTFeatureExtractor().save_pretrained(folder)  # 128 mel bins, 1024 frames, AudioSet mean and std
    return folder


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the take heard")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()

    import torch

    from hear2see_desktop.core.audio import Audio
    from hear2see_desktop.core.sounds.tagger import load_tagger
    from hear2see_desktop.core.sounds.track import tag_audio, window_spans

    if args.threads:
        torch.set_num_threads(args.threads)
    audio = Audio((np.random.default_rng(0).standard_normal(int(args.seconds * 16000)) * 0.1).astype(np.float32))
    with tempfile.TemporaryDirectory() as tmp:
        tagger = load_tagger(build_full_size_tagger(Path(tmp) / "ast"))
        tag_audio(Audio(audio.samples[:16000]), tagger)  # warm-up: one window
        started, cpu_started = time.perf_counter(), cpu_time_s()
        track = tag_audio(audio, tagger)
        wall_s, cpu_s = time.perf_counter() - started, cpu_time_s() - cpu_started
    windows = len(track.windows)
    assert windows == len(window_spans(args.seconds))
    row = {"seconds": args.seconds, "windows": windows, "wall_s": wall_s, "cpu_s": cpu_s,
           "s_per_window": wall_s / windows, "rtf": wall_s / args.seconds, "threads": torch.get_num_threads()}
    table = Table("Sound-event tagger (AST base, random weights) on the CPU",
                  ["audio (s)", "windows", "torch threads", "wall (s)", "CPU (s)", "s per window", "RTF"],
                  [[fmt(args.seconds, 1), str(windows), str(row["threads"]), fmt(wall_s, 2), fmt(cpu_s, 2),
                    fmt(row["s_per_window"], 3), fmt(row["rtf"], 3)]])
    notes = ["RTF: wall seconds per second of audio (below 1: faster than the take plays). Windows of 1 s every "
             "0.5 s, each padded to the model's 10.24 s input."]
    md_path, _ = write_results(args.out, "sound_tagger", "Sound events: tagger cost on the CPU", notes, [table],
                               {"result": row}, machine_description("cpu"))
    print(md_path.read_text(encoding="utf-8"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
