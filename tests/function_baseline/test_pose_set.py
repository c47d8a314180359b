"""function_baseline.pose_set: a PoseSet is N samples as tensors; rows are picked, moved and joined
as whole tensors, and batches are index tensors drawn from an explicit generator."""
from __future__ import annotations

import pytest
import torch

from function_baseline.pose_set import PoseSet, batch_indices


def make_set(n: int = 5, offset: int = 0, sequence: bool = True) -> PoseSet:
    """Row r holds the value offset + r in every field, so selected rows can be read back."""
    r = torch.arange(offset, offset + n)
    return PoseSet(pose2d=r.float().view(n, 1, 1).expand(n, 16, 2).clone(),
                   pose3d=r.double().view(n, 1, 1).expand(n, 16, 3).clone(),
                   camera=r.float().view(n, 1).expand(n, 16).clone(),
                   action=r % 3, subject=r % 2, sequence=r // 2 if sequence else None,
                   action_names=("Walking", "Sitting", "Eating"), subject_names=("S1", "S5"))


def rows_of(data: PoseSet) -> list[int]:
    return data.pose2d[:, 0, 0].long().tolist()


def test_index_picks_the_same_rows_of_every_field_and_keeps_the_names():
    data = make_set()
    part = data.index(torch.tensor([4, 0, 2]))
    assert len(part) == 3 and rows_of(part) == [4, 0, 2]
    assert part.pose3d[:, 5, 2].tolist() == [4.0, 0.0, 2.0] and part.pose3d.dtype == torch.float64
    assert part.camera[:, 15].tolist() == [4.0, 0.0, 2.0]
    assert part.action.tolist() == [1, 0, 2] and part.subject.tolist() == [0, 0, 0]
    assert part.sequence.tolist() == [2, 0, 1]
    assert part.action_names is data.action_names and part.subject_names is data.subject_names
    assert rows_of(data.index(slice(1, 3))) == [1, 2]
    assert rows_of(data) == [0, 1, 2, 3, 4]                      # the source is not modified


def test_fields_without_tensors_stay_none():
    part = make_set(sequence=False).index(torch.tensor([1]))
    assert part.sequence is None and rows_of(part) == [1]


def test_to_moves_every_tensor_field():
    data = make_set()
    moved = data.to("meta")                # a device without memory: only placement is checked
    for name in ("pose2d", "pose3d", "camera", "action", "subject", "sequence"):
        assert getattr(moved, name).device.type == "meta", name
        assert getattr(moved, name).shape == getattr(data, name).shape
        assert getattr(moved, name).dtype == getattr(data, name).dtype
    assert data.pose2d.device.type == "cpu"
    back = data.to("cpu")
    assert torch.equal(back.pose3d, data.pose3d) and back.action_names == data.action_names
    assert make_set(sequence=False).to("meta").sequence is None


def test_concat_appends_rows_in_order():
    joined = PoseSet.concat([make_set(2), make_set(3, offset=10)])
    assert len(joined) == 5 and rows_of(joined) == [0, 1, 10, 11, 12]
    assert joined.sequence.tolist() == [0, 0, 5, 5, 6]
    assert joined.action.tolist() == [0, 1, 1, 2, 0]
    assert joined.action_names == ("Walking", "Sitting", "Eating")
    assert PoseSet.concat([make_set(2, sequence=False)] * 2).sequence is None


def test_batches_in_order_with_and_without_the_last_partial_batch():
    plain = [b.tolist() for b in batch_indices(10, 4, shuffle=False)]
    assert plain == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert [b.tolist() for b in batch_indices(10, 4, shuffle=False, drop_last=True)] == plain[:2]
    assert [b.tolist() for b in batch_indices(8, 4, shuffle=False, drop_last=True)] == plain[:2]
    assert [b.tolist() for b in batch_indices(3, 8, shuffle=False)] == [[0, 1, 2]]
    assert list(batch_indices(3, 8, shuffle=False, drop_last=True)) == []
    assert list(batch_indices(0, 4)) == []
    assert all(b.dtype == torch.long for b in batch_indices(5, 2, torch.Generator()))


def test_shuffled_batches_are_a_permutation_fixed_by_the_generator():
    def epoch(gen: torch.Generator, drop_last: bool = False) -> list[int]:
        return torch.cat(list(batch_indices(11, 3, gen, drop_last=drop_last))).tolist()

    order = epoch(torch.Generator().manual_seed(7))
    assert sorted(order) == list(range(11)) and order != list(range(11))
    assert order == torch.randperm(11, generator=torch.Generator().manual_seed(7)).tolist()
    assert epoch(torch.Generator().manual_seed(7)) == order          # same seed, same order
    assert epoch(torch.Generator().manual_seed(8)) != order
    gen = torch.Generator().manual_seed(7)
    first, second = epoch(gen), epoch(gen)                            # a fresh order per call
    assert first == order and second != first and sorted(second) == list(range(11))
    assert epoch(torch.Generator().manual_seed(7), drop_last=True) == order[:9]


def test_shuffling_does_not_touch_the_global_rng():
    torch.manual_seed(3)
    expected = torch.rand(2)
    torch.manual_seed(3)
    list(batch_indices(50, 7, torch.Generator().manual_seed(1)))
    assert torch.equal(torch.rand(2), expected)


@pytest.mark.parametrize("n, size", [(1, 1), (7, 7), (9, 2)])
def test_every_index_once(n, size):
    idx = torch.cat(list(batch_indices(n, size, torch.Generator().manual_seed(n))))
    assert sorted(idx.tolist()) == list(range(n))
