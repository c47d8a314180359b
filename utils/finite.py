"""Non-finite guards: a diverging network stops the run with one line, instead of NaN weights
written to checkpoints and NaN poses fed to the lifter (docs/training.md#checkpoints).

- :class:`FiniteGuard` collects training losses on their device (no host sync per step) and
  checks them all at once (``check``), once per logging interval and before every checkpoint.
- :func:`first_non_finite` / :func:`all_finite` inspect whole states (checkpoints).
- :func:`drop_non_finite` removes fake 2D-3D pairs holding NaN/inf before the lifter sees them.
"""
from __future__ import annotations

import argparse
import math
from dataclasses import fields
from typing import TYPE_CHECKING, Any, Callable

import torch

from utils.io import DataError

if TYPE_CHECKING:
    from function_baseline.pose_set import PoseSet

# The flags that usually make each network diverge (docs/gan.md#losses), most likely first.
NETWORK_FLAGS = {
    "pose net": ("lr_p", "batch_size"),
    "generator": ("lr_g", "lr_d", "Gen_DenseDim", "GAN_3d_loss_weight", "GAN_2d_loss_weight"),
    "3D critic": ("lr_d", "lr_g", "GAN_LAMBDA", "Dis_DenseDim_3D"),
    "2D critic": ("lr_d", "lr_g", "GAN_LAMBDA", "Dis_DenseDim_2D"),
    "3D motion critic": ("lr_d", "lr_g", "GAN_LAMBDA", "video_Dis_DenseDim_3D",
                         "GAN_3d_motion_loss_weight"),
    "2D motion critic": ("lr_d", "lr_g", "GAN_LAMBDA", "video_Dis_DenseDim_2D",
                         "GAN_2d_motion_loss_weight"),
}


class NonFiniteError(DataError):
    """A loss, weight or fake pose became NaN/inf: the run stops (exit 3, not 2: the input was
    fine, the optimisation diverged)."""

    exit_code = 3


def _known(network: str) -> None:
    if network not in NETWORK_FLAGS:
        raise ValueError(f"unknown network {network!r}; expected one of {sorted(NETWORK_FLAGS)}")


def divergence_hint(network: str, args: argparse.Namespace | None = None) -> str:
    """'usually caused by: --lr_g (now 1000.0), --lr_d (now 1000.0), ...' for ``network``."""
    _known(network)
    given = vars(args) if args is not None else {}
    flags = [f"--{f}" + (f" (now {given[f]})" if f in given else "")
             for f in NETWORK_FLAGS[network]]
    return f"usually caused by: {', '.join(flags)}; try smaller learning rates"


class FiniteGuard:
    """Accumulates losses without a host sync; :meth:`check` syncs once and raises
    :class:`NonFiniteError` naming the first non-finite loss (network, epoch, iteration).

    Usage per training step: ``guard.observe("generator", loss_g, epoch, it)``; per logging
    interval and before each checkpoint: ``guard.check()``. ``max_pending`` bounds memory
    when the caller checks rarely (a check then happens by itself).
    """

    def __init__(self, args: argparse.Namespace | None = None, max_pending: int = 4096) -> None:
        self.args = args
        self.max_pending = max_pending
        self._values: list[torch.Tensor] = []
        self._labels: list[tuple[str, int, int]] = []
        self._steps: dict[tuple[str, int], int] = {}

    def __len__(self) -> int:
        return len(self._values)

    def observe(self, network: str, loss: torch.Tensor, epoch: int,
                iteration: int | None = None) -> None:
        """Remember ``loss`` (any shape; detached, reduced on its device) of one step.

        ``iteration`` None numbers the steps of ``network`` within ``epoch`` from 0 (for hooks
        that do not know the loop's counter, such as ``train_epoch``'s ``after_backward``).
        """
        _known(network)
        step = self._steps.get((network, epoch), 0)
        self._steps[(network, epoch)] = step + 1
        value = loss.detach()
        self._values.append(value if value.dim() == 0 else value.sum())
        self._labels.append((network, int(epoch), step if iteration is None else int(iteration)))
        if len(self._values) >= self.max_pending:
            self.check()

    def check(self, where: str = "") -> None:
        """One host sync per device; raises on the first non-finite loss since the last check.

        ``where`` (e.g. 'before writing ckpt_last.pth.tar') is added to the message.
        """
        values, labels = self._values, self._labels
        self._values, self._labels = [], []
        if not values:
            return
        host = _to_host(values)
        bad = [i for i, v in enumerate(host) if not math.isfinite(v)]
        if not bad:
            return
        network, epoch, iteration = labels[bad[0]]
        kind = "NaN" if math.isnan(host[bad[0]]) else "inf"
        context = f" ({where})" if where else ""
        raise NonFiniteError(
            f"the {network} loss became {kind} at epoch {epoch}, iteration {iteration}{context}: "
            f"training diverged; {divergence_hint(network, self.args)}. No checkpoint with "
            f"non-finite values was written (the last good ckpt_last.pth.tar is kept)")


