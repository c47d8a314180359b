"""utils.finite: a diverging critic is caught with one line, states with NaN are found by key,
fake pairs with NaN/inf are dropped."""
from __future__ import annotations

import argparse

import pytest
import torch

from function_baseline.pose_set import PoseSet
from function_dhaug.gan_augmenter import GANAugmenter
from function_dhaug.wgan import critic_step
from models.gan_discriminators import Critic3D
from tests.function_dhaug.synthetic_data import (SUBJECTS, make_pose_set, make_templates,
                                                 make_world_poses)
from utils.camera import h36m_camera_table
from utils.config import parse_args
from utils.finite import (NETWORK_FLAGS, FiniteGuard, NonFiniteError, all_finite,
                          divergence_hint, drop_non_finite, finite_fake_pool, first_non_finite)
from utils.io import run_command
from utils.seed import make_generator


def _critic_losses(lr: float, iterations: int = 6) -> list[torch.Tensor]:
    """WGAN-GP steps of the real 3D critic at learning rate ``lr``; the detached (5,) stats."""
    gen = torch.Generator().manual_seed(0)
    critic = Critic3D(16, generator=gen)
    opt = torch.optim.Adam(critic.parameters(), lr=lr)
    real = make_world_poses(16, gen).float()
    real = real - real[:, :1]
    out = []
    for _ in range(iterations):
        fake = real + 0.3 * torch.randn(real.shape, generator=gen)
        out.append(critic_step(critic, opt, real, fake, torch.rand(16, generator=gen), 10.0))
    return out


def test_a_critic_collapsing_with_huge_learning_rates_is_caught_at_its_iteration():
    args = parse_args(["--lr_g", "1e3", "--lr_d", "1e3"])
    losses = _critic_losses(lr=1e3)
    first_bad = next(i for i, s in enumerate(losses) if not torch.isfinite(s).all())  # the defect
    guard = FiniteGuard(args)
    for it, stats in enumerate(losses):
        guard.observe("3D critic", stats, epoch=0, iteration=it)
    assert len(guard) == len(losses)
    with pytest.raises(NonFiniteError) as err:
        guard.check("before writing ckpt_last.pth.tar")
    msg = str(err.value)
    assert f"the 3D critic loss became NaN at epoch 0, iteration {first_bad} " \
           f"(before writing ckpt_last.pth.tar)" in msg
    assert "--lr_d (now 1000.0)" in msg and "--GAN_LAMBDA (now 10" in msg and "\n" not in msg
    assert err.value.exit_code == 3 and len(guard) == 0
    guard.check()                                      # cleared: nothing left to report


def test_a_stable_run_passes_and_the_guard_keeps_no_graph():
    guard = FiniteGuard()
    for it, stats in enumerate(_critic_losses(lr=1e-4)):
        guard.observe("3D critic", stats, 0, it)
    w = torch.ones(3, requires_grad=True)
    guard.observe("pose net", (w * 2).square().mean(), 0, 6)
    assert not any(v.requires_grad for v in guard._values)
    guard.check()


def test_observe_never_reads_a_value_back_to_the_host(monkeypatch):
    # On CUDA each of these is a device sync; observe must use none of them (check uses one).
    losses = [torch.tensor(float(i)) for i in range(50)] + [torch.tensor(float("nan"))]
    guard = FiniteGuard()

    def sync(*args, **kwargs):
        raise AssertionError("host sync in observe")

    with monkeypatch.context() as m:
        for name in ("item", "tolist", "cpu", "numpy", "__bool__", "__float__", "__int__"):
            m.setattr(torch.Tensor, name, sync)
        for it, loss in enumerate(losses):
            guard.observe("pose net", loss, 1, it)
    with pytest.raises(NonFiniteError, match="iteration 50"):
        guard.check()


def test_first_non_finite_is_reported_inf_or_nan_and_exit_code_is_3(capsys):
    guard = FiniteGuard(max_pending=100)
    guard.observe("pose net", torch.tensor(0.5), 4, 10)
    guard.observe("generator", torch.tensor([1.0, float("inf")]), 4, 11)   # non-scalar: summed
    guard.observe("2D critic", torch.tensor(float("nan")), 4, 12)
    with pytest.raises(NonFiniteError, match="the generator loss became inf at epoch 4, iteration 11"):
        guard.check()

    def run():
        guard.observe("pose net", torch.tensor(float("nan")), 7, 3)
        guard.check()

    assert run_command(run) == 3
    err = capsys.readouterr().err
    assert err.startswith("error: the pose net loss became NaN at epoch 7, iteration 3: ")
    assert "--lr_p" in err and err.count("\n") == 1


def test_steps_are_numbered_per_network_and_epoch_when_the_caller_has_no_counter():
    guard = FiniteGuard()
    for _ in range(3):
        guard.observe("pose net", torch.tensor(1.0), 0)
    guard.observe("generator", torch.tensor(1.0), 1)
    guard.observe("pose net", torch.tensor(1.0), 1)
    guard.observe("pose net", torch.tensor(float("nan")), 1)
    with pytest.raises(NonFiniteError, match="pose net loss became NaN at epoch 1, iteration 1:"):
        guard.check()


def test_the_guard_checks_by_itself_when_never_asked():
    guard = FiniteGuard(max_pending=3)
    guard.observe("generator", torch.tensor(1.0), 0, 0)
    guard.observe("generator", torch.tensor(float("nan")), 0, 1)
    with pytest.raises(NonFiniteError, match="iteration 1"):
        guard.observe("generator", torch.tensor(1.0), 0, 2)


