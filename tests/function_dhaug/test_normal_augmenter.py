import pytest
import torch

from function_dhaug.normal_augmenter import NormalAugmenter
from function_dhaug.pose_stats import normal_dof_ranges
from utils.camera import camera_to_world, project_to_2d
from utils.skeleton import bone_lengths, root_relative

from .synthetic_data import make_args

NUM_CAMERAS = 8          # S1, S5 x 4 slots


def _augmenter(train, templates, table, seed=0, **flags):
    args = make_args(data_enhancement_method="normal", **flags)
    return NormalAugmenter(args, train, templates, table, torch.device("cpu"),
                           torch.Generator().manual_seed(seed), progress=False)


def _world(pool):
    return camera_to_world(pool.pose3d.double(), pool.camera[:, 9:13].double(),
                           pool.camera[:, 13:16].double())


def _real_world(train):
    return camera_to_world(train.pose3d.double(), train.camera[:, 9:13].double(),
                           train.camera[:, 13:16].double())


def test_every_pose_seen_by_every_training_camera(train_set, templates, camera_table):
    pool = _augmenter(train_set, templates, camera_table).run_epoch(0)
    n = 6
    assert len(pool) == n * NUM_CAMERAS
    torch.testing.assert_close(pool.pose2d, project_to_2d(pool.pose3d, pool.camera), rtol=0, atol=0)
    torch.testing.assert_close(pool.camera.reshape(n, NUM_CAMERAS, 16),
                               camera_table.reshape(1, -1, 16).expand(n, -1, -1), rtol=0, atol=0)
    # the 8 views of one pose are the same world pose
    world = _world(pool).reshape(n, NUM_CAMERAS, 16, 3)
    assert (world - world[:, :1]).abs().max() < 1e-5


def test_lengths_and_roots_come_from_real_frames(train_set, templates, camera_table):
    pool = _augmenter(train_set, templates, camera_table, bone_len_scaler="").run_epoch(0)
    world = _world(pool)[::NUM_CAMERAS]
    real = _real_world(train_set)
    lengths = bone_lengths(world, "fk")
    real_lengths = bone_lengths(real, "fk")
    err = (lengths[:, None] - real_lengths[None]).abs().amax(-1).min(1).values
    assert err.max() < 1e-5
    root_err = (world[:, None, 0] - real[None, :, 0]).abs().amax(-1).min(1).values
    assert root_err.max() < 1e-5
    # and they differ from pose to pose
    assert lengths.std(0).max() > 1e-3 and world[:, 0].std(0).max() > 1e-2


def test_fixed_lengths_and_root_when_not_chosen_per_pose(train_set, templates, camera_table):
    aug = _augmenter(train_set, templates, camera_table, generator_choose_BoneLen=False,
                     generator_choose_root_pos=False, bone_len_scaler="")
    world = _world(aug.run_epoch(0))
    lengths = bone_lengths(world, "fk")
    torch.testing.assert_close(lengths, aug.fixed_lengths.double().expand_as(lengths),
                               rtol=0, atol=1e-5)
    torch.testing.assert_close(world[:, 0], aug.fixed_root.double().expand(len(world), 3),
                               rtol=0, atol=1e-5)


def test_sample_zero_is_the_rest_pose_and_angles_in_range(train_set, templates, camera_table):
    aug = _augmenter(train_set, templates, camera_table, generator_global_rot=False)
    world, angles, global_rot = aug.sample_world_poses(200)
    assert angles[0].abs().max() == 0 and global_rot.abs().max() == 0
    rest = root_relative(world[0])
    # upright, legs straight down below the hips, arms hanging below the shoulders
    torch.testing.assert_close(rest[[2, 3], :2], rest[[1, 1], :2], rtol=0, atol=1e-5)
    torch.testing.assert_close(rest[[11, 12], :2], rest[[10, 10], :2], rtol=0, atol=1e-5)
    assert rest[9, 2] > rest[8, 2] > rest[7, 2] > 0 > rest[2, 2] > rest[3, 2]
    ranges = normal_dof_ranges()
    assert (angles >= ranges[:33, 0] - 1e-4).all() and (angles <= ranges[:33, 1] + 1e-4).all()


def test_state_round_trip_continues_the_stream(train_set, templates, camera_table):
    straight = _augmenter(train_set, templates, camera_table)
    straight.run_epoch(0)
    expected = straight.run_epoch(1)
    first = _augmenter(train_set, templates, camera_table)
    first.run_epoch(0)
    resumed = _augmenter(train_set, templates, camera_table, seed=77)
    resumed.load_state_dict(first.state_dict())
    assert torch.equal(resumed.run_epoch(1).pose3d, expected.pose3d)


def test_pictures(tmp_path, train_set, templates, camera_table):
    aug = _augmenter(train_set, templates, camera_table)
    assert aug.write_pictures(0, tmp_path) == []
    aug.run_epoch(0)
    paths = aug.write_pictures(0, tmp_path)
    assert len(paths) == 2 and all(p.read_bytes()[:4] == b"\x89PNG" for p in paths)
