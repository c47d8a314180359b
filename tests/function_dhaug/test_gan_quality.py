import math

import pytest
import torch

from function_baseline.pose_set import PoseSet
from function_dhaug import gan_quality
from function_dhaug.gan_augmenter import GANAugmenter
from function_dhaug.gan_quality import (GanQuality, behind_camera_share, coverage,
                                        distinct_rows, diversity, mean_joint_speed,
                                        mean_pairwise_distance, nearest_distance, precision,
                                        saturated_share)
from function_dhaug.normal_augmenter import NormalAugmenter
from function_dhaug.pose_stats import gan_dof_ranges
from tests.conftest import RecordingWriter
from utils.camera import h36m_camera_table, to_camera_frame
from utils.io import DataError
from utils.skeleton import root_relative

from .synthetic_data import make_args, make_world_poses

QUALITY_KEYS = {"precision_mm", "coverage_50mm", "coverage_100mm", "diversity", "diversity_mm",
                "roots_behind_camera", "fake_samples", "real_precision_mm", "real_coverage_50mm",
                "real_coverage_100mm", "real_diversity", "real_diversity_mm"}


def _poses(n, seed=0):
    """(n,16,3) root-relative world poses, metres (float32)."""
    return root_relative(make_world_poses(n, torch.Generator().manual_seed(seed))).float()


def _brute_mpjpe(a, b):
    """(Na, Nb) mm by explicit broadcasting (reference for the chunked cdist)."""
    a, b = root_relative(a.double()) * 1000, root_relative(b.double()) * 1000
    return (a[:, None] - b[None]).norm(dim=-1).mean(-1)


# --------------------------------------------------------------------------- pure figures
def test_precision_of_a_set_against_itself_is_zero():
    real = _poses(300)
    assert precision(real, real) == 0.0
    assert nearest_distance(real, real).abs().max() == 0.0


def test_coverage_of_a_set_by_itself_is_100_percent():
    real = _poses(300)
    assert coverage(real, real, 50.0) == 100.0
    assert coverage(real, real, 0.0) == 100.0


def test_collapsed_generator_has_zero_diversity_and_almost_no_coverage():
    real = _poses(300)
    collapsed = real[7:8].expand(500, -1, -1)
    assert diversity(collapsed, real) == 0.0
    assert coverage(real, collapsed, 50.0) < 2.0       # the pose itself (and maybe a neighbour)
    assert coverage(real, collapsed, 50.0) >= 100 / 300
    assert diversity(real, real) == pytest.approx(1.0)


def test_figures_are_mpjpe_in_millimetres():
    base = _poses(1)
    moved = base.clone()
    moved[:, 1:] += torch.tensor([0.003, 0.004, 0.0])    # 5 mm on the 15 non-root joints
    assert precision(moved, base) == pytest.approx(15 / 16 * 5, abs=1e-4)
    # a rigid translation of the whole pose is removed by the root alignment
    assert precision(base + torch.tensor([1.0, -2.0, 0.5]), base) == pytest.approx(0, abs=1e-3)
    pair = torch.cat([base, moved])
    lifted = base.clone()
    lifted[:, 1:, 2] += 0.010                             # 10 mm on the 15 non-root joints
    far = torch.cat([base, lifted])
    assert mean_pairwise_distance(pair) == pytest.approx(15 / 16 * 5, abs=1e-4)
    assert mean_pairwise_distance(far) == pytest.approx(15 / 16 * 10, abs=1e-4)
    assert diversity(pair, far) == pytest.approx(0.5, abs=1e-5)
    assert coverage(base, moved, 4.7) == 100.0 and coverage(base, moved, 4.6) == 0.0


def test_nearest_distance_matches_brute_force_across_chunks(monkeypatch):
    monkeypatch.setattr(gan_quality, "CHUNK_ROWS", 7)
    a, b = _poses(30, seed=1), _poses(19, seed=2)
    expected = _brute_mpjpe(a, b)
    torch.testing.assert_close(nearest_distance(a, b).double(), expected.min(1).values,
                               rtol=0, atol=1e-3)
    mean_off_diagonal = _brute_mpjpe(a, a).sum() / (30 * 29)
    assert mean_pairwise_distance(a) == pytest.approx(float(mean_off_diagonal), abs=1e-3)


def test_candidate_search_finds_the_mpjpe_nearest_pose():
    a, b = _poses(200, seed=6), _poses(600, seed=7)
    torch.testing.assert_close(nearest_distance(a, b).double(),
                               _brute_mpjpe(a, b).min(1).values, rtol=0, atol=1e-3)


