"""`hear2see batch`: many narrations rendered one after another through the render queue, then a summary.

One bad input never stops the others: it gets its sentence in the summary. Exit codes: 0 when every item
rendered (or was skipped by `--resume` as already complete), 4 when any render failed (also when inputs
were bad: a failed render is the one the inputs do not explain), 2 when an input was bad and nothing else
went wrong, 130 after Ctrl-C.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from hear2see_desktop.cli.batch_inputs import BatchEntry, plan_batch
from hear2see_desktop.cli.batch_progress import BatchProgress
from hear2see_desktop.cli.narration_commands import cluster_address, request_from_args
from hear2see_desktop.cli.parser import job_options_parser
from hear2see_desktop.cli.render_flags import flag_words
from hear2see_desktop.core import paths
from hear2see_desktop.core.errors import BadInputError, CancelledError, Fix, RenderFailedError, worded
from hear2see_desktop.core.render_queue import ItemStatus, QueueEvents, QueueItem, RenderQueue

RENDERED, SKIPPED, BAD, FAILED, CANCELLED = "rendered", "skipped", "bad input", "failed", "cancelled"


def cmd_batch(args: argparse.Namespace) -> int:
    out_dir = _output_dir(args.output_dir)
    runs_log = args.runs_log or paths.runs_log_path()
    _connect_cluster(args)  # an unreachable cluster is one sentence before any item starts
    entries = plan_batch(args.inputs, out_dir, args, job_options_parser())
    queue = RenderQueue()
    for entry in entries:
        if entry.reason:
            continue
        assert entry.out_path is not None and entry.audio_path is not None and entry.options is not None
        if args.resume and is_complete(entry.out_path):
            entry.skipped = True
            continue
        try:
            request = request_from_args(entry.options, entry.audio_path, entry.out_path, runs_log)
        except BadInputError as error:
            entry.reason = tuple(error.parts)
            continue
        entry.item_id = queue.add(request, label=entry.label).id
    progress = BatchProgress([item.id for item in queue.items()])
    queue.events = QueueEvents(progress=progress.progress, finished=progress.finished)
    interrupted = False
    try:
        queue.run_all()
    except KeyboardInterrupt:
        interrupted = True
        queue.cancel_all()
    finally:
        progress.close()
    results = summarise(entries, {item.id: item for item in queue.items()}, sys.stdout)
    if interrupted:
        print(f"hear2see: {CancelledError()}", file=sys.stderr)
        return CancelledError.exit_code
    if FAILED in results:
        return RenderFailedError.exit_code
    return BadInputError.exit_code if BAD in results else 0


def _connect_cluster(args: argparse.Namespace) -> None:
    """With `--cluster`: Ray installed, the cluster reached and its workers started, or one sentence (exit 2)."""
    address = cluster_address(args)
    if address is not None:
        from hear2see_desktop.core.cluster.session import connect

        connect(address)


def is_complete(out_path: Path) -> bool:
    """The video is whole: it exists under its final name (the video writer renames it there only when
    finished, see core/video.py) and is not empty."""
    return out_path.is_file() and out_path.stat().st_size > 0


def _output_dir(text: str) -> Path:
    out_dir = Path(text).expanduser()
    if out_dir.exists() and not out_dir.is_dir():
        raise BadInputError(f"The output folder {out_dir} is a file: give a folder for the videos.")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise BadInputError(f"Cannot create the output folder {out_dir} ({error.strerror or error}): "
                            "choose another.") from error
    return out_dir


def summarise(entries: list[BatchEntry], items: dict[str, QueueItem], stream: TextIO) -> list[str]:
    """Print the summary table (item, result, the output or the sentence) and totals; returns the results."""
    rows = [_row(entry, items.get(entry.item_id or "")) for entry in entries]
    results = [result for result, _ in rows]
    label_width = min(max([len("item"), *(len(entry.label) for entry in entries)]), 48)
    stream.write(f"\n{'#':>3}  {'item':<{label_width}}  {'result':<9}  output or reason\n")
    for number, (entry, (result, detail)) in enumerate(zip(entries, rows, strict=True), 1):
        stream.write(f"{number:>3}  {entry.label:<{label_width}}  {result:<9}  {detail}\n")
    counts = ", ".join(f"{results.count(word)} {word}" for word in (RENDERED, SKIPPED, BAD, FAILED, CANCELLED)
                       if word in results)
    stream.write(f"{len(entries)} item{'s' if len(entries) != 1 else ''}: {counts or 'nothing to do'}.\n")
    stream.flush()
    return results


def _row(entry: BatchEntry, item: QueueItem | None) -> tuple[str, str]:
    """(result, detail) of one entry: the video's path, or why there is none."""
    if entry.skipped:
        return SKIPPED, f"{entry.out_path} (already complete: --resume)"
    if item is None:
        return BAD, _sentence(entry.reason)
    if item.status == ItemStatus.DONE:
        return RENDERED, str(entry.out_path)
    if item.status == ItemStatus.FAILED:
        return (BAD if item.exit_code == BadInputError.exit_code else FAILED), item.sentence(flag_words)
    return CANCELLED, item.sentence(flag_words) or CancelledError().worded(flag_words)


def _sentence(reason: tuple[str | Fix, ...]) -> str:
    return worded(reason, flag_words)
