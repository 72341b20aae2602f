"""The `hear2see` grammar: commands, their arguments and flags (exact names are relied on by scripts and tests).

`hear2see render`'s settings flags come from one table (render_flags.py).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from hear2see_desktop import __version__
from hear2see_desktop.cli.render_flags import SCENE_FLAGS, add_aspect_flag, add_setting_flags, render_flags
from hear2see_desktop.core.errors import BadInputError
from hear2see_desktop.core.settings import DEVICES, RenderSettings
from hear2see_desktop.core.training.settings import GRADIENT_CHECKPOINTING, PRECISIONS, TrainSettings


class Parser(argparse.ArgumentParser):
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


def _add_sound_model_flag(parser: argparse.ArgumentParser, default_help: str) -> None:
    parser.add_argument("--sound-model", metavar="ID|DIR",
                        help="a sound-event tagger: a catalogue name (ast-audioset, `hear2see models download "
                             f"ast-audioset`) or a transformers audio-classification folder; {default_help}")


def build_parser() -> argparse.ArgumentParser:
    """The full command-line grammar (exact names are relied on by scripts and tests)."""

    defaults = RenderSettings()
    parser = Parser(prog="hear2see", description="Turn a spoken narration into a short video, offline.")
    parser.add_argument("--version", action="version", version=f"hear2see {__version__}")
    parser.add_argument("--verbose", action="store_true", help="also print the log on stderr")
    parser.add_argument("--self-test", action="store_true",
                        help="check this install end to end (ASR, prompt, a tiny render, MP4) offline; exit 0 on PASS")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)

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

    sounds = sub.add_parser("sounds", help="print the sound events of an audio file (time, top classes, loudness)")
    sounds.add_argument("audio", metavar="AUDIO")
    _add_sound_model_flag(sounds, "default: ast-audioset")
    sounds.add_argument("--json", action="store_true", help="print the windows with their events and loudness")

    storyboard = sub.add_parser("storyboard", help="split a narration into timed scenes with one prompt each (JSON)")
    storyboard.add_argument("audio", nargs="?", metavar="AUDIO")
    storyboard.add_argument("-o", "--output", required=True, metavar="BOARD.json")
    storyboard.add_argument("--transcript", metavar="FILE.json", help="a `transcribe --json` output (skips ASR)")
    storyboard.add_argument("--style", default=defaults.style)
    storyboard.add_argument("--negative", metavar="TEXT", help="negative prompt (default: a standard one)")
    add_setting_flags(storyboard, SCENE_FLAGS, defaults)
    _add_asr_flags(storyboard)
    _add_sound_model_flag(storyboard, "its sound events add words to the scenes, and a take without speech is "
                                      "cut into scenes from its sounds (needs AUDIO)")

    render = sub.add_parser("render", help="narration in, MP4 out (ASR -> prompt -> frames -> video)")
    render.add_argument("audio", nargs="?", metavar="AUDIO")
    render.add_argument("-o", "--output", required=True, metavar="OUT.mp4")
    render.add_argument("--replay", metavar="RUN_ID", help="render a logged run again with the same settings")
    add_setting_flags(render, render_flags(), defaults)
    add_aspect_flag(render)
    render.add_argument("--storyboard", metavar="BOARD.json", help="scene times and prompts from `hear2see storyboard`")
    render.add_argument("--srt", metavar="FILE.srt", help="also write subtitles from the word times")
    render.add_argument("--vtt", metavar="FILE.vtt", help="also write WebVTT subtitles")
    render.add_argument("--ass", metavar="FILE.ass", help="also write ASS subtitles in the caption style "
                                                        "(font, colours, outline, position; karaoke timing)")
    render.add_argument("--lcm", action="store_true",
                        help="4-step draft: add the LCM-LoRA (`hear2see models download lcm-lora-sd15`), LCM "
                             "sampling, no CFG (overrides --scheduler, --steps and --cfg)")
    render.add_argument("--no-cache", action="store_true", help="render every frame again (ignore the frame cache)")
    render.add_argument("--cluster", metavar="ADDRESS",
                        help="render on a Ray cluster: local[:N] starts one here with N workers, auto joins the one "
                             "this computer belongs to, ray://HOST:PORT joins another (needs the [cluster] extra)")
    render.add_argument("--runs-log", metavar="FILE", type=Path)
    _add_asr_flags(render)
    _add_sound_model_flag(render, "its sound events add words to the scenes, and a take without speech is "
                                  "cut into scenes from its sounds")
    _add_batch_parser(sub, render)

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
    runs_sub = runs.add_subparsers(dest="runs_command", metavar="ACTION", parser_class=Parser, required=True)
    runs_list = runs_sub.add_parser("list", help="one line per run")
    runs_list.add_argument("--runs-log", metavar="FILE", type=Path)
    runs_list.add_argument("--json", action="store_true")
    runs_list.add_argument("--search", metavar="TEXT", help="only runs whose prompt or a scene's prompt holds TEXT "
                                                            "(any case)")
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


RENDER_ONLY = {"help", "audio", "output", "replay", "storyboard", "srt", "vtt"}
"""`hear2see render`'s arguments that name one narration's files; every other render option is batch's too."""


class JobOptionsParser(Parser):
    """The render options alone, for a batch job's own options: a bad one is a BadInputError, not an exit."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise BadInputError(f"{message[0].upper() + message[1:]}.")


def _render_options(render: argparse.ArgumentParser) -> list[argparse.Action]:
    """The render command's options that apply to any narration (so a flag added to render reaches batch)."""
    return [action for action in render._actions if action.dest not in RENDER_ONLY]


def _add_batch_parser(sub: argparse._SubParsersAction, render: argparse.ArgumentParser) -> None:
    """`hear2see batch INPUTS... -o OUTDIR [render options]`: many renders through the render queue."""
    batch = sub.add_parser("batch", help="render many narrations: audio files, folders of them, JSON job lists",
                           description="Render each input one after another into OUTDIR. An input is an audio "
                                       "file, a folder (its audio files, by name) or a .json list of jobs "
                                       "({\"audio\": FILE, \"out\": NAME.mp4, and render options named as the "
                                       "flags below, which they override}). Exit 0: all rendered; 2: an input "
                                       "was bad; 4: a render failed.")
    batch.add_argument("inputs", nargs="+", metavar="INPUT", help="audio files, folders or .json job lists")
    batch.add_argument("-o", "--output-dir", required=True, metavar="OUTDIR",
                       help="where the MP4s go, each named after its narration (created when missing)")
    batch.add_argument("--resume", action="store_true",
                       help="skip the items whose MP4 is already in OUTDIR (a video there is always complete: "
                            "it takes its name only when finished)")
    for action in _render_options(render):
        batch._add_action(action)


def job_options_parser() -> JobOptionsParser:
    """A parser of `hear2see render`'s options that apply to any narration (a batch job's own options)."""
    commands = next(action for action in build_parser()._actions if isinstance(action, argparse._SubParsersAction))
    jobs = JobOptionsParser(prog="hear2see batch", add_help=False)
    for action in _render_options(commands.choices["render"]):
        jobs._add_action(action)
    return jobs


def _add_train_lora_parser(sub: argparse._SubParsersAction) -> None:
    """`hear2see train-lora DATASET_DIR -o style.safetensors`: a LoRA style from a folder of captioned images."""

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
    actions = models.add_subparsers(dest="models_command", metavar="ACTION", parser_class=Parser, required=True)
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