def test_figures_do_not_depend_on_pose_order():
    fake, real = _poses(120, seed=3), _poses(150, seed=4)
    pf, pr = torch.randperm(120), torch.randperm(150)
    assert precision(fake[pf], real[pr]) == pytest.approx(precision(fake, real), abs=1e-4)
    assert coverage(real[pr], fake[pf], 100.0) == coverage(real, fake, 100.0)
    assert diversity(fake[pf], real[pr]) == pytest.approx(diversity(fake, real), rel=1e-5)


def test_bad_shapes_are_rejected():
    with pytest.raises(ValueError, match=r"\(N>0, 16, 3\)"):
        precision(torch.zeros(4, 17, 3), _poses(4))
    with pytest.raises(ValueError, match="at least 2"):
        mean_pairwise_distance(_poses(1))


def test_saturated_share_by_hand():
    ranges = torch.tensor([[0.0, 100.0], [0.0, 0.0], [-10.0, 10.0]])
    angles = torch.tensor([[100.0, 0.0, 0.0],       # at the top bound (fixed DOF ignored)
                           [99.5, 0.0, -9.9],       # within 1 % of the width: both saturated
                           [98.0, 0.0, 9.0]])       # 2 % and 5 % away: not saturated
    assert saturated_share(angles, ranges) == pytest.approx(100 * 3 / 6)
    assert saturated_share(angles, ranges, tolerance=0.06) == pytest.approx(100 * 5 / 6)
    assert saturated_share(angles[:, 1:2], ranges[1:2]) == 0.0


def test_mean_joint_speed_by_hand():
    pose = _poses(1)[0]
    t = torch.arange(4.0).view(4, 1, 1)
    walk = pose + t * torch.tensor([0.5, 0.0, 0.0])             # the whole body moves: no speed
    wave = pose.expand(4, -1, -1).clone()
    wave[:, 1:] += t * torch.tensor([0.0, 0.006, 0.008])        # 10 mm per frame off the root
    windows = torch.stack([walk, wave])
    assert mean_joint_speed(windows) == pytest.approx((0 + 15 / 16 * 10) / 2, abs=1e-4)
    with pytest.raises(ValueError, match="T>=2"):
        mean_joint_speed(windows[:, :1])


def test_behind_camera_share_counts_roots():
    pose = torch.ones(4, 16, 3)
    pose[0, 0, 2] = 0.0
    pose[1, 0, 2] = -1.0
    pose[2, 5, 2] = -1.0                       # a joint behind the camera, the root in front
    assert behind_camera_share(pose) == 50.0


def test_distinct_rows_keeps_one_view_of_each_frame():
    world = make_world_poses(5, torch.Generator().manual_seed(0))          # float64, with root
    views = world[torch.tensor([3, 0, 3, 1, 0, 3, 4])] + 1e-7 * torch.randn(7, 16, 3)
    assert distinct_rows(views).tolist() == [0, 1, 3, 6]
    moved = views.clone()
    moved[2, 5] += 0.010                          # 10 mm on one joint: 2.5 mm RMS, a new frame
    assert distinct_rows(moved).tolist() == [0, 1, 2, 3, 6]


# --------------------------------------------------------------------------- GanQuality
def _real_set(n, seed=0):
    """n camera-frame poses (n,16,3) with their cameras (n,16) (S1, slots 0..3 in turn)."""
    world = make_world_poses(n, torch.Generator().manual_seed(seed)).float()
    cam = h36m_camera_table(("S1",)).reshape(-1, 16)[torch.arange(n) % 4]
    return to_camera_frame(world, cam), cam


def _pool_from_world(world_rr, cam):
    """A fake pool whose world poses are ``world_rr`` (root-relative), root at hip height."""
    placed = world_rr + torch.tensor([0.0, 0.0, 0.9])
    pose_cam = to_camera_frame(placed, cam)
    n = world_rr.shape[0]
    zeros = torch.zeros(n, dtype=torch.long)
    return PoseSet(pose2d=torch.zeros(n, 16, 2), pose3d=pose_cam, camera=cam, action=zeros,
                   subject=zeros.clone())


def test_pool_of_held_out_real_poses_scores_like_real_data(templates):
    pose3d, cam = _real_set(64)
    q = GanQuality(pose3d, cam, templates, seed=3, samples=1000,
                   saturation_ranges={"angles_saturated": gan_dof_ranges()})
    assert q.reference.shape == (32, 16, 3) and q.heldout.shape == (32, 16, 3)
    pool = _pool_from_world(q.heldout, cam[:32])
    out = q.measure(0, pool)
    assert QUALITY_KEYS | {"angles_saturated"} == set(out)
    assert out["precision_mm"] == pytest.approx(out["real_precision_mm"], abs=1e-2)
    assert out["precision_mm"] > 1.0                   # disjoint real sets are not identical
    assert out["coverage_50mm"] == 100.0               # the pool is the held-out set itself
    assert out["diversity"] == pytest.approx(out["real_diversity"], rel=1e-4)
    assert out["fake_samples"] == 32 and out["roots_behind_camera"] == 0.0
    assert out["angles_saturated"] == 0.0              # no angles given


