import pytest
import torch

from function_baseline.pose_set import PoseSet
from function_baseline.train import pose_loss, step_variants, train_epoch
from function_baseline.video_data import video_source
from models.lifter_videopose import StridedTemporalLifter
from utils.config import parse_args
from utils.skeleton import flip_pose


class Lifter(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(32, 64), torch.nn.ReLU(),
                                       torch.nn.Linear(64, 48))

    def forward(self, x):
        return self.net(x).view(-1, 16, 3)


def _data(n=64):
    g = torch.Generator().manual_seed(0)
    pose2d = torch.randn(n, 16, 2, generator=g) * 0.1
    # Fixed depth: the root-relative 3D target is an exact linear function of the 2D input.
    pose3d = torch.cat([pose2d * 4, torch.full((n, 16, 1), 4.0)], dim=-1)
    zeros = torch.zeros(n, dtype=torch.long)
    return PoseSet(pose2d, pose3d, torch.zeros(n, 16), zeros, zeros)


def test_training_lowers_the_loss_and_flip_doubles_the_steps():
    torch.manual_seed(0)
    data = _data()
    args = parse_args(["--batch_size", "16"])
    model = Lifter()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    g = torch.Generator().manual_seed(0)
    first = train_epoch(model, opt, data, args, g)["loss"]
    for _ in range(20):
        last = train_epoch(model, opt, data, args, g)["loss"]
    assert last < 0.2 * first
    steps = opt.state[next(iter(model.parameters()))]["step"].item()
    assert steps == 21 * 4 * 2                       # 4 batches, plain + mirrored step each
    args_noflip = parse_args(["--batch_size", "16", "--flip_pos_model_input", "False"])
    opt2 = torch.optim.Adam(model.parameters(), lr=1e-3)
    train_epoch(model, opt2, data, args_noflip, g)
    assert opt2.state[next(iter(model.parameters()))]["step"].item() == 4


def test_final_batch_of_one_is_skipped():
    data = _data(17)
    args = parse_args(["--batch_size", "16", "--flip_pos_model_input", "False"])
    model = Lifter()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    train_epoch(model, opt, data, args, torch.Generator().manual_seed(0))
    assert opt.state[next(iter(model.parameters()))]["step"].item() == 1


class DropLifter(Lifter):
    """Lifter with dropout, so the global RNG draws of the pass matter."""

    def __init__(self):
        super().__init__()
        self.net.insert(3, torch.nn.Dropout(0.3))


def _reference_pass(model, opt, data, batch_size, generator, flip):
    """The single-frame pass written out plainly: permutation, MSE step, clip 1, mirrored step."""
    order = torch.randperm(len(data), generator=generator)
    for start in range(0, len(data), batch_size):
        idx = order[start:start + batch_size]
        if len(idx) < 2:
            break
        x, y = data.pose2d[idx], data.pose3d[idx] - data.pose3d[idx][:, :1]
        pairs = [(x, y), (flip_pose(x), flip_pose(y))] if flip else [(x, y)]
        for xi, yi in pairs:
            opt.zero_grad(set_to_none=True)
            torch.nn.functional.mse_loss(model(xi), yi).backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
            opt.step()


def test_single_frame_pass_is_bit_identical_to_the_plain_loop():
    data = _data(70)
    args = parse_args(["--batch_size", "16"])
    params = []
    for run in ("ours", "reference"):
        torch.manual_seed(7)
        model = DropLifter()
        opt = torch.optim.Adam(model.parameters(), lr=1e-2)
        g = torch.Generator().manual_seed(3)
        for _ in range(2):
            if run == "ours":
                train_epoch(model, opt, data, args, g)
            else:
                _reference_pass(model, opt, data, 16, g, flip=True)
        params.append(torch.cat([p.detach().flatten() for p in model.parameters()]))
    assert torch.equal(params[0], params[1])


def test_losses_hand_values():
    target = torch.zeros(2, 1, 16, 3)
    pred = torch.zeros(2, 1, 16, 3)
    pred[..., 0], pred[..., 1] = 0.3, 0.4          # every joint 0.5 m away
    assert pose_loss(pred, target, video=True).item() == pytest.approx(0.5)
    assert pose_loss(pred, target, video=False).item() == pytest.approx((0.09 + 0.16) / 3)


