"""What `hear2see batch` renders: its inputs (audio files, folders, JSON job lists) as items, each with its
render options and its MP4's name in OUTDIR.

A bad input becomes an entry with its sentence instead of an item, so it shows in the summary while the
other inputs render. Output names come from the inputs alone (a job's own "out" first, then each
narration's stem, `-2`, `-3` on a clash), so the same command names the same files again (`--resume`).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hear2see_desktop.core.errors import BadInputError, Fix

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".m4a", ".aac", ".opus", ".webm")
"""The files a folder input contributes (not .mp4: OUTDIR may sit inside it; an MP4 given by name renders)."""


@dataclass
class BatchEntry:
    """One line of the summary: a narration to render with its options, or a bad input and its sentence
    (`reason`, as error parts); `explicit_out` is a job's own "out", `out_path` the name the video gets."""

    label: str
    audio_path: Path | None = None
    options: argparse.Namespace | None = None
    explicit_out: Path | None = None
    out_path: Path | None = None
    reason: tuple[str | Fix, ...] = ()
    skipped: bool = False
    item_id: str | None = field(default=None, repr=False)

    @classmethod
    def bad(cls, label: str, error: BadInputError) -> BatchEntry:
        return cls(label, reason=tuple(error.parts))


def plan_batch(inputs: list[str], out_dir: Path, args: argparse.Namespace,
               jobs_parser: argparse.ArgumentParser) -> list[BatchEntry]:
    """Every input as entries in the order given, with output names (see the module docstring)."""
    entries: list[BatchEntry] = []
    for text in inputs:
        entries += _entries_of(Path(text).expanduser(), text, out_dir, args, jobs_parser)
    _name_outputs(entries, out_dir)
    return entries


def _entries_of(path: Path, label: str, out_dir: Path, args: argparse.Namespace,
                jobs_parser: argparse.ArgumentParser) -> list[BatchEntry]:
    if path.is_dir():
        files = sorted((child for child in path.iterdir()
                        if child.is_file() and child.suffix.lower() in AUDIO_SUFFIXES),
                       key=lambda child: child.name.lower())
        if not files:
            return [BatchEntry.bad(label, BadInputError(f"The folder {path} holds no audio files "
                                                        f"({' '.join(AUDIO_SUFFIXES)}): choose another folder."))]
        return [BatchEntry(str(child), child, args) for child in files]
    if path.suffix.lower() == ".json" and path.is_file():
        return _jobs_of(path, label, out_dir, args, jobs_parser)
    if not path.exists():
        return [BatchEntry.bad(label, BadInputError(f"There is no file or folder at {path}: check the path."))]
    return [BatchEntry(label, path, args)]


def _jobs_of(path: Path, label: str, out_dir: Path, args: argparse.Namespace,
             jobs_parser: argparse.ArgumentParser) -> list[BatchEntry]:
    """A JSON job list: `[{"audio": FILE, "out": NAME.mp4, "steps": 8, ...}, ...]` (or `{"jobs": [...]}`);
    audio paths are relative to the list's folder, outputs to OUTDIR."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        return [BatchEntry.bad(label, BadInputError(
            f"{path} is not a readable JSON list of jobs ({error}): fix it, or give the audio files instead."))]
    jobs = data.get("jobs") if isinstance(data, dict) else data
    if not isinstance(jobs, list):
        return [BatchEntry.bad(label, BadInputError(
            f'{path} must hold a list of jobs, each like {{"audio": "take.wav", "steps": 8}}.'))]
    entries = []
    for number, job in enumerate(jobs, 1):
        job_label = f"{label} job {number}"
        try:
            entries.append(_job_entry(job, path, job_label, out_dir, args, jobs_parser))
        except BadInputError as error:
            entries.append(BatchEntry(job_label, reason=(f"Job {number} in {path.name}: ", *error.parts)))
    return entries


def _job_entry(job: Any, path: Path, label: str, out_dir: Path, args: argparse.Namespace,
               jobs_parser: argparse.ArgumentParser) -> BatchEntry:
    if not isinstance(job, dict) or not isinstance(job.get("audio"), str) or not job["audio"].strip():
        raise BadInputError('it needs "audio", the narration file to render (relative to the list\'s folder).')
    audio = (path.parent / Path(job["audio"]).expanduser())
    out = job.get("out")
    if out is not None and (not isinstance(out, str) or not out.strip()):
        raise BadInputError('"out" must be the name of the MP4 to write (relative to OUTDIR).')
    options = job_options({k: v for k, v in job.items() if k not in ("audio", "out")}, args, jobs_parser)
    return BatchEntry(f"{label} ({job['audio']})", audio, options,
                      explicit_out=out_dir / Path(out).expanduser() if out else None)


def job_options(job: dict[str, Any], defaults: argparse.Namespace,
                jobs_parser: argparse.ArgumentParser) -> argparse.Namespace:
    """The batch's render options with a job's own ones over them. A job names an option as its flag does
    (`"keyframe-interval": 2`, `"keyframe_interval"` too); a list gives a repeated flag (`"lora": [...]`),
    true/false a switch. The job's values go through the flags' own parser, so they are checked as the
    command line checks them."""
    actions = {}
    for action in jobs_parser._actions:
        actions[action.dest] = action
        for flag in action.option_strings:
            actions[flag.lstrip("-")] = action
    namespace = argparse.Namespace(**vars(defaults))
    tokens: list[str] = []
    for key, value in job.items():
        action = actions.get(key) or actions.get(key.replace("_", "-"))
        if action is None or not action.option_strings:
            raise BadInputError(f"unknown option '{key}': name render options as `hear2see render`'s flags "
                                "(steps, mode, lora, ...).")
        if hasattr(namespace, action.dest):
            delattr(namespace, action.dest)  # the job's value replaces the batch's (a list too)
        flag = action.option_strings[-1]
        if action.nargs == 0:
            if not isinstance(value, bool):
                raise BadInputError(f"'{key}' is a switch: give it true or false, not {json.dumps(value)}.")
            tokens += [flag] if value else []
        elif isinstance(value, list):
            tokens += [f"{flag}={element}" for element in value]
        elif value is not None:
            tokens.append(f"{flag}={json.dumps(value) if isinstance(value, bool) else value}")
    return jobs_parser.parse_args(tokens, namespace=namespace)


def _name_outputs(entries: list[BatchEntry], out_dir: Path) -> None:
    """Give each entry its MP4 (see the module docstring); a job whose "out" another job took is bad."""
    taken: set[str] = set()
    for entry in entries:
        if entry.reason or entry.explicit_out is None:
            continue
        key = _key(entry.explicit_out)
        if key in taken:
            entry.reason = (f"{entry.label} writes {entry.explicit_out.name}, as another job does: give each job "
                            'its own "out".',)
            continue
        taken.add(key)
        entry.out_path = entry.explicit_out
    for entry in entries:
        if entry.reason or entry.out_path is not None:
            continue
        assert entry.audio_path is not None
        stem, number = entry.audio_path.stem, 1
        candidate = out_dir / f"{stem}.mp4"
        while _key(candidate) in taken:
            number += 1
            candidate = out_dir / f"{stem}-{number}.mp4"
        taken.add(_key(candidate))
        entry.out_path = candidate


def _key(path: Path) -> str:
    """Names that are one file on a case-insensitive disk (Windows, macOS) clash."""
    return str(path.resolve()).lower()
