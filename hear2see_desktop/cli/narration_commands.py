"""The commands from narration to video: transcribe, prompt, storyboard, render."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from hear2see_desktop.cli.common import existing_file, read_transcript, run_in_terminal
from hear2see_desktop.cli.render_flags import settings_from_args
from hear2see_desktop.cli_progress import TerminalProgress
from hear2see_desktop.core import paths
from hear2see_desktop.core.errors import BadInputError
from hear2see_desktop.core.prompt.builder import build_prompt
from hear2see_desktop.core.prompt.styles import style_names
from hear2see_desktop.core.render_estimate import RenderEstimate
from hear2see_desktop.core.render_job import RenderJob, RenderRequest, check_output_path, replay_request
from hear2see_desktop.core.run_record import RunRecord
from hear2see_desktop.core.runlog import find_record
from hear2see_desktop.core.sounds.track import SoundTrack
from hear2see_desktop.core.storyboard.board import save_storyboard
from hear2see_desktop.core.storyboard.sounds import storyboard_for_take


def cmd_transcribe(args: argparse.Namespace) -> int:
    from hear2see_desktop.core.transcribe_job import TranscribeJob

    job = TranscribeJob(existing_file(args.audio, "audio file"), args.engine, args.asr_model,
                                language=args.language)
    transcript = run_in_terminal(job)
    if args.json:
        print(json.dumps(transcript.to_dict(), ensure_ascii=False))
    else:
        print(transcript.text)
    return 0


def cmd_prompt(args: argparse.Namespace) -> int:

    text = read_transcript(args.transcript).text if args.transcript else args.text
    result = build_prompt(text, style=args.style)
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False))
    else:
        print(result.prompt)
    return 0


def cmd_storyboard(args: argparse.Namespace) -> int:
    from hear2see_desktop.core.transcribe_job import TranscribeJob

    if args.style not in style_names():
        raise BadInputError(f"Unknown style '{args.style}': use one of {', '.join(style_names())}.")
    out_path = Path(args.output).expanduser()
    if out_path.suffix.lower() != ".json":
        raise BadInputError(f"The storyboard {out_path.name} must end in .json.")
    if not out_path.parent.is_dir():
        raise BadInputError(f"The folder {out_path.parent} does not exist: create it or choose another output.")
    audio_path = existing_file(args.audio, "audio file") if args.audio else None
    track, onsets_s = _heard(audio_path, args.sound_model)
    if args.transcript:
        transcript = read_transcript(args.transcript)
    elif audio_path is not None:
        transcript = run_in_terminal(TranscribeJob(audio_path, args.engine, args.asr_model, language=args.language,
                                                   allow_no_words=track is not None))
    else:
        raise BadInputError("No narration given: pass an AUDIO file, or --transcript FILE.json.")
    if not transcript.words and track is None:
        raise BadInputError("The transcript has no timed words, so there is nothing to split into scenes.")
    board, from_sounds = storyboard_for_take(transcript, track, onsets_s, style=args.style, negative=args.negative,
                                             min_scene_s=args.min_scene, max_scene_s=args.max_scene)
    if from_sounds and audio_path is not None:
        print(f"No speech detected in {audio_path.name}: the scenes follow its sounds.", file=sys.stderr)
    save_storyboard(board, out_path)
    for number, scene in enumerate(board.scenes, 1):
        print(f"{number:>2}  {scene.start_s:6.2f}-{scene.end_s:6.2f} s  {scene.prompt}")
    print(out_path, file=sys.stderr)
    return 0


def _heard(audio_path: Path | None, sound_model: str | None) -> tuple[SoundTrack | None, list[float]]:
    """The take's sound track and strong onsets when a sound model is asked for; (None, []) otherwise."""
    if not sound_model:
        return None, []
    if audio_path is None:
        raise BadInputError("The sound model hears the take itself: pass its AUDIO file too.")
    from hear2see_desktop.core.audio import load_audio
    from hear2see_desktop.core.sounds.changes import strong_onsets
    from hear2see_desktop.core.sounds.job import SoundsJob

    audio = load_audio(audio_path)
    track = run_in_terminal(SoundsJob(audio_path, sound_model, audio=audio))
    return track, strong_onsets(audio)


