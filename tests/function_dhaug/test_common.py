import torch

from function_dhaug.common import empty_fake_pose_set, fake_pose_set, write_scalars


def test_fake_pose_set_shapes_and_zero_labels():
    pool = fake_pose_set(torch.zeros(4, 16, 2), torch.ones(4, 16, 3), torch.ones(4, 16))
    assert len(pool) == 4 and pool.action.tolist() == [0] * 4 and pool.subject.dtype == torch.long
    empty = empty_fake_pose_set(torch.device("cpu"), torch.float32)
    assert len(empty) == 0 and empty.pose3d.shape == (0, 16, 3)


def test_write_scalars():
    calls = []

    class Writer:
        def add_scalar(self, tag, value, step):
            calls.append((tag, value, step))

    write_scalars(Writer(), {"a": 1.0, "b": 2.0}, 7)
    write_scalars(None, {"a": 1.0}, 7)
    assert calls == [("a", 1.0, 7), ("b", 2.0, 7)]
