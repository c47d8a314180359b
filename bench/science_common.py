"""Shared pieces of the science scripts: run run_fk_gan.py as a subprocess, read back its metrics
and GAN-quality figures, count pose-net optimiser steps, and write mean +- std Markdown tables.

A run is a :class:`RunSpec` (a name and its extra CLI flags); :func:`run_all` runs a list of them,
``jobs`` at a time, each in ``<out>/<name>/`` with its console output in ``<out>/<name>.log``.
"""
from __future__ import annotations

import json
import math
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

QUALITY_PREFIX = "GAN_quality/"
METRIC_COLUMNS = (("h36m", "p1", "H36M P1"), ("h36m", "p2", "H36M P2"), ("dhp", "p1", "3DHP P1"),
                  ("dhp", "p2", "3DHP P2"), ("dhp", "pck", "3DHP PCK"), ("dhp", "auc", "3DHP AUC"))
QUALITY_COLUMNS = (("precision_mm", "precision (mm)"), ("coverage_50mm", "cov@50 (%)"),
                   ("coverage_100mm", "cov@100 (%)"), ("diversity", "diversity"),
                   ("angles_saturated", "saturated (%)"),
                   ("roots_behind_camera", "roots behind cam (%)"))


@dataclass
class RunSpec:
    """One run_fk_gan.py call: ``name`` (folder and --note), ``flags`` on top of the common ones."""
    name: str
    flags: list[str]


@dataclass
class RunResult:
    name: str
    run_dir: Path
    seconds: float
    evaluations: list[dict] = field(default_factory=list)   # metrics.jsonl entries, in order
    quality: dict[str, float] = field(default_factory=dict)  # last epoch's GAN_quality/* values

    @property
    def final(self) -> dict | None:
        """The last evaluation (the model at the end of training, no test-set selection)."""
        return self.evaluations[-1] if self.evaluations else None

    def best(self, test: str = "dhp") -> dict | None:
        """The evaluation with the lowest P1 on ``test`` (the paper's best-epoch protocol)."""
        scored = [e for e in self.evaluations if e.get(test)]
        return min(scored, key=lambda e: e[test]["p1"]) if scored else None


def cli_flags() -> set[str]:
    """Every option string run_fk_gan.py accepts (to use proposed flags once they exist)."""
    from utils.config import build_parser
    return {s for action in build_parser()._actions for s in action.option_strings}


def read_quality_history(run_dir: Path) -> dict[int, dict[str, float]]:
    """epoch -> {key: value} of every ``GAN_quality/*`` TensorBoard scalar of a run."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    acc = EventAccumulator(str(run_dir), size_guidance={"scalars": 0})
    acc.Reload()
    out: dict[int, dict[str, float]] = {}
    for tag in acc.Tags().get("scalars", []):
        if tag.startswith(QUALITY_PREFIX):
            for event in acc.Scalars(tag):
                out.setdefault(event.step, {})[tag[len(QUALITY_PREFIX):]] = event.value
    return dict(sorted(out.items()))


def read_quality(run_dir: Path) -> dict[str, float]:
    """The last epoch's ``GAN_quality/*`` figures of a run ({} if none)."""
    history = read_quality_history(run_dir)
    return history[max(history)] if history else {}


def load_result(name: str, run_dir: Path, seconds: float) -> RunResult:
    """A finished run's metrics.jsonl entries and last GAN_quality figures."""
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    return RunResult(name, run_dir, seconds, [json.loads(x) for x in lines],
                     read_quality(run_dir))


def run_one(spec: RunSpec, common: list[str], out: Path, reuse: bool = False) -> RunResult:
    """Run one spec to completion (RuntimeError naming the log file on failure). With ``reuse``,
    a run that finished before with the same command (``<out>/<name>.done.json``) is read back."""
    base = out / spec.name
    cmd = [sys.executable, str(REPO / "run_fk_gan.py"), *common, "--checkpoint", str(base),
           "--note", spec.name, *spec.flags]
    log, marker = out / f"{spec.name}.log", out / f"{spec.name}.done.json"
    if reuse and marker.is_file():
        done = json.loads(marker.read_text())
        if done["command"] == cmd[1:]:
            return load_result(spec.name, Path(done["run_dir"]), done["seconds"])
    t0 = time.time()
    with open(log, "w") as fh:
        fh.write(" ".join(cmd) + "\n")
        fh.flush()
        done = subprocess.run(cmd, cwd=REPO, stdout=fh, stderr=subprocess.STDOUT)
    if done.returncode != 0:
        raise RuntimeError(f"{spec.name} failed (exit {done.returncode}); see {log}")
    run_dir = sorted(base.glob(f"*/*/*_{spec.name}"))[-1]
    seconds = time.time() - t0
    marker.write_text(json.dumps({"command": cmd[1:], "run_dir": str(run_dir),
                                  "seconds": seconds}))
    return load_result(spec.name, run_dir, seconds)


