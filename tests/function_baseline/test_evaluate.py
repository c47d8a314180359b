import torch

from function_baseline import evaluate as ev
from function_baseline.pose_set import PoseSet
from utils.skeleton import flip_pose


class LookupModel(torch.nn.Module):
    """Returns the pose stored for the sample index written into input[..., 0, 0]."""

    def __init__(self, table):
        super().__init__()
        self.register_buffer("table", table)

    def forward(self, x):
        idx = x[..., 0, 0].round().long().clamp(0, len(self.table) - 1)
        return self.table[idx]


def _set(n, pose3d, action=None):
    pose2d = torch.zeros(n, 16, 2)
    pose2d[:, 0, 0] = torch.arange(n, dtype=torch.float32)
    action = torch.zeros(n, dtype=torch.long) if action is None else action
    return PoseSet(pose2d, pose3d, torch.zeros(n, 16), action, torch.zeros(n, dtype=torch.long),
                   ("A", "B"), ("S9",))


def test_perfect_model_scores_zero_and_root_is_removed():
    g = torch.Generator().manual_seed(0)
    pose3d = torch.randn(10, 16, 3, generator=g)
    data = _set(10, pose3d)
    # Predictions with another root position are still perfect once root-aligned.
    model = LookupModel(pose3d + 3.0)
    res = ev.evaluate_h36m(model, data)
    assert res["p1"] < 1e-3 and res["p2"] < 1e-3


def test_known_offset_gives_hand_computed_p1_and_per_action():
    pose3d = torch.zeros(4, 16, 3)
    pred = pose3d.clone()
    pred[:2, 5, 0] = 0.016        # 16 mm on one joint of two frames -> 1 mm per-frame P1
    action = torch.tensor([0, 0, 1, 1])
    res = ev.evaluate_h36m(LookupModel(pred), _set(4, pose3d, action))
    assert abs(res["p1"] - 0.5) < 1e-5                       # mean over frames in mm
    assert abs(res["per_action"]["A"]["p1"] - 1.0) < 1e-5
    assert abs(res["per_action"]["B"]["p1"]) < 1e-6
    assert abs(res["p1_action_mean"] - 0.5) < 1e-5


def test_3dhp_flip_tta_pck_auc():
    pose3d = torch.zeros(2, 16, 3)
    pred = pose3d.clone()
    pred[:, 3, 2] = 0.2             # 200 mm error on one joint of every frame

    class Equivariant(torch.nn.Module):
        def forward(self, x):
            return pred[: len(x)]

    res = ev.evaluate_3dhp(Equivariant(), _set(2, pose3d))
    # Flip TTA averages the joint 3 prediction with the mirrored joint 6: 100 mm each.
    assert abs(res["p1"] - 2 * 100 / 16) < 1e-4
    assert abs(res["pck"] - 100.0) < 1e-9
    res14 = ev.evaluate_3dhp(Equivariant(), _set(2, pose3d), pck_joints=14)
    assert res14["auc"] < res["auc"]


def test_predict_batches_like_one_pass(monkeypatch):
    monkeypatch.setattr(ev, "EVAL_BATCH", 3)
    lin = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(32, 48), torch.nn.Unflatten(1, (16, 3)))
    x = torch.randn(7, 16, 2)
    out = ev.predict(lin, x)
    full = lin(x)
    torch.testing.assert_close(out, full - full[:, :1])
    flipped = ev.predict(lin, x, flip_tta=True)
    both = (full + flip_pose(lin(flip_pose(x)))) / 2
    torch.testing.assert_close(flipped, both - both[:, :1])
