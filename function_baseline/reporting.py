"""How evaluation results are shown: log-row columns, TensorBoard tags, the console table.

Result dicts come from function_baseline/evaluate.py: ``{'h36m': {...}, 'dhp': {...} | None}``
(docs/evaluation.md#metrics); TensorBoard tags are the original's (docs/training.md#outputs).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any


def metric_values(res: dict | None) -> list:
    """The six metric columns of a log row; zeros before any evaluation, empty without 3DHP."""
    if res is None:
        return [0.0] * 6
    h, d = res["h36m"], res["dhp"]
    dhp = [d["p1"], d["p2"], d["pck"], d["auc"]] if d is not None else [None] * 4
    return [h["p1"], h["p2"], *dhp]


def log_evaluation(writer: Any, res: dict, epoch: int, tag: str) -> None:
    """TensorBoard scalars of one evaluation (step = epoch; H36M PCK/AUC are written as 0)."""
    h, d = res["h36m"], res["dhp"]
    for name, value in (("p1score", h["p1"]), ("p2score", h["p2"]), ("_pck", 0.0), ("_auc", 0.0)):
        writer.add_scalar(f"posenet_H36M_test/{name}{tag}", value, epoch)
    if d is not None:
        for name, key in (("p1score", "p1"), ("p2score", "p2"), ("_pck", "pck"), ("_auc", "auc")):
            writer.add_scalar(f"posenet_mpi3d_loader_flip/{name}{tag}", d[key], epoch)
    if res.get("3dpw") is not None:
        for name, key in (("p1score", "p1"), ("p2score", "p2")):
            writer.add_scalar(f"posenet_3dpw_flip/{name}{tag}", res["3dpw"][key], epoch)


def format_table(res: dict) -> str:
    """Multi-line console table: H36M P1/P2 with the per-action rows, then 3DHP."""
    h, d = res["h36m"], res["dhp"]
    lines = [f"H36M (S9, S11)   P1 {h['p1']:8.2f} mm   P2 {h['p2']:8.2f} mm   "
             f"(per-action mean P1 {h['p1_action_mean']:.2f}, P2 {h['p2_action_mean']:.2f})"]
    lines += [f"  {name:<14s} P1 {v['p1']:8.2f}   P2 {v['p2']:8.2f}"
              for name, v in h["per_action"].items()]
    if d is None:
        lines.append("3DHP             skipped (no test_3dhp.npz)")
    else:
        lines.append(f"3DHP             P1 {d['p1']:8.2f} mm   P2 {d['p2']:8.2f} mm   "
                     f"PCK {d['pck']:6.2f} %   AUC {d['auc']:6.2f} %")
    if res.get("3dpw") is not None:
        lines.append(f"3DPW             P1 {res['3dpw']['p1']:8.2f} mm   "
                     f"P2 {res['3dpw']['p2']:8.2f} mm")
    return "\n".join(lines)


def epoch_line(epoch: int, seconds: float, res: dict | None) -> str:
    """One console line per epoch: time and, when the pose net was evaluated, its P1s."""
    text = f"epoch {epoch}: {seconds:.1f} s"
    if res is not None:
        text += f"  H36M P1 {res['h36m']['p1']:.2f}"
        if res["dhp"] is not None:
            text += f"  3DHP P1 {res['dhp']['p1']:.2f}"
        if res.get("3dpw") is not None:
            text += f"  3DPW P1 {res['3dpw']['p1']:.2f}"
    return text


def closing_lines(run_dir: Path, res: dict | None, data_flags: str) -> list[str]:
    """Three lines that end a run: what the numbers mean, where the outputs are, what to try next."""
    meaning = ("P1 = mean per-joint position error in mm after aligning the roots (P2: after also "
               "aligning rotation and scale); H36M = held-out subjects S9/S11, 3DHP = an unseen "
               "camera and pose domain; lower is better")
    if res is None:
        meaning = "the pose net did not train in this run (GAN-only epochs); no numbers to report"
    where = (f"log: {run_dir / 'log.txt'}   pictures: {run_dir / 'tmp'}   "
             f"TensorBoard: tensorboard --logdir {run_dir}")
    best = run_dir / "ckpt_best_h36m_p1.pth.tar"
    nxt = (f"next: python3 run_fk_gan.py --evaluate {best} {data_flags}".rstrip()
           if best.is_file() else f"next: python3 run_fk_gan.py --resume {run_dir / 'ckpt_last.pth.tar'}")
    return [meaning, where, nxt]
