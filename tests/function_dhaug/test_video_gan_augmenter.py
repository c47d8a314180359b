import io
import math

import pytest
import torch

from function_baseline.pose_set import PoseSet
from function_baseline.video_windows import VideoWindows
from function_dhaug.video_gan_augmenter import VideoGANAugmenter
from models.dh_tables import DOF_TABLE
from tests.conftest import RecordingWriter
from utils.camera import h36m_camera_table, project_to_2d, to_camera_frame
from utils.io import DataError
from utils.skeleton import FK_SCALE_GROUPS, bone_lengths, template_to_fk_order

from .synthetic_data import SUBJECTS, make_args, make_templates, make_world_poses

FRAMES = 5
SEQ_LENGTHS = (9, 7, 12, 6, 10)          # 44 rows, 5 sequences


def make_video_set(lengths=SEQ_LENGTHS, seed=0) -> PoseSet:
    """Sequences of a jittered pose walking in a straight line, one S1/S5 camera per sequence."""
    gen = torch.Generator().manual_seed(seed)
    table = h36m_camera_table(SUBJECTS).double().reshape(-1, 16)
    poses, cams, seq = [], [], []
    for s, n in enumerate(lengths):
        base = make_world_poses(1, gen)                                   # (1, 16, 3)
        step = torch.tensor([0.03, 0.02, 0.0], dtype=torch.float64)
        walk = torch.arange(n, dtype=torch.float64)[:, None, None] * step
        world = base + walk + 0.005 * torch.randn(n, 16, 3, generator=gen, dtype=torch.float64)
        cam = table[torch.randint(len(table), (), generator=gen)].expand(n, 16)
        poses.append(to_camera_frame(world, cam))
        cams.append(cam)
        seq.append(torch.full((n,), s, dtype=torch.long))
    pose_cam, cam = torch.cat(poses), torch.cat(cams)
    zeros = torch.zeros(len(pose_cam), dtype=torch.long)
    return PoseSet(pose2d=project_to_2d(pose_cam, cam).float(), pose3d=pose_cam.float(),
                   camera=cam.float(), action=zeros, subject=zeros.clone(), sequence=torch.cat(seq))


VIDEO_SET = make_video_set()
TEMPLATES = make_templates()
TABLE = h36m_camera_table(SUBJECTS)


def _flags(**overrides):
    values = dict(video_Dis_DenseDim_3D=16, video_Dis_DenseDim_2D=16, GAN_3d_motion_loss_weight=1.0,
                  GAN_2d_motion_loss_weight=1.0, motion_Dis_whether_use_3dPos_branch=True,
                  motion_Dis_whether_use_3dDiff_branch=True, single_dis_warmup_epoch=1,
                  GAN_video_playback_input=True)
    values.update(overrides)
    return make_args(**values)


def _augmenter(seed=0, data=VIDEO_SET, frames=FRAMES, **flags):
    windows = VideoWindows(data.sequence, frames)
    return VideoGANAugmenter(_flags(**flags), data, windows, TEMPLATES, TABLE, torch.device("cpu"),
                             torch.Generator().manual_seed(seed), progress=False)


def _steps(opt, param):
    return int(opt.state[param]["step"]) if param in opt.state else 0


