"""Run outputs: the run folder, ``log.txt`` in the original's layout, ``metrics.jsonl`` (one JSON
object per evaluation, machine-readable), and the TensorBoard writer.

Every line written to the two text files is also kept in memory, so a checkpoint can store them
and ``--resume`` can rewrite both files exactly as they were at that checkpoint.

Only rank 0 of a distributed run writes (docs/distributed.md#launch): the other ranks hold a
:class:`NullRunLog` (the same lines in memory, no files) and a :class:`NullWriter`.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

from utils.io import append_text, atomic_write

LOG_HEADER = "epoch\tlr\terror_h36m_p1\terror_h36m_p2\terror_3dhp_p1\terror_3dhp_p2\tPCK\tAUC\t"


def make_run_dir(base: str | os.PathLike, posenet_name: str, keypoints: str, note: str) -> Path:
    """``<base>/<posenet>/<keypoints>/<timestamp>_<note>/`` (no ':' so it works on Windows)."""
    stamp = time.strftime("%Y-%m-%dT%H-%M-%S")
    parent = Path(base) / posenet_name / keypoints
    run_dir = parent / f"{stamp}_{note}"
    k = 1
    while run_dir.exists():
        k += 1
        run_dir = parent / f"{stamp}-{k}_{note}"
    (run_dir / "tmp").mkdir(parents=True)
    return run_dir


def format_row(values: list) -> str:
    """A tab-separated log row, 8 decimals; None (e.g. no 3DHP set) is written empty."""
    cells = []
    for i, v in enumerate(values):
        if v is None:
            cells.append("")
        elif i == 0:
            cells.append(str(int(v)))
        else:
            cells.append(f"{float(v):.8f}")
    return "\t".join(cells)


class RunLog:
    """Appends to ``log.txt`` and ``metrics.jsonl`` and remembers what it wrote."""

    def __init__(self, run_dir: Path, text_lines: list | None = None,
                 json_lines: list | None = None) -> None:
        self.run_dir = Path(run_dir)
        self.text_lines: list[str] = list(text_lines or [])
        self.json_lines: list[str] = list(json_lines or [])
        # Start from exactly what the checkpoint knew (drops anything written after it).
        for name, lines in (("log.txt", self.text_lines), ("metrics.jsonl", self.json_lines)):
            content = "".join(line + "\n" for line in lines)
            atomic_write(self.run_dir / name, lambda tmp, c=content: Path(tmp).write_text(c))

    def text(self, line: str) -> None:
        for part in str(line).splitlines() or [""]:
            self.text_lines.append(part)
            append_text(self.run_dir / "log.txt", part + "\n")

    def row(self, values: list) -> None:
        self.text(format_row(values))

    def record(self, entry: dict) -> None:
        line = json.dumps(entry, sort_keys=True)
        self.json_lines.append(line)
        append_text(self.run_dir / "metrics.jsonl", line + "\n")

    def state(self) -> dict:
        return {"text_lines": list(self.text_lines), "json_lines": list(self.json_lines)}


class NullRunLog(RunLog):
    """A non-main rank's RunLog: remembers the same lines as rank 0's (so ``state()`` matches)
    but touches no file; ``run_dir`` may be None."""

    def __init__(self, run_dir: Path | None = None, text_lines: list | None = None,
                 json_lines: list | None = None) -> None:
        self.run_dir = None if run_dir is None else Path(run_dir)
        self.text_lines = list(text_lines or [])
        self.json_lines = list(json_lines or [])

    def text(self, line: str) -> None:
        self.text_lines.extend(str(line).splitlines() or [""])

    def record(self, entry: dict) -> None:
        self.json_lines.append(json.dumps(entry, sort_keys=True))


class NullWriter:
    """A non-main rank's TensorBoard writer: any SummaryWriter method call is accepted and
    ignored (add_scalar, add_image, add_figure, flush, close, ...)."""

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        return _ignore


def _ignore(*args, **kwargs) -> None:
    return None


def summary_writer(run_dir: Path):
    """TensorBoard writer in the run folder (imported lazily: it is slow to import)."""
    from torch.utils.tensorboard import SummaryWriter
    return SummaryWriter(log_dir=str(run_dir))