def test_video_step_variants_in_order():
    args = parse_args([])
    x = torch.randn(3, 9, 16, 2)
    y = torch.randn(3, 1, 16, 3)
    out = step_variants(x, y, args, video=True)
    assert [name for name, _, _ in out] == ["loss", "loss_reverse", "loss_flip", "loss_flip_reverse"]
    reverse = x[:, torch.arange(8, -1, -1)]
    assert torch.equal(out[1][1], reverse) and torch.equal(out[1][2], y)
    assert torch.equal(out[2][1], flip_pose(x)) and torch.equal(out[2][2], flip_pose(y))
    assert torch.equal(out[3][1], flip_pose(reverse)) and torch.equal(out[3][2], flip_pose(y))
    args.GAN_video_playback_input = False
    assert [n for n, _, _ in step_variants(x, y, args, video=True)] == ["loss", "loss_flip"]
    args.GAN_video_playback_input, args.flip_pos_model_input = True, False
    assert [n for n, _, _ in step_variants(x, y, args, video=True)] == ["loss", "loss_reverse"]
    # Single-frame mode never reverses.
    assert [n for n, _, _ in step_variants(x[:, 0], y[:, 0], parse_args([]), video=False)] == \
        ["loss", "loss_flip"]


def _video_set(lengths=(20, 13, 31)):
    n = sum(lengths)
    g = torch.Generator().manual_seed(1)
    t = torch.arange(n, dtype=torch.float32)[:, None, None]
    base = torch.randn(1, 16, 2, generator=g) * 0.2
    pose2d = base + 0.05 * torch.sin(t / 3 + torch.arange(16.0)[None, :, None])
    pose3d = torch.cat([pose2d * 4, torch.full((n, 16, 1), 4.0)], dim=-1)
    seq = torch.cat([torch.full((k,), s, dtype=torch.long) for s, k in enumerate(lengths)])
    zeros = torch.zeros(n, dtype=torch.long)
    return PoseSet(pose2d, pose3d, torch.zeros(n, 16), zeros, zeros, seq)


@pytest.mark.parametrize("playback, flip, steps", [
    ("True", "True", 4), ("True", "False", 2), ("False", "True", 2), ("False", "False", 1)])
def test_video_pass_makes_up_to_four_steps_per_batch(playback, flip, steps):
    torch.manual_seed(0)
    args = parse_args(["--batch_size", "16", "--GAN_video_playback_input", playback,
                       "--flip_pos_model_input", flip])
    model = StridedTemporalLifter((3, 3), channels=16)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    res = train_epoch(model, opt, video_source(_video_set(), 9), args, torch.Generator().manual_seed(0))
    assert opt.state[next(iter(model.parameters()))]["step"].item() == 4 * steps   # 64 windows
    assert len(res) == steps and all(v > 0 for v in res.values())


def test_video_training_lowers_the_mpjpe():
    torch.manual_seed(0)
    args = parse_args(["--batch_size", "32"])
    model = StridedTemporalLifter((3, 3), channels=32, dropout=0.0)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    src = video_source(_video_set(), 9)
    g = torch.Generator().manual_seed(0)
    first = train_epoch(model, opt, src, args, g)["loss"]
    for _ in range(11):
        last = train_epoch(model, opt, src, args, g)["loss"]
    assert last < 0.6 * first


def test_after_backward_hook_sees_every_step_and_can_skip_it():
    data = _data(32)
    args = parse_args(["--batch_size", "16"])
    model = Lifter()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    seen = []

    def veto(m, loss):
        assert m is model and all(p.grad is not None for p in m.parameters())
        seen.append(float(loss.detach()))
        return False

    before = [p.detach().clone() for p in model.parameters()]
    res = train_epoch(model, opt, data, args, torch.Generator().manual_seed(0), after_backward=veto)
    assert len(seen) == 4                                  # 2 batches x (plain, mirrored)
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))
    assert res["loss"] == pytest.approx((seen[0] + seen[2]) / 2, rel=1e-6)
