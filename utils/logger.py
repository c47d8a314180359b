"""Run outputs: the run folder, ``log.txt`` in the original's layout, ``metrics.jsonl`` (one JSON
object per evaluation, machine-readable), and the TensorBoard writer.

Every line written to the two text files is also kept in memory, so a checkpoint can store them
and ``--resume`` can rewrite both files exactly as they were at that checkpoint.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

from utils.io import atomic_write

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
            with open(self.run_dir / "log.txt", "a") as fh:
                fh.write(part + "\n")

    def row(self, values: list) -> None:
        self.text(format_row(values))

    def record(self, entry: dict) -> None:
        line = json.dumps(entry, sort_keys=True)
        self.json_lines.append(line)
        with open(self.run_dir / "metrics.jsonl", "a") as fh:
            fh.write(line + "\n")

    def state(self) -> dict:
        return {"text_lines": list(self.text_lines), "json_lines": list(self.json_lines)}


def summary_writer(run_dir: Path):
    """TensorBoard writer in the run folder (imported lazily: it is slow to import)."""
    from torch.utils.tensorboard import SummaryWriter
    return SummaryWriter(log_dir=str(run_dir))
