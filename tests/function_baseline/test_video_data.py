import pytest
import torch

from function_baseline.pose_set import PoseSet, batch_indices
from function_baseline.video_data import (filter_over_200mm, frame_source, keyframe_mask,
                                          video_source)
from utils.skeleton import root_relative


def _set(lengths, seed=0, step=0.06):
    """Sequences of random-walk 3D poses (metres) with distinct 2D rows and labels."""
    g = torch.Generator().manual_seed(seed)
    n = sum(lengths)
    seq = torch.cat([torch.full((k,), s, dtype=torch.long) for s, k in enumerate(lengths)])
    steps = torch.randn(n, 16, 3, generator=g) * step
    pose3d = torch.zeros(n, 16, 3)
    start = 0
    for k in lengths:
        pose3d[start:start + k] = steps[start:start + k].cumsum(0) + torch.tensor([0.0, 0.0, 4.0])
        start += k
    pose2d = torch.arange(n * 32, dtype=torch.float32).reshape(n, 16, 2)
    camera = torch.arange(n, dtype=torch.float32)[:, None].expand(n, 16).clone()
    return PoseSet(pose2d, pose3d, camera, torch.arange(n) % 3, torch.arange(n) % 2, seq,
                   ("A", "B", "C"), ("S1", "S5"))


def _hand_keyframes(data):
    """The rule written as a plain loop over sequences and frames."""
    keep = []
    seq = data.sequence.tolist()
    for i in range(len(seq)):
        if i == 0 or seq[i] != seq[i - 1]:
            keep.append(i)
            last = i
            continue
        moved = torch.linalg.vector_norm(data.pose3d[i] * 1000 - data.pose3d[last] * 1000, dim=-1)
        if bool((moved >= 200).any()):
            keep.append(i)
            last = i
    return keep


def test_keyframes_are_measured_from_the_last_kept_frame():
    # Root x in metres (exact in binary): 0, 125, 250, 375, 437.5, 500 mm; other joints still.
    x = torch.tensor([0.0, 0.125, 0.25, 0.375, 0.4375, 0.5])
    pose3d = torch.zeros(6, 16, 3)
    pose3d[:, 0, 0] = x
    keep = keyframe_mask(pose3d, torch.zeros(6, dtype=torch.long))
    # 250 is >= 200 from 0 (though only 125 from the previous frame); 500 is 250 from 250.
    assert keep.tolist() == [True, False, True, False, False, True]


def test_filter_keeps_exactly_the_frames_of_a_hand_loop():
    data = _set((1, 30, 7, 55, 2, 40))
    out = filter_over_200mm(data)
    keep = _hand_keyframes(data)
    assert 6 < len(keep) < len(data)            # the walk makes the rule select a real subset
    rows = out.pose2d[:, 0, 0].long() // 32     # 2D rows are distinct: recover each kept row
    assert rows.tolist() == keep
    for name in ("pose3d", "camera", "action", "subject", "sequence"):
        assert torch.equal(getattr(out, name), getattr(data, name)[keep]), name
    assert out.action_names == data.action_names


def test_filter_needs_sequence_ids():
    data = _set((4,))
    data.sequence = None
    with pytest.raises(ValueError, match="sequence"):
        filter_over_200mm(data)


def test_single_frame_source_shapes_and_root_relative_target():
    data = _set((5, 6))
    src = frame_source(data)
    idx = torch.tensor([3, 0, 10])
    inputs, target = src.batch(idx)
    assert inputs.shape == (3, 16, 2) and target.shape == (3, 16, 3)
    assert torch.equal(inputs, data.pose2d[idx])
    assert torch.equal(target, data.pose3d[idx] - data.pose3d[idx][:, :1])
    assert len(src) == 11 and not src.video


def test_video_source_gathers_windows_and_centre_target():
    data = _set((4, 9))
    src = video_source(data, 5)
    assert len(src) == 13 and src.video
    idx = torch.tensor([0, 3, 4, 8, 12])
    inputs, target = src.batch(idx)
    assert inputs.shape == (5, 5, 16, 2) and target.shape == (5, 1, 16, 3)
    # Row 4 opens the second sequence: its window is rows 4, 4, 4, 5, 6.
    assert torch.equal(inputs[2], data.pose2d[torch.tensor([4, 4, 4, 5, 6])])
    assert torch.equal(inputs[4], data.pose2d[torch.tensor([10, 11, 12, 12, 12])])
    assert torch.equal(target[:, 0], root_relative(data.pose3d[idx]))


def test_video_fake_pool_source():
    data = _set((6,))
    pool = PoseSet(torch.randn(6, 9, 16, 2), data.pose3d, data.camera, data.action, data.subject)
    src = video_source(pool, 9)
    inputs, target = src.batch(torch.tensor([5, 1]))
    assert torch.equal(inputs, pool.pose2d[[5, 1]])
    assert torch.equal(target[:, 0], root_relative(pool.pose3d[[5, 1]]))
    with pytest.raises(ValueError, match="9 frames"):
        video_source(pool, 27)
    with pytest.raises(ValueError, match="sequence"):
        video_source(PoseSet(data.pose2d, data.pose3d, data.camera, data.action, data.subject), 9)


def test_each_epoch_is_a_fresh_permutation_of_all_sequence_frame_pairs():
    src = video_source(_set((7, 3, 10)), 9)
    g = torch.Generator().manual_seed(0)
    epochs = [torch.cat(list(batch_indices(len(src), 4, g))) for _ in range(2)]
    for order in epochs:
        assert sorted(order.tolist()) == list(range(20))
    assert not torch.equal(epochs[0], epochs[1])
    g2 = torch.Generator().manual_seed(0)
    assert torch.equal(torch.cat(list(batch_indices(len(src), 4, g2))), epochs[0])
