"""Evaluation sharded over 2 Gloo processes: each rank predicts whole forward batches and the
predictions are gathered in order, so both ranks report exactly the 1-process metrics
(single-frame MLP, dilated TCN over whole sequences, window model), including a test set
smaller than one batch (rank 1 predicts nothing)."""
from __future__ import annotations

from dataclasses import replace

import pytest
import torch

import function_baseline.evaluate as ev
from function_baseline.pose_set import PoseSet
from models.lifter_mlp import MLPLifter
from models.lifter_videopose import DilatedTemporalLifter, StridedTemporalLifter
from tests.function_dhaug.synthetic_data import make_pose_set
from utils.distributed import DistContext
from utils.local_processes import spawn_local

# Small forward batches so that 70 rows make 9 batches (5 on rank 0, 4 on rank 1) and the TCN
# stream several passes of chunks; 5 rows fit one batch.
SMALL = {"EVAL_BATCH": 8, "TCN_CHUNK": 8, "TCN_CHUNKS_PER_PASS": 2}
LENGTHS = (1, 5, 30, 9, 25)                     # sequence lengths of the video test set


def _test_set(n: int, seed: int) -> PoseSet:
    data = make_pose_set(n, seed=seed)
    return replace(data, action=torch.arange(n) % 3, action_names=("A", "B", "C"))


def _video_set() -> PoseSet:
    seq = torch.cat([torch.full((k,), s) for s, k in enumerate(LENGTHS)])
    return replace(_test_set(len(seq), 4), sequence=seq)


def _models() -> dict[str, torch.nn.Module]:
    """Eval-mode lifters with non-trivial batch-norm statistics (fixed seed)."""
    torch.manual_seed(21)
    strided = StridedTemporalLifter((3, 3), channels=16)
    models = {"mlp": MLPLifter(width=32, stages=1), "window": strided}
    for m in models.values():
        for bn in m.modules():
            if isinstance(bn, torch.nn.BatchNorm1d):
                bn.running_mean.uniform_(-0.2, 0.2)
                bn.running_var.uniform_(0.5, 2.0)
    models["tcn"] = DilatedTemporalLifter((3, 3), channels=16)
    models["tcn"].load_state_dict(strided.state_dict())
    return {k: m.eval() for k, m in models.items()}


def evaluations(ctx: DistContext) -> dict:
    for name, value in SMALL.items():
        setattr(ev, name, value)
    m, frames, video = _models(), _test_set(70, 3), _video_set()
    tiny = _test_set(5, 5)
    rows = {name: [] for name in m}
    for name, model in m.items():
        model.register_forward_pre_hook(lambda _, x, k=name: rows[k].append(x[0].shape[0]))
    return {
        "frame_h36m": ev.evaluate_h36m(m["mlp"], frames, ctx=ctx),
        "frame_3dhp": ev.evaluate_3dhp(m["mlp"], frames, pck_joints=14, ctx=ctx),
        "tiny_h36m": ev.evaluate_h36m(m["mlp"], tiny, ctx=ctx),
        "tcn_h36m": ev.evaluate_h36m(m["tcn"], video, frames=9, ctx=ctx),
        "tcn_3dhp": ev.evaluate_3dhp(m["tcn"], video, frames=9, ctx=ctx),
        "window_3dhp": ev.evaluate_3dhp(m["window"], video, frames=9, ctx=ctx),
        "predictions": [ev.predict(m["mlp"], frames.pose2d, ctx=ctx),
                        ev.predict_video(m["tcn"], video, 9, flip_tta=True, ctx=ctx),
                        ev.predict_video(m["window"], video, 9, ctx=ctx)],
        "modes": [mod.training for mod in m.values()],
        "rows": {name: sum(r) for name, r in rows.items()},
    }


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory) -> list[dict]:
    return spawn_local(evaluations, 2, tmp_path_factory.mktemp("eval_dist"))


@pytest.fixture(scope="module")
def one_rank() -> dict:
    saved = {name: getattr(ev, name) for name in SMALL}
    try:
        return evaluations(DistContext())
    finally:
        for name, value in saved.items():
            setattr(ev, name, value)


METRICS = ["frame_h36m", "frame_3dhp", "tiny_h36m", "tcn_h36m", "tcn_3dhp", "window_3dhp"]


@pytest.mark.parametrize("key", METRICS)
def test_metrics_equal_the_one_rank_evaluation_exactly(two_ranks, one_rank, key):
    assert one_rank[key]["p1"] > 0
    for res in two_ranks:
        assert res[key] == one_rank[key]


def test_gathered_predictions_are_the_one_rank_predictions(two_ranks, one_rank):
    assert [p.shape[0] for p in one_rank["predictions"]] == [70, sum(LENGTHS), sum(LENGTHS)]
    for res in two_ranks:
        assert all(torch.equal(a, b) for a, b in zip(res["predictions"], one_rank["predictions"]))
        assert res["modes"] == [False, False, False]


def test_each_rank_runs_its_share_of_the_forward_batches(two_ranks, one_rank):
    """Rows (TCN: chunks) through each network: the two shares add up to the 1-rank work."""
    for name, total in one_rank["rows"].items():
        shares = [res["rows"][name] for res in two_ranks]
        assert sum(shares) == total and 0 < shares[1] < shares[0] < total, name
