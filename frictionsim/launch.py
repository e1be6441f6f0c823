"""The ``frictionsim`` command's entry point: a Ctrl-C while the command is still being
loaded (imports take a moment) is the same one line as later, not a traceback."""

from __future__ import annotations

import sys


def main() -> None:
    """Load the command line (:mod:`frictionsim.cli`) and run it."""
    try:
        from .cli import main as run
    except KeyboardInterrupt:
        sys.stderr.write("interrupted; nothing was written\n")
        raise SystemExit(130) from None
    run()
