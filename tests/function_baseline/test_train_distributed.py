"""train_epoch on 2 Gloo processes: each rank loads half of every global batch, batch norm is
synchronised and gradients are averaged, so one epoch gives the weights, the running statistics,
the logged losses and the hook's values of the 1-process epoch (single-frame MLP with the last
batch split unevenly, video TCN with all four step variants).

Float64: the MLP's biases in front of batch norm have a true gradient of zero, and in float32 Adam
turns its rounding noise (different for a different reduction order) into full-size steps; in
float64 that noise is far below Adam's eps."""
from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from function_baseline.pose_set import PoseSet
from function_baseline.train import train_epoch
from function_baseline.video_data import frame_source, video_source
from models.lifter_mlp import MLPLifter
from models.lifter_videopose import StridedTemporalLifter
from models.sync_batch_norm import SyncBatchNorm1d
from tests.function_dhaug.synthetic_data import make_pose_set
from utils.config import parse_args
from utils.distributed import DistContext, convert_batchnorm
from utils.local_processes import spawn_local

# 69 rows in batches of 16: the last global batch of 5 rows splits 3 / 2 over the ranks.
FRAME_ROWS, VIDEO_ROWS, SEQUENCE_LENGTH = 69, 48, 12


def _double(data: PoseSet) -> PoseSet:
    return replace(data, pose2d=data.pose2d.double(), pose3d=data.pose3d.double())


def _source(video: bool):
    if not video:
        return frame_source(_double(make_pose_set(FRAME_ROWS, seed=1)))
    data = _double(make_pose_set(VIDEO_ROWS, seed=2))
    return video_source(replace(data, sequence=torch.arange(VIDEO_ROWS) // SEQUENCE_LENGTH), 9)


def _model(video: bool) -> torch.nn.Module:
    torch.manual_seed(11)
    if video:
        return StridedTemporalLifter((3, 3), channels=16, dropout=0.0).double()
    return MLPLifter(width=32, stages=1, dropout=0.0).double()


def one_epoch(ctx: DistContext, video: bool) -> dict:
    """One epoch (plus the hook's record) of a freshly built lifter on this rank's shares."""
    model = convert_batchnorm(_model(video), ctx)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    args = parse_args(["--batch_size", "16"])
    seen = []

    def hook(m, loss):
        grads = torch.cat([p.grad.flatten() for p in m.parameters()])
        seen.append((float(loss.detach()), float(grads.norm())))

    res = train_epoch(model, optimizer, _source(video), args, torch.Generator().manual_seed(5),
                      after_backward=hook, ctx=ctx)
    return {"state": {k: v.clone() for k, v in model.state_dict().items()}, "losses": res,
            "hook": seen, "synced": any(isinstance(m, SyncBatchNorm1d) for m in model.modules())}


def two_rank_epochs(ctx: DistContext) -> dict:
    return {"frame": one_epoch(ctx, False), "video": one_epoch(ctx, True)}


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory) -> list[dict]:
    return spawn_local(two_rank_epochs, 2, tmp_path_factory.mktemp("train_dist"))


@pytest.mark.parametrize("mode", ["frame", "video"])
def test_two_ranks_train_the_one_rank_epoch(two_ranks, mode):
    ref = one_epoch(DistContext(), mode == "video")
    assert not ref["synced"]
    for res in two_ranks:
        r = res[mode]
        assert r["synced"]
        assert list(r["state"]) == list(ref["state"])
        for name, value in ref["state"].items():
            torch.testing.assert_close(r["state"][name], value, atol=1e-6, rtol=0, msg=name)
        assert r["losses"].keys() == ref["losses"].keys()
        assert len(r["losses"]) == (4 if mode == "video" else 2)
        for name, value in ref["losses"].items():
            assert r["losses"][name] == pytest.approx(value, rel=1e-10)
        assert len(r["hook"]) == len(ref["hook"])
        torch.testing.assert_close(torch.tensor(r["hook"]), torch.tensor(ref["hook"]),
                                   rtol=1e-10, atol=0)


@pytest.mark.parametrize("mode", ["frame", "video"])
def test_ranks_end_identical_and_hook_agrees(two_ranks, mode):
    """Averaged gradients and global batch statistics: the ranks never drift apart, and the hook
    (which may veto a step) sees the same loss and gradients on both."""
    a, b = two_ranks[0][mode], two_ranks[1][mode]
    assert all(torch.equal(a["state"][k], b["state"][k]) for k in a["state"])
    assert a["hook"] == b["hook"] and a["losses"] == b["losses"]
