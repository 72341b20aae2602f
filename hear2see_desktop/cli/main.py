"""The `hear2see` command line: thin argparse front end over the core jobs; this module runs a command.

Every failure a user can act on is a Hear2SeeError: printed as one sentence on stderr, with the
exit code the error carries (2 bad input, 3 model missing, 4 render failed, 130 cancelled).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from hear2see_desktop.cli.batch_command import cmd_batch
from hear2see_desktop.cli.model_commands import cmd_models, cmd_train_lora
from hear2see_desktop.cli.narration_commands import cmd_prompt, cmd_render, cmd_storyboard, cmd_transcribe
from hear2see_desktop.cli.parser import build_parser
from hear2see_desktop.cli.render_flags import flag_words
from hear2see_desktop.cli.report_commands import cmd_eval, cmd_runs
from hear2see_desktop.cli.sound_commands import cmd_sounds
from hear2see_desktop.core.errors import CancelledError, Hear2SeeError
from hear2see_desktop.logging_setup import setup_logging

log = logging.getLogger("hear2see.cli")

# Nothing here may reach the network: models come from disk only (the model manager downloads on request).
# (The command modules import the libraries that could, torch, diffusers, transformers, only when they run.)
os.environ.setdefault("HF_HUB_OFFLINE", "1")

COMMANDS = {"transcribe": cmd_transcribe, "prompt": cmd_prompt, "render": cmd_render, "runs": cmd_runs,
            "eval": cmd_eval, "storyboard": cmd_storyboard, "models": cmd_models, "train-lora": cmd_train_lora,
            "batch": cmd_batch, "sounds": cmd_sounds}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code (also used by the console script)."""

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
        print(f"hear2see: {error.worded(flag_words)}", file=sys.stderr)
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