def _to_host(values: list[torch.Tensor]) -> list[float]:
    """0-d tensors (possibly on several devices) -> Python floats, one transfer per device."""
    out: list[float] = [0.0] * len(values)
    by_device: dict[torch.device, list[int]] = {}
    for i, v in enumerate(values):
        by_device.setdefault(v.device, []).append(i)
    for idx in by_device.values():
        stacked = torch.stack([values[i].double() for i in idx]).cpu().tolist()
        for i, v in zip(idx, stacked):
            out[i] = v
    return out


def _walk(obj: Any, prefix: str, visit: Callable[[str, Any], None]) -> None:
    if isinstance(obj, dict):
        for k, v in obj.items():
            _walk(v, f"{prefix}.{k}" if prefix else str(k), visit)
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            _walk(v, f"{prefix}.{i}" if prefix else str(i), visit)
    elif isinstance(obj, (torch.Tensor, float)):
        visit(prefix, obj)


def first_non_finite(*objs: Any) -> str | None:
    """The key path (e.g. 'augmenter.G.fc.weight') of the first NaN/inf floating tensor or float
    in nested dicts/lists/tuples, or None when all are finite. One host sync per device."""
    names: list[str] = []
    tensors: list[torch.Tensor] = []
    floats: list[tuple[str, float]] = []

    def visit(name: str, value: Any) -> None:
        if isinstance(value, float):
            floats.append((name, value))
        elif value.is_floating_point() or value.is_complex():
            names.append(name)
            tensors.append(torch.isfinite(value.detach()).all())

    for i, obj in enumerate(objs):
        _walk(obj, "" if len(objs) == 1 else f"[{i}]", visit)
    for name, value in floats:
        if not math.isfinite(value):
            return name
    if tensors:
        ok = _to_host(tensors)
        for name, flag in zip(names, ok):
            if not flag:
                return name
    return None


def all_finite(*objs: Any) -> bool:
    """True when every floating tensor and float in ``objs`` (tensors, state dicts, nested
    containers) is finite."""
    return first_non_finite(*objs) is None


def drop_non_finite(pool: "PoseSet") -> tuple["PoseSet", int]:
    """Remove the rows of a (fake) PoseSet with any NaN/inf in a floating field.

    Works for single-frame pools (pose2d (M, 16, 2)) and video pools (pose2d (M, T, 16, 2)).
    Returns the cleaned pool and the number of rows dropped (one host sync).
    """
    n = len(pool)
    if n == 0:
        return pool, 0
    keep = None
    for f in fields(pool):
        t = getattr(pool, f.name)
        if isinstance(t, torch.Tensor) and t.is_floating_point() and t.dim() and t.shape[0] == n:
            ok = torch.isfinite(t.reshape(n, -1)).all(dim=1)
            keep = ok if keep is None else keep & ok
    if keep is None:
        return pool, 0
    dropped = int(n - keep.sum())
    if dropped == 0:
        return pool, 0
    return pool.index(keep.nonzero().squeeze(1)), dropped


def finite_fake_pool(pool: "PoseSet", epoch: int, args: argparse.Namespace | None = None,
                     log: Callable[[str], None] = print) -> "PoseSet":
    """:func:`drop_non_finite` for the augmenter's pool: one line when rows were dropped;
    :class:`NonFiniteError` when none is left (the generator diverged)."""
    clean, dropped = drop_non_finite(pool)
    if dropped and len(clean) == 0:
        raise NonFiniteError(f"every one of the {dropped} fake 2D-3D pairs of epoch {epoch} holds "
                             f"NaN or inf: the generator diverged; "
                             f"{divergence_hint('generator', args)}")
    if dropped:
        log(f"warning: epoch {epoch}: dropped {dropped} of {len(pool)} fake 2D-3D pairs holding "
            f"NaN or inf before the pose net sees them")
    return clean
