"""Entry point of the frozen (PyInstaller) app: the same `hear2see` command line, made safe to run frozen.

Before anything else: let multiprocessing children of a frozen executable run their task instead of the
app; give a windowed build (no console) streams to write to; record crashes (fatal signals too) in the
log folder, since a packaged app has no terminal to show a traceback in.
"""

import multiprocessing
import sys


def main() -> int:
    """Run the app's command line with the frozen-app safety nets in place."""
    multiprocessing.freeze_support()
    from hear2see_desktop.logging_setup import ensure_std_streams, install_crash_log

    ensure_std_streams()
    install_crash_log(fatal_signals=True)
    from hear2see_desktop.cli import main as cli_main

    return cli_main()


if __name__ == "__main__":
    sys.exit(main())
