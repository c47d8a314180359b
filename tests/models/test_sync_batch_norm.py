"""SyncBatchNorm1d: equal to BatchNorm1d in one process, and across 2 Gloo processes each holding
part of a batch equal to BatchNorm1d on the whole batch (outputs, gradients, running stats)."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from models.sync_batch_norm import SyncBatchNorm1d, convert_batchnorm1d
from utils.local_processes import spawn_local

WORLD = 2
STEPS = 2
# name: (shape of the global batch, rows per rank, dtype, momentum, input offset, tolerance)
CASES = {
    "halves_3d_f64": ((8, 3, 5), (4, 4), torch.float64, 0.1, 0.0, 1e-10),
    "uneven_2d_f64": ((8, 3), (3, 5), torch.float64, 0.3, 0.0, 1e-10),
    "empty_rank_f64": ((6, 2, 4), (6, 0), torch.float64, 0.1, 0.0, 1e-10),
    "offset_2d_f32": ((16, 4), (8, 8), torch.float32, None, 50.0, 1e-5),
}


def make_case(name: str, step: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Global input x and loss weights k of one step of a case (same on every process)."""
    shape, _, dtype, _, offset, _ = CASES[name]
    g = torch.Generator().manual_seed(100 * step + len(name))
    x = offset + 3 * torch.randn(shape, generator=g, dtype=torch.float64)
    k = torch.randn(shape, generator=g, dtype=torch.float64)
    return x.to(dtype), k.to(dtype)


def make_bn(name: str, cls: type = nn.BatchNorm1d) -> nn.BatchNorm1d:
    shape, _, dtype, momentum, _, _ = CASES[name]
    bn = cls(shape[1], momentum=momentum).to(dtype)
    with torch.no_grad():
        bn.weight.copy_(torch.linspace(0.5, 1.5, shape[1]))
        bn.bias.copy_(torch.linspace(-0.2, 0.3, shape[1]))
    return bn


def run_steps(bn: nn.Module, name: str, rows: slice, loss_of, sync=None) -> dict:
    """STEPS training steps on ``rows`` of each global batch (``sync`` after each backward),
    then an eval forward."""
    out = {"y": [], "x_grad": [], "w_grad": [], "b_grad": []}
    for step in range(STEPS):
        x, k = make_case(name, step)
        x = x[rows].clone().requires_grad_(True)
        bn.zero_grad(set_to_none=True)
        y = bn(x)
        loss_of(y * k[rows]).backward()
        if sync is not None:
            sync(bn.parameters())
        out["y"].append(y.detach())
        out["x_grad"].append(x.grad)
        out["w_grad"].append(bn.weight.grad.clone())
        out["b_grad"].append(bn.bias.grad.clone())
    bn.eval()
    out["y_eval"] = bn(make_case(name, STEPS)[0][rows]).detach()
    out["state"] = {k: v.clone() for k, v in bn.state_dict().items()}
    return out


def reference(name: str) -> dict:
    """Single-process BatchNorm1d on the whole batch, loss = mean of y * k."""
    return run_steps(make_bn(name), name, slice(None), lambda v: v.mean())


def two_rank_steps(ctx) -> dict:
    """Every case on this rank's rows, gradients all-reduced after each backward."""
    results = {}
    for name, (shape, split, *_rest) in CASES.items():
        start = sum(split[:ctx.rank])
        results[name] = run_steps(convert_batchnorm1d(make_bn(name)), name,
                                  slice(start, start + split[ctx.rank]),
                                  lambda v: ctx.global_mean(v, shape[0]), ctx.allreduce_gradients)
    return results


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory) -> list[dict]:
    return spawn_local(two_rank_steps, WORLD, tmp_path_factory.mktemp("sync_bn"))


