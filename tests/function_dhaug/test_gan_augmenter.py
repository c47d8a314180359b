import io
import math

import pytest
import torch

from function_dhaug.gan_augmenter import GANAugmenter
from tests.conftest import RecordingWriter
from utils.camera import project_to_2d
from utils.io import DataError
from utils.skeleton import FK_SCALE_GROUPS, bone_lengths, template_to_fk_order

from .synthetic_data import make_args

THORAX = FK_SCALE_GROUPS.index(-1)


def _augmenter(train, templates, table, seed=0, **flags):
    return GANAugmenter(make_args(**flags), train, templates, table, torch.device("cpu"),
                        torch.Generator().manual_seed(seed), progress=False)


def _group_ratios(fake3d, templates):
    """For every fake pose: the template row it was built from (identified by the unscaled thorax)
    and the ratio of each FK bone to that row."""
    lengths = bone_lengths(fake3d.double(), "fk")                        # (M, 15)
    rows = template_to_fk_order(templates.double())                     # (T, 15)
    thorax_err = (lengths[:, None, THORAX] - rows[None, :, THORAX]).abs()
    row = thorax_err.argmin(1)
    assert thorax_err.min(1).values.max() < 2e-5     # thorax never scaled (float32 poses)
    return lengths / rows[row]


def test_fake_poses_have_template_lengths_times_group_factor(train_set, templates, camera_table):
    pool = _augmenter(train_set, templates, camera_table).run_epoch(0)
    ratio = _group_ratios(pool.pose3d, templates)
    groups = torch.tensor(FK_SCALE_GROUPS)
    for g in range(8):
        r = ratio[:, groups == g]
        torch.testing.assert_close(r[:, 0], r[:, -1], rtol=0, atol=1e-4)
        assert r.min() >= 0.8 - 1e-4 and r.max() < 1.2 - 1e-4
    # 'different' really draws different factors per group
    per_group = torch.stack([ratio[:, groups == g][:, 0] for g in range(8)], 1)
    assert (per_group.std(1) > 1e-3).all()


@pytest.mark.parametrize("mode", ["same", ""])
def test_same_and_no_bone_scaling(train_set, templates, camera_table, mode):
    pool = _augmenter(train_set, templates, camera_table, bone_len_scaler=mode).run_epoch(0)
    ratio = _group_ratios(pool.pose3d, templates)
    expected = torch.ones_like(ratio)
    if mode == "same":      # one shared factor for every scaled bone, thorax unscaled
        expected[:, torch.tensor(FK_SCALE_GROUPS) >= 0] = ratio[:, :1]
    torch.testing.assert_close(ratio, expected, rtol=0, atol=1e-4)
    if mode == "same":
        assert ratio[:, 0].std() > 1e-3


def test_fake_2d_is_projection_of_fake_3d_with_one_camera_per_batch(train_set, templates,
                                                                    camera_table):
    args_b = 8
    pool = _augmenter(train_set, templates, camera_table).run_epoch(0)
    assert len(pool) == len(train_set) // args_b * args_b
    assert pool.pose2d.shape == (len(pool), 16, 2) and pool.camera.shape == (len(pool), 16)
    torch.testing.assert_close(pool.pose2d, project_to_2d(pool.pose3d, pool.camera), rtol=0, atol=0)
    cams = pool.camera.reshape(-1, args_b, 16)
    assert (cams == cams[:, :1]).all()                                  # one camera per iteration
    table = camera_table.reshape(-1, 16)
    assert all((table == c).all(-1).any() for c in cams[:, 0])          # a training camera
    assert (pool.action == 0).all() and (pool.subject == 0).all()


def test_partial_batches_are_skipped(train_set, templates, camera_table):
    pool = _augmenter(train_set, templates, camera_table, batch_size=16).run_epoch(0)
    assert len(pool) == 32


def test_epoch_updates_critics_and_generator_on_schedule(train_set, templates, camera_table):
    aug = _augmenter(train_set, templates, camera_table)       # 5 iterations per epoch, df = 2
    d3 = [p.detach().clone() for p in aug.D3.parameters()]
    g = [p.detach().clone() for p in aug.G.parameters()]
    aug.run_epoch(0)
    aug.run_epoch(1)
    assert aug.global_iter == 10
    # G steps at global iterations 1, 3 | 5, 7, 9: the counter is not reset between epochs
    assert int(aug.opt_G.state[aug.G.out.weight]["step"]) == 5
    assert int(aug.opt_D3.state[aug.D3.merge[0].weight]["step"]) == 20   # plain + mirrored
    assert int(aug.opt_D2.state[aug.D2.l1.weight]["step"]) == 20
    assert any((p - q).abs().max() > 0 for p, q in zip(aug.D3.parameters(), d3))
    assert (aug.G.inp.weight - g[0]).abs().max() > 0


