"""`python -m hear2see_desktop` runs the same entry point as the `hear2see` command."""

import sys

from hear2see_desktop.cli import main

sys.exit(main())