def test_pool_shapes_and_fake_2d_is_the_projection_of_fake_3d():
    pool = _augmenter().run_epoch(0)
    m = len(VIDEO_SET) // 8 * 8                                         # partial batch skipped
    assert pool.pose2d.shape == (m, FRAMES, 16, 2) and pool.pose3d.shape == (m, 16, 3)
    assert pool.camera.shape == (m, 16) and pool.sequence is None
    centre = pool.pose2d[:, FRAMES // 2]
    torch.testing.assert_close(centre, project_to_2d(pool.pose3d, pool.camera), rtol=0, atol=0)
    cams = pool.camera.reshape(-1, 8, 16)
    assert (cams == cams[:, :1]).all()                                  # one camera per batch
    assert all((TABLE.reshape(-1, 16) == c).all(-1).any() for c in cams[:, 0])


def test_fake_sequences_keep_bone_lengths_and_dof_ranges():
    aug = _augmenter()
    real3d, _, lengths_fk = aug._real_for_critics(torch.arange(8), torch.arange(8) % 5)
    torch.testing.assert_close(lengths_fk, template_to_fk_order(TEMPLATES[torch.arange(8) % 5]))
    # the real windows carry their template lengths in every frame
    torch.testing.assert_close(bone_lengths(real3d, "fk"),
                               lengths_fk[:, None].expand(-1, FRAMES, -1), rtol=0, atol=2e-6)
    fake = aug._generate(lengths_fk, torch.Generator().manual_seed(3))
    fake_lengths = bone_lengths(fake.world.double(), "fk")               # (8, T, 15)
    assert (fake_lengths - fake_lengths[:, :1]).abs().max() < 1e-6       # constant in time
    ratio = fake_lengths[:, 0] / lengths_fk.double()
    groups = torch.tensor(FK_SCALE_GROUPS)
    assert (ratio[:, groups == -1] - 1).abs().max() < 1e-5               # thorax unscaled
    assert ratio.min() >= 0.8 - 1e-5 and ratio.max() < 1.2
    for row in DOF_TABLE:
        lo, hi = row.gan_range
        a = fake.angles[..., row.index]
        assert a.min() >= lo and a.max() <= hi, row
    # frames really differ: the sequence is not one pose repeated
    assert (fake.world[:, 1:] - fake.world[:, :1]).abs().max() > 1e-3


def test_one_template_row_per_sequence(monkeypatch):
    aug = _augmenter()
    seen = []
    original = aug._real_for_critics

    def spy(idx, rows):
        seen.append((idx.clone(), rows.clone()))
        return original(idx, rows)

    monkeypatch.setattr(aug, "_real_for_critics", spy)
    aug.run_epoch(0)
    idx = torch.cat([i for i, _ in seen])
    rows = torch.cat([r for _, r in seen])
    seq = VIDEO_SET.sequence[idx]
    for s in seq.unique():
        assert rows[seq == s].unique().numel() == 1                      # windows share a row
    assert len(idx.unique()) == len(idx)                                 # no window twice


def test_motion_critics_untouched_before_warmup_then_trained_in_order():
    aug = _augmenter(single_dis_warmup_epoch=1)       # 5 iterations per epoch, df = 2
    dm3 = [p.detach().clone() for p in aug.DM3.parameters()]
    dm2 = [p.detach().clone() for p in aug.DM2.parameters()]
    aug.run_epoch(0)
    assert all(torch.equal(p, q) for p, q in zip(aug.DM3.parameters(), dm3))
    assert all(torch.equal(p, q) for p, q in zip(aug.DM2.parameters(), dm2))
    assert not aug.opt_DM3.state and not aug.opt_DM2.state
    assert _steps(aug.opt_D3, aug.D3.merge[0].weight) == 10              # plain + mirrored
    assert [c.tag for c in aug.epoch_calls(0)] == ["Fk_d3d", "Fk_d3d", "d2d", "d2d"]
    aug.run_epoch(1)
    # plain, reversed, mirrored, mirrored + reversed per iteration
    assert _steps(aug.opt_DM3, aug.DM3.merge[0].weight) == 20
    assert _steps(aug.opt_DM2, aug.DM2.merge[0].weight) == 20
    assert _steps(aug.opt_D3, aug.D3.merge[0].weight) == 20
    assert _steps(aug.opt_G, aug.G.out.weight) == 5                      # iterations 1,3,5,7,9
    assert any((p - q).abs().max() > 0 for p, q in zip(aug.DM3.parameters(), dm3))
    # with both optional branches on, every DM3 layer was stepped
    assert all(p in aug.opt_DM3.state for p in aug.DM3.parameters())


def test_disabled_motion_branches_and_switches():
    aug = _augmenter(single_dis_warmup_epoch=0, flip_GAN_model_input=False,
                     GAN_video_playback_input=False, motion_Dis_whether_use_3dPos_branch=False,
                     motion_Dis_whether_use_3dDiff_branch=False, df=5)
    aug.run_epoch(0)
    assert _steps(aug.opt_DM3, aug.DM3.merge[0].weight) == 5             # one call per iteration
    assert _steps(aug.opt_D2, aug.D2.l1.weight) == 5
    assert aug.DM3.position[0].weight not in aug.opt_DM3.state           # built, never used
    assert aug.DM3.cosine[0].weight in aug.opt_DM3.state


def test_tensorboard_tags_at_global_iterations():
    writer = RecordingWriter()
    aug = _augmenter(single_dis_warmup_epoch=1)
    aug.run_epoch(0, writer=writer)
    aug.run_epoch(1, writer=writer)
    assert all(math.isfinite(v) for _, v, _ in writer.scalars)
    by_tag, values = {}, {}
    for tag, value, step in writer.scalars:       # tag -> its steps, and its values
        by_tag.setdefault(tag, []).append(step)
        values.setdefault(tag, []).append(value)
    prefix = "train_G_iter_PoseFk/"
    for name in ("Fk_d3d", "d2d"):                                        # plain + mirrored
        assert by_tag[f"{prefix}{name}_Wasserstein_D"] == [i for i in range(10) for _ in (0, 1)]
    for name in ("motion_Fk_d3d", "motion_d2d"):                          # from epoch 1 on
        for stat in ("D_real", "D_fake", "Wasserstein_D"):
            assert by_tag[f"{prefix}{name}_{stat}"] == [i for i in range(5, 10) for _ in (0, 1)]
    for name in ("back_motion_Fk_d3d", "back_flip_motion_Fk_d3d", "back_motion_d2d",
                 "back_flip_motion_d2d"):
        assert by_tag[f"{prefix}{name}_D_real"] == list(range(5, 10))
    assert by_tag[f"{prefix}G_loss"] == [1, 3, 5, 7, 9]
    assert by_tag[f"{prefix}G_motion_D3_fake"] == [1, 3, 5, 7, 9]
    assert by_tag["GAN_epoch/bone_length/thorax_mean"] == [0, 1]
    wd = values[f"{prefix}back_motion_Fk_d3d_Wasserstein_D"]
    dr, df = values[f"{prefix}back_motion_Fk_d3d_D_real"], values[f"{prefix}back_motion_Fk_d3d_D_fake"]
    assert wd == pytest.approx([a - b for a, b in zip(dr, df)], abs=1e-5)
    # before the warm-up epoch the generator loss has no motion terms
    assert values[f"{prefix}G_motion_D3_fake"][0] == 0.0


def test_resume_matches_an_uninterrupted_run():
    straight = _augmenter()
    straight.run_epoch(0)
    pool_straight = straight.run_epoch(1)
    first = _augmenter()
    first.run_epoch(0)
    buffer = io.BytesIO()
    torch.save(first.state_dict(), buffer)
    buffer.seek(0)
    resumed = _augmenter(seed=123)                                        # different start
    resumed.load_state_dict(torch.load(buffer))
    pool_resumed = resumed.run_epoch(1)
    for name in ("G", "D3", "D2", "DM3", "DM2"):
        for p, q in zip(getattr(straight, name).parameters(), getattr(resumed, name).parameters()):
            assert torch.equal(p, q), name
    assert torch.equal(pool_straight.pose2d, pool_resumed.pose2d)
    assert torch.equal(pool_straight.pose3d, pool_resumed.pose3d)
    assert resumed.global_iter == straight.global_iter == 10


def test_load_gan_weights_restores_networks_only():
    trained = _augmenter()
    trained.run_epoch(1)
    other = _augmenter(seed=5)
    state_before = other.generator.get_state()
    other.load_gan_weights(trained.state_dict())
    assert torch.equal(other.DM3.merge[0].weight, trained.DM3.merge[0].weight)
    assert other.global_iter == 0 and torch.equal(other.generator.get_state(), state_before)
    with pytest.raises(DataError, match="architecture"):
        _augmenter(frames=7).load_gan_weights(trained.state_dict())


def test_samples_and_pictures_leave_the_training_stream_alone(tmp_path):
    aug = _augmenter()
    state = aug.generator.get_state()
    fake = aug.sample_sequences(6, torch.Generator().manual_seed(1))
    real = aug.sample_real_sequences(6, torch.Generator().manual_seed(1))
    assert fake.shape == real.shape == (6, FRAMES, 16, 3)
    lengths = bone_lengths(real.double(), "fk")
    assert (lengths - lengths[:, :1]).abs().max() < 2e-6                 # swapped windows
    writer = RecordingWriter()
    paths = aug.write_pictures(3, tmp_path, writer)
    assert torch.equal(aug.generator.get_state(), state)
    assert [p.name for p in paths] == ["gan_video_epoch003.png", "gan_video_angles_epoch003.png"]
    assert all(p.read_bytes()[:4] == b"\x89PNG" for p in paths)
    assert [t for t, *_ in writer.images] == ["DHAUG/video", "DHAUG/video_angle_histograms"]


def test_bad_inputs_raise_data_error():
    no_sequence = PoseSet(**{k: getattr(VIDEO_SET, k) for k in
                             ("pose2d", "pose3d", "camera", "action", "subject")})
    windows = VideoWindows(VIDEO_SET.sequence, FRAMES)
    with pytest.raises(DataError, match="sequence ids"):
        VideoGANAugmenter(_flags(), no_sequence, windows, TEMPLATES, TABLE, torch.device("cpu"),
                          torch.Generator())
    with pytest.raises(DataError, match="--batch_size"):
        _augmenter(batch_size=64)
    with pytest.raises(DataError, match="at least 2 frames"):
        _augmenter(frames=1)