def cmd_render(args: argparse.Namespace) -> int:

    out_path = Path(args.output).expanduser()
    check_output_path(out_path)
    runs_log = args.runs_log or paths.runs_log_path()
    if args.replay:
        if args.audio:
            raise BadInputError("--replay renders the logged narration: leave out AUDIO.")
        request = replay_request(RunRecord.from_dict(find_record(runs_log, args.replay)), out_path, runs_log)
    else:
        if not args.audio:
            raise BadInputError("No narration given: pass an AUDIO file, or --replay RUN_ID.")
        storyboard = None
        if args.storyboard:
            from hear2see_desktop.core.storyboard.board import load_storyboard

            storyboard = load_storyboard(existing_file(args.storyboard, "storyboard"))
        request = request_from_args(args, existing_file(args.audio, "audio file"), out_path, runs_log)
        request.storyboard = storyboard
    request.srt_path = _subtitle_path(args.srt, ".srt")
    request.vtt_path = _subtitle_path(args.vtt, ".vtt")
    request.ass_path = _subtitle_path(args.ass, ".ass")
    request.use_cache = not args.no_cache
    request.cluster = cluster_address(args)
    progress = TerminalProgress()
    try:
        result = RenderJob(request, on_estimate=lambda estimate: progress.say(estimate_line(estimate))).run(
            progress, lambda: False)
    finally:
        progress.close()
    board, transcript = result.record.storyboard, result.record.transcript
    if board is not None and board.sounds is not None and not transcript.text.strip() and not args.replay:
        print(f"No speech detected in {request.audio_path.name}: the scenes followed its sounds.", file=sys.stderr)
    print(result.out_path)
    print(f"run {result.run_id}", file=sys.stderr)
    return 0


def request_from_args(args: argparse.Namespace, audio_path: Path, out_path: Path,
                      runs_log: Path | None) -> RenderRequest:
    """The render of one narration as the render options in `args` describe it (`render` and `batch` share it,
    so an option added here reaches both)."""
    return RenderRequest(
        audio_path=audio_path,
        out_path=out_path,
        settings=settings_from_args(args),
        engine=args.engine,
        asr_model=args.asr_model,
        asr_language=args.language,
        runs_log=runs_log,
        use_cache=not args.no_cache,
        sound_model=getattr(args, "sound_model", None),
        cluster=cluster_address(args),
    )


def cluster_address(args: argparse.Namespace) -> str | None:
    """The `--cluster` address, checked before anything starts: a malformed one, or one without Ray installed,
    is one sentence."""
    text = getattr(args, "cluster", None)
    if not text:
        return None
    from hear2see_desktop.core.cluster.address import parse_cluster_address, ray_installed, ray_missing_error

    parse_cluster_address(text)
    if not ray_installed():
        raise ray_missing_error()
    return text


def estimate_line(estimate: RenderEstimate) -> str:
    """The estimate as the render command prints it before the model loads, with the way to a draft when the
    render is long (or animate on a CPU above 256 px)."""
    line = f"Estimated render time: {estimate.words()}."
    if estimate.long or estimate.animate_on_cpu_too_big:
        line += (" For a quick draft first: --mode smooth --width 256 --height 256, with --lcm and --decoder taesd "
                 "when installed." if not estimate.work.motion else
                 " For a quick draft first: --width 256 --height 256, with --lcm when AnimateLCM is installed.")
    return line


def _subtitle_path(text: str | None, suffix: str) -> Path | None:
    if text is None:
        return None
    path = Path(text).expanduser()
    if path.suffix.lower() != suffix:
        raise BadInputError(f"The subtitle file {path.name} must end in {suffix}.")
    return path