def test_without_flip_one_critic_step_per_iteration(train_set, templates, camera_table):
    aug = _augmenter(train_set, templates, camera_table, flip_GAN_model_input=False, df=5)
    aug.run_epoch(0)
    assert int(aug.opt_D3.state[aug.D3.merge[0].weight]["step"]) == 5
    assert int(aug.opt_G.state[aug.G.out.weight]["step"]) == 1


def test_tensorboard_scalars(train_set, templates, camera_table):
    writer = RecordingWriter()
    aug = _augmenter(train_set, templates, camera_table)
    aug.run_epoch(0, writer=writer)
    aug.run_epoch(1, writer=writer)
    by_tag = {}
    for tag, value, step in writer.scalars:
        assert math.isfinite(value), tag
        by_tag.setdefault(tag, []).append(step)
    for name in ("Fk_d3d", "d2d"):
        for stat in ("D_real", "D_fake", "Wasserstein_D", "gradient_penalty"):
            # plain and mirrored calls share the tag and the global-iteration step
            steps = by_tag[f"train_G_iter_PoseFk/{name}_{stat}"]
            assert steps == [i for i in range(10) for _ in (0, 1)]
    assert by_tag["train_G_iter_PoseFk/G_loss"] == [1, 3, 5, 7, 9]
    assert by_tag["GAN_epoch/bone_length/thorax_mean"] == [0, 1]
    assert by_tag["GAN_epoch/angle/RArm3_std"] == [0, 1]
    assert by_tag["GAN_epoch/fake_joints_behind_camera"] == [0, 1]
    wd = [v for t, v, s in writer.scalars if t == "train_G_iter_PoseFk/Fk_d3d_Wasserstein_D"]
    dr = [v for t, v, s in writer.scalars if t == "train_G_iter_PoseFk/Fk_d3d_D_real"]
    df = [v for t, v, s in writer.scalars if t == "train_G_iter_PoseFk/Fk_d3d_D_fake"]
    assert wd == pytest.approx([a - b for a, b in zip(dr, df)], abs=1e-5)


def test_resume_matches_an_uninterrupted_run(train_set, templates, camera_table):
    straight = _augmenter(train_set, templates, camera_table)
    straight.run_epoch(0)
    pool_straight = straight.run_epoch(1)

    first = _augmenter(train_set, templates, camera_table)
    first.run_epoch(0)
    buffer = io.BytesIO()
    torch.save(first.state_dict(), buffer)
    buffer.seek(0)
    resumed = _augmenter(train_set, templates, camera_table, seed=123)   # different start
    resumed.load_state_dict(torch.load(buffer))
    pool_resumed = resumed.run_epoch(1)

    for a, b in ((straight.G, resumed.G), (straight.D3, resumed.D3), (straight.D2, resumed.D2)):
        for p, q in zip(a.parameters(), b.parameters()):
            assert (p - q).abs().max() < 1e-6
    assert (pool_straight.pose3d - pool_resumed.pose3d).abs().max() < 1e-6
    assert resumed.global_iter == straight.global_iter == 10


def test_load_gan_weights_restores_networks_only(train_set, templates, camera_table):
    trained = _augmenter(train_set, templates, camera_table)
    trained.run_epoch(0)
    other = _augmenter(train_set, templates, camera_table, seed=5)
    state_before = other.generator.get_state()
    other.load_gan_weights(trained.state_dict())
    assert torch.equal(other.G.out.weight, trained.G.out.weight)
    assert other.global_iter == 0 and torch.equal(other.generator.get_state(), state_before)
    wrong = _augmenter(train_set, templates, camera_table, Gen_DenseDim=12)
    with pytest.raises(DataError, match="Gen_DenseDim"):
        wrong.load_gan_weights(trained.state_dict())


def test_pictures_written_without_touching_the_training_stream(tmp_path, train_set, templates,
                                                               camera_table):
    aug = _augmenter(train_set, templates, camera_table, record_all_picture=True, snapshot=2)
    writer = RecordingWriter()
    state = aug.generator.get_state()
    paths = aug.write_pictures(4, tmp_path, writer)
    assert torch.equal(aug.generator.get_state(), state)
    assert len(paths) == 2 and all(p.read_bytes()[:4] == b"\x89PNG" for p in paths)
    assert [t for t, *_ in writer.images] == ["DHAUG/poses", "DHAUG/angle_histograms"]
    # run_epoch leaves pictures to the loop (which calls write_pictures when they are due)
    aug.run_epoch(0, image_dir=tmp_path / "run")
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("flags, word", [({"batch_size": 64}, "--batch_size")])
def test_too_few_samples_for_a_batch_raise_data_error(train_set, templates, camera_table, flags,
                                                      word):
    with pytest.raises(DataError, match=word):
        _augmenter(train_set, templates, camera_table, **flags)
