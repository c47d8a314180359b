"""Edge-padded temporal windows cut by index inside the sequences of a PoseSet.

A window of T (odd) frames centred on row r covers rows ``r - pad .. r + pad`` (pad = (T-1)/2),
clamped to the first/last row of r's sequence, i.e. the sequence is edge-padded (its first or
last frame repeated), docs/video.md#sequences-and-windows. Nothing (N, T, ...) is ever stored:
a batch gathers ``rows[idx]`` from the single-frame tensors, so memory stays that of the frames.
"""
from __future__ import annotations

import torch


def sequence_runs(sequence: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Runs of equal ids in ``sequence`` (N,) long: (starts (S,), lengths (S,), run (N,)), where
    run[i] is the index of row i's run. Computed on the tensor's device without host syncs
    except for the boolean selection of the run starts."""
    if sequence.dim() != 1:
        raise ValueError(f"sequence ids must be (N,), got {tuple(sequence.shape)}")
    n = sequence.shape[0]
    rows = torch.arange(n, device=sequence.device)
    change = torch.ones(n, dtype=torch.bool, device=sequence.device)
    if n > 1:
        change[1:] = sequence[1:] != sequence[:-1]
    starts = rows[change]
    lengths = torch.cat([starts[1:], rows.new_tensor([n])]) - starts
    run = torch.cumsum(change.long(), 0) - 1
    return starts, lengths, run


def padded_stream_rows(sequence: torch.Tensor, pad: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Every sequence edge-padded by ``pad`` frames on both sides, concatenated into one stream.

    Returns (stream (N + 2 pad S,) long rows of the padded stream, out (N,) long): a valid
    (unpadded) convolution of receptive field 2 pad + 1 over the stream gives, at output
    position ``out[r]``, the frame of row r, its window lying inside r's own padded sequence.
    docs/video.md#video-evaluation
    """
    starts, lengths, run = sequence_runs(sequence)
    n = sequence.shape[0]
    padded = lengths + 2 * pad                                  # (S,)
    offset = torch.cumsum(padded, 0) - padded                   # (S,) stream start of each run
    total = n + 2 * pad * starts.shape[0]
    pos = torch.arange(total, device=sequence.device)
    owner = torch.repeat_interleave(torch.arange(starts.shape[0], device=sequence.device),
                                    padded, output_size=total)  # (M,) run of each position
    local = (pos - offset[owner] - pad).clamp(min=0)
    local = torch.minimum(local, lengths[owner] - 1)
    out = torch.arange(n, device=sequence.device) + 2 * pad * run
    return starts[owner] + local, out


class VideoWindows:
    """Window row indices for a PoseSet whose ``sequence`` field groups contiguous rows.

    sequence (N,) long, non-decreasing run ids (rows of one sequence contiguous).
    ``first``/``last`` (N,) hold each row's sequence bounds on the sequence tensor's device.
    """

    def __init__(self, sequence: torch.Tensor, frames: int) -> None:
        if frames < 1 or frames % 2 == 0:
            raise ValueError(f"window length must be a positive odd number, got {frames}")
        self.frames = int(frames)
        self.pad = (self.frames - 1) // 2
        starts, lengths, run = sequence_runs(sequence)
        self.first = starts[run]
        self.last = (starts + lengths - 1)[run]
        self.offsets = torch.arange(-self.pad, self.pad + 1, device=sequence.device)

    def __len__(self) -> int:
        return self.first.shape[0]

    def to(self, device: torch.device | str) -> "VideoWindows":
        out = object.__new__(VideoWindows)
        out.frames, out.pad = self.frames, self.pad
        out.first, out.last, out.offsets = (self.first.to(device), self.last.to(device),
                                            self.offsets.to(device))
        return out

    def rows(self, idx: torch.Tensor) -> torch.Tensor:
        """Centre rows ``idx`` (B,) long -> window rows (B, T) long, edge-padded per sequence."""
        idx = idx.to(self.first.device)
        r = idx.unsqueeze(-1) + self.offsets
        return torch.minimum(torch.maximum(r, self.first[idx].unsqueeze(-1)),
                             self.last[idx].unsqueeze(-1))