def run_all(specs: list[RunSpec], common: list[str], out: Path, jobs: int = 1,
            reuse: bool = False) -> dict[str, RunResult]:
    """Run every spec, ``jobs`` at a time (see :func:`run_one` for ``reuse``); name -> result."""
    out.mkdir(parents=True, exist_ok=True)
    done: dict[str, RunResult] = {}
    with ThreadPoolExecutor(max_workers=max(jobs, 1)) as pool:
        for spec, res in zip(specs, pool.map(lambda s: run_one(s, common, out, reuse), specs)):
            done[spec.name] = res
            print(f"  {spec.name}: {res.seconds:.0f} s  {res.run_dir}", flush=True)
    return done


def batches(n: int, batch_size: int) -> int:
    """Optimiser batches of one pose-net pass over n samples (a final batch of 1 is skipped)."""
    full, rest = divmod(n, batch_size)
    return full + (1 if rest > 1 else 0)


def posenet_steps(result: RunResult, train_size: int, pool_size: int, batch_size: int,
                  variants: int = 2) -> int:
    """Pose-net optimiser steps of a finished run: one pass per evaluation (``_fake`` passes over
    the pool, ``_real`` over the training set), ``variants`` steps per batch (2 with flip)."""
    sizes = {"_fake": pool_size, "_real": train_size}
    return sum(batches(sizes[e["tag"]], batch_size) for e in result.evaluations) * variants


def mean_std(values: list[float]) -> str:
    """'mean ± std' (sample std over seeds; just the value for one seed)."""
    values = [v for v in values if v is not None and not math.isnan(v)]
    if not values:
        return "–"
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return f"{statistics.mean(values):.2f} ± {statistics.stdev(values):.2f}"


def metric_table(rows: dict[str, list[RunResult]], steps: dict[str, int], pick: str = "final"
                 ) -> str:
    """Markdown table: one row per setting (its runs over seeds), mean ± std of each metric at the
    final evaluation (``pick='final'``) or at the best 3DHP P1 evaluation (``'best'``)."""
    head = ["setting", "seeds", "pose-net steps", *[c[2] for c in METRIC_COLUMNS]]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, runs in rows.items():
        evals = [r.final if pick == "final" else r.best() for r in runs]
        cells = [mean_std([e[t][k] if e and e.get(t) else None for e in evals])
                 for t, k, _ in METRIC_COLUMNS]
        lines.append(f"| {name} | {len(runs)} | {steps.get(name, '–')} | " + " | ".join(cells)
                     + " |")
    return "\n".join(lines)


def quality_curve(history: dict[int, dict[str, float]], points: int = 6) -> str:
    """Markdown table of the diagnostics at ``points`` epochs spread over a run."""
    epochs = sorted(history)
    if not epochs:
        return "(no GAN_quality scalars)"
    picked = sorted({epochs[round(i * (len(epochs) - 1) / max(points - 1, 1))]
                     for i in range(points)})
    head = ["epoch", *[c[1] for c in QUALITY_COLUMNS]]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for e in picked:
        lines.append(f"| {e} | " + " | ".join(f"{history[e].get(k, math.nan):.2f}"
                                              for k, _ in QUALITY_COLUMNS) + " |")
    return "\n".join(lines)


def quality_table(rows: dict[str, list[RunResult]]) -> str:
    """Markdown table of the last epoch's GAN diagnostics (mean ± std over seeds), plus a row of
    the real calibration figures (held-out real poses scored against the reference)."""
    head = ["setting", *[c[1] for c in QUALITY_COLUMNS]]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    real_runs = []
    for name, runs in rows.items():
        if not runs or not runs[0].quality:
            continue
        real_runs = runs
        lines.append(f"| {name} | " + " | ".join(
            mean_std([r.quality.get(k) for r in runs]) for k, _ in QUALITY_COLUMNS) + " |")
    if real_runs:
        cells = [mean_std([r.quality.get(f"real_{k}") for r in real_runs])
                 if f"real_{k}" in real_runs[0].quality else "–" for k, _ in QUALITY_COLUMNS]
        lines.append("| real poses (calibration) | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def add_run_options(parser, default_out: Path) -> None:
    """The options every science script shares: data folder, device, parallel runs, reuse, out."""
    parser.add_argument("--data_dir", default="data")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--jobs", type=int, default=1, help="runs at a time")
    parser.add_argument("--reuse", action="store_true",
                        help="read back runs of <out> that finished with the same command")
    parser.add_argument("--out", default=str(default_out))

