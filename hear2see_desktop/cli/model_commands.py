"""The model manager and LoRA training on the command line: `models` and `train-lora`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from hear2see_desktop.cli_progress import TerminalProgress
from hear2see_desktop.core.errors import BadInputError, CancelledError
from hear2see_desktop.core.models import registry
from hear2see_desktop.core.models.catalogue import find_entry
from hear2see_desktop.core.models.download import DownloadJob, human_bytes
from hear2see_desktop.core.models.importing import import_checkpoint, import_file, import_lora
from hear2see_desktop.core.models.registry import entry_path, is_installed, model_states, models_root
from hear2see_desktop.core.training.lora_train import TrainLoraJob, TrainSettings


def _models_list(as_json: bool) -> int:

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

    if kind is None:  # also converts a trusted pickle first
        _, installed = import_file(source, trust_pickle=trust, config_dir=config_dir)
    else:
        importer = import_lora if kind == "lora" else import_checkpoint
        installed = importer(source, trust_pickle=trust, config_dir=config_dir)
    print(installed)
    return 0


def cmd_models(args: argparse.Namespace) -> int:

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
