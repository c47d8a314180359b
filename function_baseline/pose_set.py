"""Single-frame samples held as tensors, and index batching without per-sample ``__getitem__``."""
from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Iterator

import torch


@dataclass
class PoseSet:
    """N single-frame samples.

    pose2d  (N, 16, 2) normalised absolute screen coordinates (the lifter input)
    pose3d  (N, 16, 3) camera frame, metres; root kept for H36M, root-relative for 3DHP
    camera  (N, 16) camera vector (9 intrinsics, quaternion, centre in metres); 3DHP: (N, 9) zeros
    action  (N,) long index into ``action_names`` (category, e.g. 'Walking')
    subject (N,) long index into ``subject_names``
    sequence (N,) long index of the (subject, action, camera) sequence a row belongs to (rows of
             one sequence are contiguous and in time order); None where rows are independent
             (fake pools). Video mode cuts its windows inside these sequences.
    """
    pose2d: torch.Tensor
    pose3d: torch.Tensor
    camera: torch.Tensor
    action: torch.Tensor
    subject: torch.Tensor
    sequence: torch.Tensor | None = None
    action_names: tuple = ()
    subject_names: tuple = ()

    def __len__(self) -> int:
        return self.pose2d.shape[0]

    def _tensor_fields(self) -> list[str]:
        return [f.name for f in fields(self) if isinstance(getattr(self, f.name), torch.Tensor)]

    def index(self, idx: torch.Tensor) -> "PoseSet":
        """Rows ``idx`` (a long tensor or slice) as a new PoseSet sharing the name tables."""
        return replace(self, **{k: getattr(self, k)[idx] for k in self._tensor_fields()})

    def to(self, device: torch.device | str) -> "PoseSet":
        return replace(self, **{k: getattr(self, k).to(device) for k in self._tensor_fields()})

    @staticmethod
    def concat(sets: list["PoseSet"]) -> "PoseSet":
        first = sets[0]
        return replace(first, **{k: torch.cat([getattr(s, k) for s in sets])
                                 for k in first._tensor_fields()})


def batch_indices(n: int, batch_size: int, generator: torch.Generator | None = None,
                  shuffle: bool = True, drop_last: bool = False) -> Iterator[torch.Tensor]:
    """Yield index tensors covering ``range(n)`` in batches; shuffled with ``generator``.

    ``drop_last`` skips a final partial batch (the GAN loop does, as the original).
    """
    order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
    stop = n - n % batch_size if drop_last else n
    for start in range(0, stop, batch_size):
        yield order[start:start + batch_size]
