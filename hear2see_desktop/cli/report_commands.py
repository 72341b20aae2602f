"""The commands that read back what renders made: the run log (`runs`) and the metrics (`eval`)."""

from __future__ import annotations

import argparse
import json
import sys

from hear2see_desktop.cli.common import existing_file, run_in_terminal
from hear2see_desktop.cli.render_flags import flag_words
from hear2see_desktop.core import paths
from hear2see_desktop.core.runlog import find_record, mean_ratings, read_log


def cmd_runs(args: argparse.Namespace) -> int:

    runs_log = args.runs_log or paths.runs_log_path()
    if args.runs_command == "rate":
        from hear2see_desktop.core.runlog import rate_run

        record = rate_run(runs_log, args.run_id, args.rating)
        print(f"Rated run {record['id']}: {args.rating}/5")
        return 0
    if args.runs_command == "show":
        print(json.dumps(find_record(runs_log, args.run_id), indent=2, ensure_ascii=False))
        return 0
    run_log = read_log(runs_log)
    for number in run_log.skipped_lines:
        print(f"warning: skipped unreadable line {number} of {runs_log}", file=sys.stderr)
    records = run_log.records
    if args.search:
        from hear2see_desktop.core.history import record_matches

        records = [record for record in records if record_matches(record, args.search)]
    if args.json:
        print(json.dumps(records, ensure_ascii=False))
        return 0
    if not records:
        print(f"No runs with '{args.search}' in their prompts in {runs_log}." if args.search and run_log.records
              else f"No runs logged yet in {runs_log}.", file=sys.stderr)
        return 0
    for record in records:
        size = record.get("size")
        size = size if isinstance(size, list) and len(size) == 2 else ["?", "?"]  # hand-edited logs too
        rating = record.get("rating")
        stars = "★" * rating + "  " if isinstance(rating, int) and 1 <= rating <= 5 else ""
        stars += "(deleted)  " if record.get("deleted") else ""  # its files, from the History
        seeds = record.get("seeds")
        seed = record.get("seed", seeds[0] if isinstance(seeds, list) and seeds else "?")
        prompt = str(record.get("prompt", ""))
        print(
            f"{record.get('id')}  {str(record.get('time', ''))[:19]}  {record.get('frames', '?')} frames "
            f"@{record.get('fps', '?')}fps  {size[0]}x{size[1]}  {record.get('steps', '?')} steps  "
            f"seed {seed}  {stars}"
            f"{prompt[:50]}{'…' if len(prompt) > 50 else ''}"
        )
    summary = mean_ratings(records)
    if summary:
        print("\nMean rating by settings:")
        for label, mean, count in summary:
            print(f"  {mean:.2f}  ({count} rated)  {label}")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from hear2see_desktop.core.eval_job import EvalJob

    job = EvalJob(
        existing_file(args.video, "video"),
        audio_path=existing_file(args.audio, "audio file") if args.audio else None,
        text=args.text,
        clip_model=args.clip_model,
        reference_dir=args.reference,
        runs_log=args.runs_log,
        feature_models=args.feature_models,
    )
    result = run_in_terminal(job)
    if args.json:
        print(json.dumps(result.to_dict(flag_words), ensure_ascii=False))
        return 0
    align, strict, flick, clip = result.av_align, result.av_align.one_to_one, result.flicker, result.clipsim
    score = "no events" if align.score is None else f"{align.score:.3f}"
    print(f"AV-Align   {score}  ({len(align.audio_peaks_s)} audio onsets, {len(align.video_peaks_s)} "
          f"motion peaks, {len(align.matched_audio)} onsets within a frame of a peak; TempoTokens' reference)")
    score = "no events" if strict.score is None else f"{strict.score:.3f}"
    print(f"AV-Align (one-to-one) {score}  ({len(strict.audio_peaks_s)} audio onsets, "
          f"{len(strict.video_peaks_s)} motion peaks, {len(strict.matched_audio)} matched pairs)")
    print(f"CLIPSIM    {'-' if clip is None else format(clip.score, '.4f')}")
    if follow := result.scene_following:
        keep = ("" if follow.transition_keep is None else
                f"; in-betweens keep {follow.transition_keep:.2f} of their keyframes' CLIPSIM, worst "
                f"{follow.worst_transition:.2f}")
        print(f"Scenes     {follow.accuracy:.3f} of frames match their own scene's prompt best "
              f"({follow.scenes} scenes; own-scene CLIPSIM {follow.prompt_fidelity:.4f}{keep})")
    print(f"Flicker    {flick.warped_mad:.2f} after motion compensation, {flick.plain_mad:.2f} plain (0-255)")
    if fvd := result.fvd:
        print(f"FVD        {'-' if fvd.score is None else format(fvd.score, '.2f')}  ({fvd.clips} clips of "
              f"{fvd.clip_frames} frames vs {fvd.reference_clips} reference clips)")
    if inception := result.inception_score:
        reference = ("-" if inception.reference_score is None
                     else f"{inception.reference_score:.3f} +/- {inception.reference_std:.3f}")
        splits = f"{inception.splits} split{'' if inception.splits == 1 else 's'}"
        print(f"IS         {inception.score:.3f} +/- {inception.std:.3f}  ({inception.frames} frames, "
              f"{splits}); reference {reference} ({inception.reference_frames} frames)")
    if result.run:
        print(f"Run        {result.run.id}: {result.run.unet_evaluations} UNet evaluations, "
              f"timings {result.run.timings_s}")
    for note in result.notes:
        print(f"Note       {note.worded(flag_words)}")
    return 0
