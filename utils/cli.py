"""The command-line shape every preparation script shares: output options and the entry point
that turns a DataError or OSError into one line (utils/io.py run_command)."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Callable

from utils.io import run_command


def add_output_options(parser: argparse.ArgumentParser, default_dir: Path, what: str) -> None:
    """``--output-dir`` (default ``default_dir``, described as ``what``) and ``--force``."""
    parser.add_argument("--output-dir", type=Path, default=default_dir,
                        help=f"{what} (default: {default_dir})")
    parser.add_argument("--force", action="store_true", help="overwrite existing output files")


def script_main(parse_args: Callable[[list[str] | None], argparse.Namespace],
                run: Callable[[argparse.Namespace], Any]) -> Callable[[list[str] | None], int]:
    """``main(argv) -> exit status``: parse, run, one ``error:`` line instead of a traceback."""
    def main(argv: list[str] | None = None) -> int:
        return run_command(lambda: run(parse_args(argv)))
    return main