def test_unknown_network_names_are_a_programming_error():
    with pytest.raises(ValueError, match="unknown network"):
        FiniteGuard().observe("critic", torch.tensor(1.0), 0, 0)
    with pytest.raises(ValueError):
        divergence_hint("discriminator")


def test_every_network_hint_names_flags_the_parser_has():
    flags = vars(parse_args([]))
    for network, names in NETWORK_FLAGS.items():
        assert all(n in flags for n in names), network
    hint = divergence_hint("generator", argparse.Namespace(**flags))
    assert hint.startswith("usually caused by: --lr_g (now 0.0001), --lr_d (now 0.0001)")
    assert divergence_hint("2D critic").startswith("usually caused by: --lr_d, --lr_g, --GAN_LAMBDA")


def test_first_non_finite_names_the_key_path():
    state = {"model_pos": {"w": torch.ones(2, 2), "b": torch.zeros(2)},
             "optimizer": {"state": {0: {"step": torch.tensor(3.0), "exp_avg": torch.ones(2)}},
                           "param_groups": [{"lr": 1e-4, "betas": (0.9, 0.999)}]},
             "batch_gen": torch.zeros(16, dtype=torch.uint8), "epoch": 3, "args": {"note": "x"},
             "best": {"h36m_p1": None}}
    assert first_non_finite(state) is None and all_finite(state)
    state["optimizer"]["state"][0]["exp_avg"][1] = float("inf")
    assert first_non_finite(state) == "optimizer.state.0.exp_avg"
    assert not all_finite(state)
    assert first_non_finite({"a": [1.0, float("nan")]}) == "a.1"
    assert first_non_finite(torch.ones(2), torch.tensor([float("nan")])) == "[1]"
    assert all_finite(torch.zeros(0), {"i": torch.arange(3)}, [True, 2])


def test_a_collapsed_gan_state_is_not_finite_and_its_nan_pairs_are_dropped():
    # The failure: --lr_g 1e3 --lr_d 1e3 makes the real GAN NaN within one epoch.
    args = parse_args(["--batch_size", "8", "--Gen_DenseDim", "16", "--Dis_DenseDim_3D", "16",
                       "--Dis_DenseDim_2D", "16", "--lr_g", "1e3", "--lr_d", "1e3"])
    aug = GANAugmenter(args, make_pose_set(64), make_templates(), h36m_camera_table(SUBJECTS),
                       torch.device("cpu"), make_generator(0, 1), progress=False)
    pool = aug.run_epoch(0)
    assert first_non_finite(aug.state_dict()) is not None
    bad = ~torch.isfinite(pool.pose2d.flatten(1)).all(1) | ~torch.isfinite(pool.pose3d.flatten(1)).all(1)
    assert 0 < int(bad.sum()) < len(pool)
    clean, dropped = drop_non_finite(pool)
    assert dropped == int(bad.sum()) and len(clean) == len(pool) - dropped
    assert torch.equal(clean.pose3d, pool.pose3d[~bad]) and all_finite(clean.pose2d, clean.pose3d)


def _pool(m: int, frames: int | None = None) -> PoseSet:
    shape2d = (m, 16, 2) if frames is None else (m, frames, 16, 2)
    return PoseSet(pose2d=torch.arange(m * 32 * (frames or 1), dtype=torch.float32).reshape(shape2d),
                   pose3d=torch.ones(m, 16, 3), camera=torch.zeros(m, 16),
                   action=torch.arange(m), subject=torch.zeros(m, dtype=torch.long))


def test_drop_non_finite_single_frame_and_video_pools():
    pool = _pool(5)
    same, dropped = drop_non_finite(pool)
    assert same is pool and dropped == 0
    pool.pose3d[1, 4, 2] = float("nan")
    pool.camera[3, 13] = float("-inf")
    clean, dropped = drop_non_finite(pool)
    assert dropped == 2 and clean.action.tolist() == [0, 2, 4]
    assert torch.equal(clean.pose2d, pool.pose2d[[0, 2, 4]])

    video = _pool(4, frames=3)
    video.pose2d[2, 1, 0, 0] = float("nan")            # one frame of one window
    clean, dropped = drop_non_finite(video)
    assert dropped == 1 and clean.pose2d.shape == (3, 3, 16, 2) and clean.action.tolist() == [0, 1, 3]
    empty = _pool(0)
    assert drop_non_finite(empty)[0] is empty and drop_non_finite(empty)[1] == 0


def test_finite_fake_pool_reports_drops_and_refuses_an_all_nan_pool():
    lines: list[str] = []
    pool = _pool(4)
    pool.pose3d[0] = float("nan")
    assert len(finite_fake_pool(pool, 2, log=lines.append)) == 3
    assert lines == ["warning: epoch 2: dropped 1 of 4 fake 2D-3D pairs holding NaN or inf "
                     "before the pose net sees them"]
    pool.pose3d[:] = float("nan")
    with pytest.raises(NonFiniteError, match="every one of the 4 fake 2D-3D pairs of epoch 2"):
        finite_fake_pool(pool, 2, log=lines.append)
    assert len(finite_fake_pool(_pool(3), 2, log=lines.append)) == 3 and len(lines) == 1
