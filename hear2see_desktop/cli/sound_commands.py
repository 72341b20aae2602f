"""`hear2see sounds AUDIO`: the take's sound events as a table or JSON."""

from __future__ import annotations

import argparse
import json

from hear2see_desktop.cli.common import existing_file, run_in_terminal
from hear2see_desktop.core.errors import BadInputError, ModelMissingError
from hear2see_desktop.core.sounds.job import SoundsJob
from hear2see_desktop.core.sounds.track import SoundTrack

SHOWN_EVENTS = 3
"""Classes printed per window in the table (--json has all the track keeps)."""


def cmd_sounds(args: argparse.Namespace) -> int:
    audio_path = existing_file(args.audio, "audio file")
    try:
        track = run_in_terminal(SoundsJob(audio_path, args.sound_model))
    except ModelMissingError as error:  # this command is nothing without its model: a usage error here
        raise BadInputError(*error.parts) from error
    if args.json:
        print(json.dumps(track.to_dict(), ensure_ascii=False))
    else:
        print(sound_table(track))
    return 0


def sound_table(track: SoundTrack) -> str:
    """One line per window: its times, loudness and top classes with their scores."""
    lines = [f"{'time (s)':>13}  {'loudness':>10}  sound events"]
    for window in track.windows:
        events = ", ".join(f"{e.label} {e.score:.2f}" for e in window.events[:SHOWN_EVENTS])
        lines.append(f"{window.start_s:6.2f}-{window.end_s:6.2f}  {window.loudness_dbfs:6.1f} dBFS  {events}")
    return "\n".join(lines)
