"""Random draws of the augmenters, all from one explicit CPU ``torch.Generator``.

Each draw is made on the CPU (so the stream does not depend on the device) and then moved to the
target device: these small tensors are the only host->device copies of a GAN iteration.
"""
from __future__ import annotations

import torch

from models.bone_scaling import sample_scale_factors


def draw_noise(batch: int, dim: int, generator: torch.Generator, device: torch.device,
               dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Generator noise z ~ N(0, I): (batch, dim)."""
    return torch.randn(batch, dim, generator=generator, dtype=dtype).to(device)


def draw_alpha(batch: int, generator: torch.Generator, device: torch.device,
               dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Gradient-penalty interpolation weights alpha ~ U(0, 1): (batch,)."""
    return torch.rand(batch, generator=generator, dtype=dtype).to(device)


def draw_camera(camera_table: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """One camera for a whole batch: subject uniform over the table's rows, slot uniform over its
    columns. camera_table (S, 4, 16) on any device -> its (16,) row (no host copy of the table)."""
    subject = int(torch.randint(camera_table.shape[0], (), generator=generator))
    slot = int(torch.randint(camera_table.shape[1], (), generator=generator))
    return camera_table[subject, slot]


def draw_scale_factors(batch: int, mode: str, generator: torch.Generator, device: torch.device,
                       dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Per-sample bone scale factors (batch, 8) for --bone_len_scaler ``mode``, drawn on the CPU."""
    return sample_scale_factors((batch,), mode, generator, device=torch.device("cpu"),
                                dtype=dtype).to(device)