def test_measure_is_seeded_per_epoch_and_leaves_other_generators_alone(templates):
    pose3d, cam = _real_set(64)
    q = GanQuality(pose3d, cam, templates, seed=0, samples=8, saturation_ranges={})
    pool = _pool_from_world(_poses(64, seed=5), cam)
    global_state = torch.get_rng_state()
    first = q.measure(4, pool)
    assert torch.equal(global_state, torch.get_rng_state())
    assert q.measure(4, pool) == first                  # same epoch, same subset
    assert q.measure(5, pool) != first                  # a new subset each epoch
    again = GanQuality(pose3d, cam, templates, seed=0, samples=8, saturation_ranges={})
    assert torch.equal(again.reference, q.reference)   # a resumed run measures the same sets


def test_reference_and_held_out_sets_share_no_frame(templates):
    world = make_world_poses(40, torch.Generator().manual_seed(1)).float()
    table = h36m_camera_table(("S1",)).reshape(-1, 16)
    world, cam = world.repeat(4, 1, 1), table.repeat_interleave(40, 0)   # every frame, 4 views
    # one template row: two views of one frame would give the same swapped pose (distance ~0)
    q = GanQuality(to_camera_frame(world, cam), cam, templates[:1], seed=0, saturation_ranges={})
    assert q.reference.shape[0] == q.heldout.shape[0] == 20
    assert nearest_distance(q.heldout, q.reference).min() > 5.0
    assert q.real_figures["real_precision_mm"] > 5.0


def test_too_few_training_poses_is_a_data_error(templates):
    pose3d, cam = _real_set(3)
    with pytest.raises(DataError, match="at least 4 training poses"):
        GanQuality(pose3d, cam, templates, seed=0, saturation_ranges={})
    pose3d, cam = _real_set(1)
    with pytest.raises(DataError, match="at least 4 distinct training poses"):
        GanQuality(pose3d.expand(6, -1, -1), cam.expand(6, -1), templates, seed=0,
                   saturation_ranges={})


# --------------------------------------------------------------------------- augmenters
def _check_augmenter_quality(aug, extra_keys):
    writer = RecordingWriter()
    state = aug.generator.get_state()
    pool = aug.run_epoch(0, writer=writer)
    q = aug.last_quality
    assert set(q) == QUALITY_KEYS | extra_keys
    assert all(math.isfinite(v) for v in q.values())
    assert q["fake_samples"] == min(len(pool), gan_quality.QUALITY_SAMPLES)
    tags = {t: (v, s) for t, v, s in writer.scalars if t.startswith("GAN_quality/")}
    assert set(tags) == {f"GAN_quality/{k}" for k in q}
    assert all(s == 0 for _, s in tags.values())
    # the measurement draws nothing from the training stream
    after = aug.generator.get_state()
    aug.quality.measure(0, pool)
    assert torch.equal(after, aug.generator.get_state()) and not torch.equal(state, after)
    return q


def test_gan_augmenter_reports_quality(train_set, templates, camera_table):
    aug = GANAugmenter(make_args(), train_set, templates, camera_table, torch.device("cpu"),
                       torch.Generator().manual_seed(0), progress=False)
    q = _check_augmenter_quality(aug, {"angles_saturated"})
    assert 0 <= q["angles_saturated"] <= 100 and q["precision_mm"] > 0


def test_normal_augmenter_reports_quality_on_the_same_scale(train_set, templates, camera_table):
    args = make_args(data_enhancement_method="normal", generator_whole_number=50)
    aug = NormalAugmenter(args, train_set, templates, camera_table, torch.device("cpu"),
                          torch.Generator().manual_seed(0), progress=False)
    gan = GANAugmenter(make_args(), train_set, templates, camera_table, torch.device("cpu"),
                       torch.Generator().manual_seed(0), progress=False)
    torch.testing.assert_close(aug.quality.reference, gan.quality.reference)
    q = _check_augmenter_quality(aug, {"angles_saturated", "angles_saturated_own_ranges"})
    # 'normal' clips N(mid, 60 deg) draws to its own ranges: many values sit on those bounds
    assert q["angles_saturated_own_ranges"] > q["angles_saturated"]


def test_zero_samples_turns_the_measurement_off(templates):
    pose3d, cam = _real_set(2)                    # too few for the figures, but nothing is drawn
    q = GanQuality(pose3d, cam, templates, seed=0, saturation_ranges={}, samples=0)
    assert q.measure(0, _pool_from_world(_poses(8), cam[:1].expand(8, -1))) == {}
