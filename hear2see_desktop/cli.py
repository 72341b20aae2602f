"""The `hear2see` command line: thin argparse front end over the core jobs.

Every failure a user can act on is a Hear2SeeError: printed as one sentence on stderr, with the
exit code the error carries (2 bad input, 3 model missing, 4 render failed, 130 cancelled).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from hear2see_desktop import __version__
from hear2see_desktop.core.errors import BadInputError, CancelledError, Hear2SeeError

if TYPE_CHECKING:
    from hear2see_desktop.core.settings import RenderSettings

log = logging.getLogger("hear2see.cli")

# Nothing here may reach the network: models come from disk only (the model manager downloads on request).
os.environ.setdefault("HF_HUB_OFFLINE", "1")


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one sentence and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: {message[0].upper() + message[1:]}. See `{self.prog} --help`.\n")


def _add_asr_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--engine", choices=("auto", "vosk", "whisper"), default="auto",
                        help="speech recogniser: auto uses Vosk when a Vosk model is installed, else Whisper")
    parser.add_argument("--asr-model", metavar="PATH|NAME",
                        help="a Vosk or faster-whisper model folder, or an installed catalogue name (vosk-ko-small)")
    parser.add_argument("--language", metavar="CODE",
                        help="the language spoken (en, de, fr, es, ko): uses the installed Vosk model for it")


def _transition_seconds(text: str) -> float | None:
    """`--transition`: seconds, or 'whole' (None: the transition fills the time between keyframes)."""
    if text.strip().lower() == "whole":
        return None
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number of seconds or 'whole'") from None


def _add_scene_flags(parser: argparse.ArgumentParser, defaults: RenderSettings) -> None:
    parser.add_argument("--min-scene", type=float, default=defaults.min_scene_s, metavar="SECONDS",
                        help="shortest scene the narration is split into")
    parser.add_argument("--max-scene", type=float, default=defaults.max_scene_s, metavar="SECONDS",
                        help="longest scene before it is split")


def build_parser() -> argparse.ArgumentParser:
    """The full command-line grammar (exact names are relied on by scripts and tests)."""
    from hear2see_desktop.core.settings import DECODERS, MODES, SCHEDULERS, RenderSettings

    defaults = RenderSettings()
    parser = _Parser(prog="hear2see", description="Turn a spoken narration into a short video, offline.")
    parser.add_argument("--version", action="version", version=f"hear2see {__version__}")
    parser.add_argument("--verbose", action="store_true", help="also print the log on stderr")
    parser.add_argument("--self-test", action="store_true",
                        help="check this install end to end (ASR, prompt, a tiny render, MP4) offline; exit 0 on PASS")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    transcribe = sub.add_parser("transcribe", help="print the transcript of an audio file")
    transcribe.add_argument("audio", metavar="AUDIO")
    _add_asr_flags(transcribe)
    transcribe.add_argument("--json", action="store_true", help="print text, words with times, engine, model")

    prompt = sub.add_parser("prompt", help="print the visual prompt built from a text or a transcript")
    source = prompt.add_mutually_exclusive_group(required=True)
    source.add_argument("text", nargs="?", metavar="TEXT")
    source.add_argument("--transcript", metavar="FILE.json", help="a `hear2see transcribe --json` output")
    prompt.add_argument("--style", default=defaults.style, help="style preset (see --help of render)")
    prompt.add_argument("--json", action="store_true")

    storyboard = sub.add_parser("storyboard", help="split a narration into timed scenes with one prompt each (JSON)")
    storyboard.add_argument("audio", nargs="?", metavar="AUDIO")
    storyboard.add_argument("-o", "--output", required=True, metavar="BOARD.json")
    storyboard.add_argument("--transcript", metavar="FILE.json", help="a `transcribe --json` output (skips ASR)")
    storyboard.add_argument("--style", default=defaults.style)
    storyboard.add_argument("--negative", metavar="TEXT", help="negative prompt (default: a standard one)")
    _add_scene_flags(storyboard, defaults)
    _add_asr_flags(storyboard)

    render = sub.add_parser("render", help="narration in, MP4 out (ASR -> prompt -> frames -> video)")
    render.add_argument("audio", nargs="?", metavar="AUDIO")
    render.add_argument("-o", "--output", required=True, metavar="OUT.mp4")
    render.add_argument("--replay", metavar="RUN_ID", help="render a logged run again with the same settings")
    render.add_argument("--prompt", help="the picture to draw (skips the prompt builder)")
    render.add_argument("--style", default=defaults.style)
    render.add_argument("--negative", metavar="TEXT", help="negative prompt (default: a standard one)")
    render.add_argument("--model", default=defaults.model, metavar="ID|DIR|FILE.safetensors")
    render.add_argument("--model-config", metavar="DIR",
                        help="component configs for a single-file checkpoint (default: the bundled SD 1.5 ones)")
    render.add_argument("--lora", action="append", default=[], metavar="FILE[:WEIGHT]")
    render.add_argument("--scheduler", choices=SCHEDULERS, default=defaults.scheduler)
    render.add_argument("--steps", type=int, default=defaults.steps)
    render.add_argument("--cfg", type=float, default=defaults.cfg)
    render.add_argument("--frames", type=int, default=None,
                        help="distinct images held evenly across the narration (default: one per output frame)")
    render.add_argument("--fps", type=int, default=None, help="output frame rate (default: 8 classic, 12 smooth/fast)")
    render.add_argument("--seed", type=int, default=defaults.seed)
    render.add_argument("--width", type=int, default=defaults.width, metavar="PX")
    render.add_argument("--height", type=int, default=defaults.height, metavar="PX")
    render.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"), default=defaults.device)
    render.add_argument("--mode", choices=MODES, default=defaults.mode,
                        help="classic: an independent image per frame (the paper); smooth: keyframes with denoised "
                             "in-betweens; fast: keyframes with optical-flow in-betweens")
    render.add_argument("--storyboard", metavar="BOARD.json", help="scene times and prompts from `hear2see storyboard`")
    render.add_argument("--reactivity", type=float, default=defaults.reactivity,
                        help="0 = transitions move evenly, 1 = they move on the narration's emphasis, hold on pauses")
    render.add_argument("--keyframe-interval", type=float, default=defaults.keyframe_interval_s, metavar="SECONDS",
                        help="smooth/fast: a new keyframe at least this often inside a scene")
    render.add_argument("--transition", type=_transition_seconds, default=defaults.transition_s, metavar="SECONDS",
                        help="smooth/fast: each picture holds, then dissolves into the next over this long, centred "
                             "on each scene's cut (0 = a hard cut; 'whole' = morph all the time between keyframes, "
                             "no hold)")
    _add_scene_flags(render, defaults)
    render.add_argument("--srt", metavar="FILE.srt", help="also write subtitles from the word times")
    render.add_argument("--vtt", metavar="FILE.vtt", help="also write WebVTT subtitles")
    render.add_argument("--captions", action="store_true", help="burn the narration's words into the picture")
    render.add_argument("--decoder", choices=DECODERS, default=defaults.decoder,
                        help="taesd: decode the frames with the tiny TAESD autoencoder (a quick draft; "
                             "`hear2see models download taesd`)")
    render.add_argument("--lcm", action="store_true",
                        help="4-step draft: add the LCM-LoRA (`hear2see models download lcm-lora-sd15`), LCM "
                             "sampling, no CFG (overrides --scheduler, --steps and --cfg)")
    render.add_argument("--no-cache", action="store_true", help="render every frame again (ignore the frame cache)")
    render.add_argument("--runs-log", metavar="FILE", type=Path)
    _add_asr_flags(render)

    evaluate = sub.add_parser("eval", help="AV-Align, CLIPSIM, flicker (FVD, IS with --reference) of an MP4")
    evaluate.add_argument("video", metavar="VIDEO.mp4")
    evaluate.add_argument("--audio", metavar="AUDIO", help="narration to align with (default: the video's own track)")
    evaluate.add_argument("--text", help="text for CLIPSIM (default: the prompt of the logged run)")
    evaluate.add_argument("--clip-model", metavar="PATH", help="a local CLIP model folder for CLIPSIM")
    evaluate.add_argument("--reference", metavar="DIR", type=Path,
                          help="a folder of reference videos and/or frame images: turns on FVD and IS")
    evaluate.add_argument("--feature-models", metavar="DIR", type=Path,
                          help="folder with i3d_torchscript.pt (FVD) and inception-2015-12-05.pt (IS) "
                               "(default: $HEAR2SEE_FEATURE_MODELS, then the app's models/metrics folder)")
    evaluate.add_argument("--runs-log", metavar="FILE", type=Path)
    evaluate.add_argument("--json", action="store_true")

    gui = sub.add_parser("gui", help="open the desktop app (the default with no command)")
    gui.add_argument("path", nargs="?", metavar="FILE", help="a project (.h2s) or audio file to open")

    runs = sub.add_parser("runs", help="list or show logged runs")
    runs_sub = runs.add_subparsers(dest="runs_command", metavar="ACTION", parser_class=_Parser, required=True)
    runs_list = runs_sub.add_parser("list", help="one line per run")
    runs_list.add_argument("--runs-log", metavar="FILE", type=Path)
    runs_list.add_argument("--json", action="store_true")
    runs_show = runs_sub.add_parser("show", help="the whole record of one run")
    runs_show.add_argument("run_id", metavar="RUN_ID")
    runs_show.add_argument("--runs-log", metavar="FILE", type=Path)
    runs_rate = runs_sub.add_parser("rate", help="store your 1-5 rating of a run (the paper's MOS)")
    runs_rate.add_argument("run_id", metavar="RUN_ID")
    runs_rate.add_argument("rating", metavar="N", type=int)
    runs_rate.add_argument("--runs-log", metavar="FILE", type=Path)
    _add_models_parser(sub)
    _add_train_lora_parser(sub)
    return parser


def _add_train_lora_parser(sub: argparse._SubParsersAction) -> None:
    """`hear2see train-lora DATASET_DIR -o style.safetensors`: a LoRA style from a folder of captioned images."""
    from hear2see_desktop.core.settings import DEVICES
    from hear2see_desktop.core.training.settings import GRADIENT_CHECKPOINTING, PRECISIONS, TrainSettings

    defaults = TrainSettings()
    train = sub.add_parser("train-lora", help="train a LoRA style on a folder of captioned images")
    train.add_argument("dataset", metavar="DATASET_DIR",
                       help="images with a caption each: name.txt beside name.png, or a metadata.jsonl "
                            "(file_name, text)")
    train.add_argument("-o", "--output", required=True, metavar="STYLE.safetensors")
    train.add_argument("--base", default=defaults.base, metavar="ID|DIR|FILE.safetensors",
                       help="the Stable Diffusion 1.5 model to train on (default: the render default)")
    train.add_argument("--base-config", metavar="DIR",
                       help="component configs for a single-file base checkpoint (default: the bundled SD 1.5 ones)")
    train.add_argument("--rank", type=int, default=defaults.rank, metavar="4..128",
                       help="LoRA rank: higher learns more detail and makes a bigger file")
    train.add_argument("--alpha", type=float, default=None, metavar="X",
                       help="LoRA alpha; the update is scaled by alpha/rank (default: the rank)")
    train.add_argument("--steps", type=int, default=defaults.steps, help="optimizer steps")
    train.add_argument("--lr", type=float, default=defaults.learning_rate, metavar="X", help="peak learning rate")
    train.add_argument("--warmup-steps", type=int, default=None, metavar="N",
                       help="steps of linear warm-up before the cosine decay (default: a tenth, at most 100)")
    train.add_argument("--resolution", type=int, default=defaults.resolution, metavar="PX",
                       help="images are resized and centre-cropped to this square")
    train.add_argument("--batch", type=int, default=defaults.batch_size, metavar="N")
    train.add_argument("--grad-accum", type=int, default=defaults.grad_accum, metavar="N",
                       help="micro-batches per optimizer step (a larger effective batch in the same memory)")
    train.add_argument("--seed", type=int, default=defaults.seed)
    train.add_argument("--train-text-encoder", action="store_true",
                       help="also train a LoRA on the text encoder (learns new words better, overfits sooner)")
    train.add_argument("--caption-prefix", default="", metavar="TEXT",
                       help="a trigger word or phrase put before every caption, e.g. 'sks style'")
    train.add_argument("--no-flip", action="store_true", help="do not mirror images at random (text, logos)")
    train.add_argument("--validation-prompt", metavar="TEXT",
                       help="draw this every --every steps (same seed each time) into STYLE.samples/")
    train.add_argument("--every", type=int, default=defaults.every, metavar="N",
                       help="checkpoint (into STYLE.checkpoints/) and validation image every N steps; 0: never")
    train.add_argument("--resume", action="store_true", help="continue from the newest checkpoint of this output")
    train.add_argument("--device", choices=DEVICES, default=defaults.device)
    train.add_argument("--precision", choices=PRECISIONS, default=defaults.precision,
                       help="auto: bf16/fp16 mixed precision on a CUDA GPU, fp32 elsewhere; fp16 and bf16 also run "
                            "on the CPU (the model in half the memory, but slower than fp32 there)")
    train.add_argument("--gradient-checkpointing", choices=GRADIENT_CHECKPOINTING,
                       default=defaults.gradient_checkpointing,
                       help="recompute activations in the backward pass: less memory, slower steps, the same weights "
                            "(auto: on with a CUDA GPU)")


def _add_models_parser(sub: argparse._SubParsersAction) -> None:
    """`hear2see models list|download|import|remove|path`: the model manager on the command line."""
    models = sub.add_parser("models", help="list, download, import or remove models; choose the models folder")
    actions = models.add_subparsers(dest="models_command", metavar="ACTION", parser_class=_Parser, required=True)
    models_list = actions.add_parser("list", help="the catalogue with size, licence and what is installed")
    models_list.add_argument("--json", action="store_true")
    download = actions.add_parser("download", help="download a catalogue model (resumes a stopped download)")
    download.add_argument("name", metavar="NAME")
    imported = actions.add_parser("import", help="copy a checkpoint or LoRA file into the models folder")
    imported.add_argument("path", metavar="PATH")
    imported.add_argument("--kind", choices=("checkpoint", "lora"), help="what the file is (default: detected)")
    imported.add_argument("--model-config", metavar="DIR",
                          help="a diffusers folder of the model's family to check the file against "
                               "(default: the bundled SD 1.5 configs)")
    imported.add_argument("--trust", action="store_true",
                          help="allow a pickle-based file (.ckpt/.pt/.bin), which can run code: only if you trust it")
    remove = actions.add_parser("remove", help="delete a downloaded catalogue model")
    remove.add_argument("name", metavar="NAME")
    where = actions.add_parser("path", help="print the models folder, or choose another (a USB drive, a share)")
    choice = where.add_mutually_exclusive_group()
    choice.add_argument("--set", dest="set_dir", metavar="DIR", help="use DIR as the models folder from now on")
    choice.add_argument("--reset", action="store_true", help="go back to the default models folder")


def _existing_file(text: str, what: str) -> Path:
    path = Path(text).expanduser()
    if not path.exists():
        raise BadInputError(f"The {what} {path} does not exist: check the path.")
    if path.is_dir():
        raise BadInputError(f"The {what} {path} is a folder: give a file.")
    return path


def cmd_transcribe(args: argparse.Namespace) -> int:
    from hear2see_desktop.cli_progress import TerminalProgress
    from hear2see_desktop.core.transcribe_job import TranscribeJob

    job = TranscribeJob(_existing_file(args.audio, "audio file"), args.engine, args.asr_model,
                                language=args.language)
    progress = TerminalProgress()
    try:
        transcript = job.run(progress, lambda: False)
    finally:
        progress.close()
    if args.json:
        print(json.dumps(transcript.to_dict(), ensure_ascii=False))
    else:
        print(transcript.text)
    return 0


def cmd_prompt(args: argparse.Namespace) -> int:
    from hear2see_desktop.core.prompt.builder import build_prompt

    text = _read_transcript(args.transcript).text if args.transcript else args.text
    result = build_prompt(text, style=args.style)
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False))
    else:
        print(result.prompt)
    return 0


def _render_settings(args: argparse.Namespace):  # noqa: ANN202 - RenderSettings, imported lazily
    from hear2see_desktop.core.prompt.styles import style_names
    from hear2see_desktop.core.settings import DEFAULT_FPS, LoraSpec, RenderSettings

    if args.style not in style_names():
        raise BadInputError(f"Unknown style '{args.style}': use one of {', '.join(style_names())}.")
    settings = RenderSettings(
        prompt=(args.prompt or "").strip(),
        negative_prompt=(args.negative or "").strip(),
        style=args.style,
        model=args.model,
        model_config=args.model_config,
        loras=[LoraSpec.parse(text) for text in args.lora],
        scheduler=args.scheduler,
        steps=args.steps,
        cfg=args.cfg,
        frames=args.frames,
        fps=args.fps if args.fps is not None else DEFAULT_FPS[args.mode],
        seed=args.seed,
        width=args.width,
        height=args.height,
        device=args.device,
        mode=args.mode,
        reactivity=args.reactivity,
        keyframe_interval_s=args.keyframe_interval,
        transition_s=args.transition,
        min_scene_s=args.min_scene,
        max_scene_s=args.max_scene,
        captions=args.captions,
        decoder=args.decoder,
    )
    if args.lcm:
        from hear2see_desktop.core.render.lcm import lcm_draft

        settings = lcm_draft(settings)
    return settings


def cmd_render(args: argparse.Namespace) -> int:
    from hear2see_desktop.cli_progress import TerminalProgress
    from hear2see_desktop.core import paths
    from hear2see_desktop.core.render_job import RenderJob, RenderRequest, check_output_path, replay_request
    from hear2see_desktop.core.run_record import RunRecord
    from hear2see_desktop.core.runlog import find_record

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

            storyboard = load_storyboard(_existing_file(args.storyboard, "storyboard"))
        request = RenderRequest(
            audio_path=_existing_file(args.audio, "audio file"),
            out_path=out_path,
            settings=_render_settings(args),
            engine=args.engine,
            asr_model=args.asr_model,
            asr_language=args.language,
            runs_log=runs_log,
            storyboard=storyboard,
        )
    request.srt_path = _subtitle_path(args.srt, ".srt")
    request.vtt_path = _subtitle_path(args.vtt, ".vtt")
    request.use_cache = not args.no_cache
    progress = TerminalProgress()
    try:
        result = RenderJob(request).run(progress, lambda: False)
    finally:
        progress.close()
    print(result.out_path)
    print(f"run {result.run_id}", file=sys.stderr)
    return 0


def _subtitle_path(text: str | None, suffix: str) -> Path | None:
    if text is None:
        return None
    path = Path(text).expanduser()
    if path.suffix.lower() != suffix:
        raise BadInputError(f"The subtitle file {path.name} must end in {suffix}.")
    return path


def _read_transcript(text: str):  # noqa: ANN202 - Transcript, imported lazily
    from hear2see_desktop.core.transcript import Transcript

    path = _existing_file(text, "transcript")
    try:
        return Transcript.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise BadInputError(
            f"{path.name} is not a transcript JSON file (as written by `hear2see transcribe --json`)."
        ) from error


def cmd_storyboard(args: argparse.Namespace) -> int:
    from hear2see_desktop.cli_progress import TerminalProgress
    from hear2see_desktop.core.prompt.styles import style_names
    from hear2see_desktop.core.storyboard.board import build_storyboard, save_storyboard
    from hear2see_desktop.core.transcribe_job import TranscribeJob

    if args.style not in style_names():
        raise BadInputError(f"Unknown style '{args.style}': use one of {', '.join(style_names())}.")
    out_path = Path(args.output).expanduser()
    if out_path.suffix.lower() != ".json":
        raise BadInputError(f"The storyboard {out_path.name} must end in .json.")
    if not out_path.parent.is_dir():
        raise BadInputError(f"The folder {out_path.parent} does not exist: create it or choose another output.")
    if args.transcript:
        transcript = _read_transcript(args.transcript)
    elif args.audio:
        progress = TerminalProgress()
        try:
            job = TranscribeJob(_existing_file(args.audio, "audio file"), args.engine, args.asr_model,
                                language=args.language)
            transcript = job.run(progress, lambda: False)
        finally:
            progress.close()
    else:
        raise BadInputError("No narration given: pass an AUDIO file, or --transcript FILE.json.")
    if not transcript.words:
        raise BadInputError("The transcript has no timed words, so there is nothing to split into scenes.")
    board = build_storyboard(transcript, style=args.style, negative=args.negative,
                             min_scene_s=args.min_scene, max_scene_s=args.max_scene)
    save_storyboard(board, out_path)
    for number, scene in enumerate(board.scenes, 1):
        print(f"{number:>2}  {scene.start_s:6.2f}-{scene.end_s:6.2f} s  {scene.prompt}")
    print(out_path, file=sys.stderr)
    return 0


def cmd_runs(args: argparse.Namespace) -> int:
    from hear2see_desktop.core import paths
    from hear2see_desktop.core.runlog import find_record, mean_ratings, read_log

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
    if args.json:
        print(json.dumps(run_log.records, ensure_ascii=False))
        return 0
    if not run_log.records:
        print(f"No runs logged yet in {runs_log}.", file=sys.stderr)
        return 0
    for record in run_log.records:
        size = record.get("size")
        size = size if isinstance(size, list) and len(size) == 2 else ["?", "?"]  # hand-edited logs too
        rating = record.get("rating")
        stars = "★" * rating + "  " if isinstance(rating, int) and 1 <= rating <= 5 else ""
        seeds = record.get("seeds")
        seed = record.get("seed", seeds[0] if isinstance(seeds, list) and seeds else "?")
        prompt = str(record.get("prompt", ""))
        print(
            f"{record.get('id')}  {str(record.get('time', ''))[:19]}  {record.get('frames', '?')} frames "
            f"@{record.get('fps', '?')}fps  {size[0]}x{size[1]}  {record.get('steps', '?')} steps  "
            f"seed {seed}  {stars}"
            f"{prompt[:50]}{'…' if len(prompt) > 50 else ''}"
        )
    summary = mean_ratings(run_log.records)
    if summary:
        print("\nMean rating by settings:")
        for label, mean, count in summary:
            print(f"  {mean:.2f}  ({count} rated)  {label}")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from hear2see_desktop.cli_progress import TerminalProgress
    from hear2see_desktop.core.eval_job import EvalJob

    job = EvalJob(
        _existing_file(args.video, "video"),
        audio_path=_existing_file(args.audio, "audio file") if args.audio else None,
        text=args.text,
        clip_model=args.clip_model,
        reference_dir=args.reference,
        runs_log=args.runs_log,
        feature_models=args.feature_models,
    )
    progress = TerminalProgress()
    try:
        result = job.run(progress, lambda: False)
    finally:
        progress.close()
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False))
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
        print(f"Note       {note}")
    return 0


def _models_list(as_json: bool) -> int:
    from hear2see_desktop.core.models.download import human_bytes
    from hear2see_desktop.core.models.registry import model_states, models_root

    states = model_states()
    if as_json:
        print(json.dumps([{
            "name": state.entry.name, "kind": state.entry.kind, "title": state.entry.title,
            "licence": state.entry.licence, "size_bytes": state.entry.size_bytes, "state": state.state,
            "installed": state.installed, "partial_bytes": state.partial_bytes, "path": str(state.path),
        } for state in states], ensure_ascii=False))
        return 0
    print(f"Models folder: {models_root()}")
    for state in states:
        mark = {"installed": "✓", "partial": "…"}.get(state.state, " ")
        where = state.path if state.installed else ("partly downloaded" if state.partial_bytes else "")
        print(f"{mark} {state.entry.name:<16} {state.entry.kind:<8} {'~' + human_bytes(state.entry.size_bytes):>8}  "
              f"{state.entry.licence:<22} {where}".rstrip())
    return 0


def _models_download(name: str) -> int:
    from hear2see_desktop.cli_progress import TerminalProgress
    from hear2see_desktop.core.models.catalogue import find_entry
    from hear2see_desktop.core.models.download import DownloadJob
    from hear2see_desktop.core.models.registry import entry_path, is_installed, models_root

    entry = find_entry(name)
    root = models_root()
    if is_installed(entry, root):
        print(entry_path(entry, root))
        print(f"{entry.name} is already installed.", file=sys.stderr)
        return 0
    progress = TerminalProgress()
    try:
        DownloadJob(entry, entry.install_dir(root)).run(progress, lambda: False)
    except KeyboardInterrupt:
        raise CancelledError(f"Download cancelled; run `hear2see models download {entry.name}` to resume it.") from None
    finally:
        progress.close()
    print(entry_path(entry, root))
    return 0


def _models_import(path_text: str, kind: str | None, trust: bool, config: str | None = None) -> int:
    source = Path(path_text).expanduser()
    if not source.exists():
        raise BadInputError(f"The model file {source} does not exist: check the path.")
    config_dir = Path(config).expanduser() if config else None
    if config_dir is not None and not config_dir.is_dir():
        raise BadInputError(f"The model config folder {config_dir} does not exist: pass a diffusers model folder.")
    from hear2see_desktop.core.models.importing import import_checkpoint, import_file, import_lora

    if kind is None:  # also converts a trusted pickle first
        _, installed = import_file(source, trust_pickle=trust, config_dir=config_dir)
    else:
        importer = import_lora if kind == "lora" else import_checkpoint
        installed = importer(source, trust_pickle=trust, config_dir=config_dir)
    print(installed)
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    from hear2see_desktop.core.models import registry

    if args.models_command == "list":
        return _models_list(args.json)
    if args.models_command == "download":
        return _models_download(args.name)
    if args.models_command == "import":
        return _models_import(args.path, args.kind, args.trust, args.model_config)
    if args.models_command == "remove":
        from hear2see_desktop.core.models.download import human_bytes

        freed = registry.remove(args.name)
        message = f"Removed {args.name} ({human_bytes(freed)} freed)." if freed else f"{args.name} was not installed."
        print(message, file=sys.stderr)
        return 0
    if args.set_dir or args.reset:
        registry.set_models_root(None if args.reset else args.set_dir)
        print("Models already downloaded stay where they are; move them yourself to keep using them.",
              file=sys.stderr)
    if registry.models_root_override():
        print(f"warning: {registry.MODELS_DIR_ENV_VAR} is set, so it decides the models folder.", file=sys.stderr)
    print(registry.models_root())
    return 0


def cmd_train_lora(args: argparse.Namespace) -> int:
    import signal
    import threading

    from hear2see_desktop.cli_progress import TerminalProgress
    from hear2see_desktop.core.training.lora_train import TrainLoraJob, TrainSettings

    settings = TrainSettings(
        base=args.base, base_config=args.base_config, rank=args.rank, alpha=args.alpha, steps=args.steps,
        learning_rate=args.lr, warmup_steps=args.warmup_steps, resolution=args.resolution, batch_size=args.batch,
        grad_accum=args.grad_accum, seed=args.seed, train_text_encoder=args.train_text_encoder,
        caption_prefix=args.caption_prefix, flip=not args.no_flip, every=args.every,
        validation_prompt=args.validation_prompt, device=args.device, precision=args.precision,
        gradient_checkpointing=args.gradient_checkpointing,
    )
    job = TrainLoraJob(Path(args.dataset).expanduser(), Path(args.output).expanduser(), settings, resume=args.resume)
    # The first Ctrl-C stops after the current step and keeps a checkpoint; a second one stops at once.
    stop = threading.Event()

    def on_interrupt(signum: int, frame: object) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, on_interrupt) if in_main_thread else None
    progress = TerminalProgress()
    try:
        result = job.run(progress, stop.is_set)
    finally:
        progress.close()
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    print(result.out_path)
    print(f"{result.steps} steps, final loss {result.final_loss:.4f}", file=sys.stderr)
    return 0


COMMANDS = {"transcribe": cmd_transcribe, "prompt": cmd_prompt, "render": cmd_render, "runs": cmd_runs,
            "eval": cmd_eval, "storyboard": cmd_storyboard, "models": cmd_models, "train-lora": cmd_train_lora}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code (also used by the console script)."""
    from hear2see_desktop.logging_setup import setup_logging

    parser = build_parser()
    args = parser.parse_args(argv)
    log_file = setup_logging(verbose=args.verbose)
    if args.self_test:
        from hear2see_desktop.selftest import run_self_test

        return 0 if run_self_test() else 1
    if not args.command or args.command == "gui":
        from hear2see_desktop.app import run_app

        path = Path(args.path).expanduser() if getattr(args, "path", None) else None
        return run_app(open_path=path)
    try:
        return COMMANDS[args.command](args)
    except Hear2SeeError as error:
        log.info("%s failed: %s", args.command, error, exc_info=True)
        print(f"hear2see: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print(f"hear2see: {CancelledError()}", file=sys.stderr)
        return CancelledError.exit_code
    except Exception as error:  # a bug: the user gets a sentence, the log gets the traceback
        log.exception("unexpected failure in %s", args.command)
        where = f" (details in {log_file})" if log_file else ""
        print(f"hear2see: Unexpected error {type(error).__name__}: {error}{where}.", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
