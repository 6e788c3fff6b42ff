"""The entry point: parse, run the command, turn errors and interruptions into exit codes."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from collections.abc import Callable
from types import FrameType

from autoaug.cli._parser import build_parser
from autoaug.errors import AutoaugError

# Commands that clean up when interrupted (search and evaluate close their MLflow runs, ui and dashboard stop
# their servers); for them SIGTERM (a scheduler's stop, `kill`) is Ctrl-C.
_SIGTERM_AS_CTRL_C = ("search", "evaluate", "ui", "dashboard")


def _run(args: argparse.Namespace) -> int:
    # Imported here so that `--help`, argument errors and `autoaug ops` answer without loading torch and Ray.
    if args.command == "ops":
        from autoaug.cli import _ops as commands
    else:
        from autoaug.cli import _commands as commands
    handler: Callable[[argparse.Namespace], int] = getattr(commands, args.command)
    return handler(args)


def _ctrl_c(signum: int, frame: FrameType | None) -> None:
    """Do what Ctrl-C would do now: Ray Tune's handler while a search runs (stop, save, return), else interrupt."""
    handler = signal.getsignal(signal.SIGINT)
    if callable(handler):
        handler(signal.SIGINT, frame)
    else:  # SIGINT ignored, as in some background jobs: SIGTERM still stops
        raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``autoaug`` console script.

    Returns 0 on success, 2 for bad input, 130 when interrupted by Ctrl-C or, for ``search``, ``evaluate``
    and ``ui``, by SIGTERM (their MLflow runs are closed, or the UI's server stopped, first).
    """
    args = build_parser().parse_args(argv)
    if args.command in _SIGTERM_AS_CTRL_C:
        signal.signal(signal.SIGTERM, _ctrl_c)
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    level = logging.DEBUG if args.verbose else logging.ERROR if getattr(args, "quiet", False) else logging.INFO
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    try:
        return _run(args)
    except AutoaugError as exc:
        print(f"autoaug {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"autoaug {args.command}: interrupted", file=sys.stderr)
        return 130
