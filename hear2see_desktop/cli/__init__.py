"""The `hear2see` command line: a thin argparse front end over the core jobs (see main.py)."""

from hear2see_desktop.cli.main import main
from hear2see_desktop.cli.parser import build_parser

__all__ = ["build_parser", "main"]