@pytest.mark.parametrize("name", list(CASES))
def test_two_ranks_equal_whole_batch(two_ranks, name):
    ref = reference(name)
    shape, split, _, _, _, tol = CASES[name]
    close = dict(atol=tol, rtol=tol)
    for rank, res in enumerate(two_ranks):
        rows = slice(sum(split[:rank]), sum(split[:rank + 1]))
        got = res[name]
        for step in range(STEPS):
            torch.testing.assert_close(got["y"][step], ref["y"][step][rows], **close)
            # Each rank backpropagates world_size times its share of the global loss.
            torch.testing.assert_close(got["x_grad"][step] / WORLD, ref["x_grad"][step][rows],
                                       **close)
            torch.testing.assert_close(got["w_grad"][step], ref["w_grad"][step], **close)
            torch.testing.assert_close(got["b_grad"][step], ref["b_grad"][step], **close)
        torch.testing.assert_close(got["y_eval"], ref["y_eval"][rows], **close)
        assert got["state"].keys() == ref["state"].keys()
        for key, value in ref["state"].items():
            torch.testing.assert_close(got["state"][key], value, **close)
        assert int(got["state"]["num_batches_tracked"]) == STEPS


@pytest.mark.parametrize("name", list(CASES))
def test_one_process_equals_batchnorm1d(name):
    """World size 1 (no process group): the same formulas give BatchNorm1d's results."""
    ref = reference(name)
    got = run_steps(make_bn(name, SyncBatchNorm1d), name, slice(None), lambda v: v.mean())
    tol = CASES[name][-1]
    for key in ("y", "x_grad", "w_grad", "b_grad"):
        for a, b in zip(got[key], ref[key]):
            torch.testing.assert_close(a, b, atol=tol, rtol=tol)
    torch.testing.assert_close(got["y_eval"], ref["y_eval"], atol=tol, rtol=tol)
    for key, value in ref["state"].items():
        torch.testing.assert_close(got["state"][key], value, atol=tol, rtol=tol)


def test_momentum_none_is_cumulative_average():
    bn = SyncBatchNorm1d(2, momentum=None).double()
    xs = [torch.tensor([[0.0, 1.0], [2.0, 5.0]], dtype=torch.float64),
          torch.tensor([[4.0, 1.0], [6.0, 3.0]], dtype=torch.float64)]
    for x in xs:
        bn(x)
    # batch means (1, 3) and (5, 2); unbiased variances (2, 8) and (2, 2): plain averages.
    torch.testing.assert_close(bn.running_mean, torch.tensor([3.0, 2.5], dtype=torch.float64))
    torch.testing.assert_close(bn.running_var, torch.tensor([2.0, 5.0], dtype=torch.float64))


def test_convert_keeps_names_parameters_and_values():
    model = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.ReLU(),
                          nn.Sequential(nn.Linear(3, 3), nn.BatchNorm1d(3, momentum=0.2)))
    model(torch.randn(5, 4))  # non-trivial running stats
    before = {k: v.clone() for k, v in model.state_dict().items()}
    params = list(model.parameters())
    converted = convert_batchnorm1d(model)
    assert converted is model
    assert isinstance(model[1], SyncBatchNorm1d) and isinstance(model[3][1], SyncBatchNorm1d)
    assert model[3][1].momentum == 0.2
    assert all(a is b for a, b in zip(params, model.parameters()))
    after = model.state_dict()
    assert list(after) == list(before)
    for key, value in before.items():
        assert torch.equal(after[key], value)
    plain = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.ReLU(),
                          nn.Sequential(nn.Linear(3, 3), nn.BatchNorm1d(3)))
    plain.load_state_dict(after)  # checkpoints move between the two forms
    single = convert_batchnorm1d(nn.BatchNorm1d(3))
    assert isinstance(single, SyncBatchNorm1d)


def test_convert_rejects_2d_batch_norm():
    with pytest.raises(ValueError, match="BatchNorm2d"):
        convert_batchnorm1d(nn.Sequential(nn.BatchNorm2d(3)))


def test_single_value_per_channel_raises():
    with pytest.raises(ValueError, match="more than 1 value"):
        SyncBatchNorm1d(3)(torch.randn(1, 3))
