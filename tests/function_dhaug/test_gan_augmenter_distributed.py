"""GAN epochs on 2 Gloo processes: every rank draws the random numbers of the whole global batch
and trains on its half; gradients are averaged after every backward (the critics' gradient
penalty included), so the generator, the critics and the gathered fake pool equal the 1-process
run's, single-frame and video (motion critics on), and rank 0 logs the 1-process statistics.

Float64: in float32 the two runs drift apart (max weight difference ~1e-2 after two tiny epochs),
as any change of reduction order does: Adam's first steps are nearly sign(gradient), so rounding
differences in near-zero gradient components become full-size steps that the adversarial game
amplifies. In float64 the same runs agree to ~1e-10."""
from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from function_baseline.pose_set import PoseSet
from function_baseline.video_windows import VideoWindows
from function_dhaug.gan_augmenter import GANAugmenter
from function_dhaug.video_gan_augmenter import NETWORKS, VideoGANAugmenter
from tests.conftest import RecordingWriter
from utils.camera import h36m_camera_table
from utils.distributed import DistContext
from utils.local_processes import spawn_local
from utils.io import DataError

from .synthetic_data import SUBJECTS, make_args, make_pose_set, make_templates

EPOCHS = 2
VIDEO_FLAGS = dict(video_Dis_DenseDim_3D=16, video_Dis_DenseDim_2D=16,
                   GAN_3d_motion_loss_weight=1.0, GAN_2d_motion_loss_weight=1.0,
                   motion_Dis_whether_use_3dPos_branch=True,
                   motion_Dis_whether_use_3dDiff_branch=True, single_dis_warmup_epoch=0,
                   GAN_video_playback_input=True)


def _double_set(n: int, seed: int) -> PoseSet:
    data = make_pose_set(n, seed=seed)
    return replace(data, pose2d=data.pose2d.double(), pose3d=data.pose3d.double(),
                   camera=data.camera.double())


def _augmenter(video: bool, ctx: DistContext | None):
    """A float64 augmenter (data, draws and networks; see the module notes)."""
    table, templates, rng = h36m_camera_table(SUBJECTS), make_templates(), torch.Generator()
    rng.manual_seed(3)
    if not video:
        aug = GANAugmenter(make_args(), _double_set(40, 0), templates, table,
                           torch.device("cpu"), rng, progress=False, ctx=ctx)
    else:
        data = replace(_double_set(44, 1), sequence=torch.arange(44) // 11)
        aug = VideoGANAugmenter(make_args(**VIDEO_FLAGS), data, VideoWindows(data.sequence, 5),
                                templates, table, torch.device("cpu"), rng, progress=False,
                                ctx=ctx)
    for name in _networks(video):
        getattr(aug, name).double()            # in place: the optimisers keep their parameters
    return aug


def _networks(video: bool) -> tuple[str, ...]:
    return NETWORKS if video else ("G", "D3", "D2")


def gan_epochs(ctx: DistContext, video: bool) -> dict:
    """EPOCHS GAN epochs: networks, pools, the writer's scalars (rank 0 only) and the RNG."""
    aug = _augmenter(video, ctx)
    writer = RecordingWriter() if ctx.is_main else None
    pools = [aug.run_epoch(epoch, writer) for epoch in range(EPOCHS)]
    return {"nets": {n: getattr(aug, n).state_dict() for n in _networks(video)},
            "pools": [(p.pose2d, p.pose3d, p.camera) for p in pools],
            "scalars": writer.scalars if writer else None, "quality": getattr(aug, "last_quality", None),
            "rng": aug.generator.get_state(), "iter": aug.global_iter}


def both_modes(ctx: DistContext) -> dict:
    return {"frame": gan_epochs(ctx, False), "video": gan_epochs(ctx, True)}


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory) -> list[dict]:
    return spawn_local(both_modes, 2, tmp_path_factory.mktemp("gan_dist"))


@pytest.fixture(scope="module")
def one_rank() -> dict:
    return both_modes(DistContext())


@pytest.mark.parametrize("mode", ["frame", "video"])
def test_networks_and_pool_equal_the_one_rank_run(two_ranks, one_rank, mode):
    ref = one_rank[mode]
    for res in two_ranks:
        r = res[mode]
        for net, state in ref["nets"].items():
            for name, value in state.items():
                torch.testing.assert_close(r["nets"][net][name], value, atol=1e-8, rtol=0,
                                           msg=f"{net}.{name}")
        for got, want in zip(r["pools"], ref["pools"]):
            for a, b in zip(got, want):
                assert a.shape == b.shape
                torch.testing.assert_close(a, b, atol=1e-8, rtol=0)
        assert torch.equal(r["rng"], ref["rng"]) and r["iter"] == ref["iter"]


@pytest.mark.parametrize("mode", ["frame", "video"])
def test_rank_zero_logs_the_one_rank_statistics(two_ranks, one_rank, mode):
    """Critic/generator statistics averaged over ranks, pose statistics summed: the scalars of
    the 1-rank run (fake-joint counts exactly); other ranks log and measure nothing."""
    ref = one_rank[mode]
    got = two_ranks[0][mode]["scalars"]
    assert [(tag, step) for tag, _, step in got] == [(tag, step) for tag, _, step in ref["scalars"]]
    for (tag, a, _), (_, b, _) in zip(got, ref["scalars"]):
        tol = 0 if "fake_joints" in tag else 1e-8 * max(1.0, abs(b))
        assert abs(a - b) <= tol, tag
    assert any(tag.endswith("fake_joints_total") for tag, _, _ in got)
    assert two_ranks[1][mode]["scalars"] is None
    if mode == "frame":
        assert two_ranks[0][mode]["quality"].keys() == ref["quality"].keys()
        assert two_ranks[1][mode]["quality"] == {}


@pytest.mark.parametrize("mode", ["frame", "video"])
def test_ranks_hold_identical_networks_and_pools(two_ranks, mode):
    a, b = two_ranks[0][mode], two_ranks[1][mode]
    for net in a["nets"]:
        assert all(torch.equal(a["nets"][net][k], b["nets"][net][k]) for k in a["nets"][net])
    assert all(torch.equal(x, y) for p, q in zip(a["pools"], b["pools"]) for x, y in zip(p, q))


def test_batch_size_must_split_over_the_ranks():
    ctx = DistContext(rank=0, world_size=3)                # no collective is reached
    with pytest.raises(DataError, match="--batch_size 8.*3"):
        _augmenter(False, ctx)
