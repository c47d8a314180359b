import pytest
import torch

from function_baseline import evaluate as ev
from function_baseline.pose_set import PoseSet
from function_baseline.video_windows import VideoWindows
from models.lifter_poseformer import PoseFormerLifter
from models.lifter_videopose import DilatedTemporalLifter, StridedTemporalLifter
from utils import metrics
from utils.skeleton import flip_pose, root_relative


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
                   action_names=("A", "B"), subject_names=("S9",))


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


# ----------------------------------------------------------------------------- video mode
LENGTHS = (1, 5, 40, 9, 130)     # a single frame, sequences shorter than T = 27, long ones


def _video_set(lengths=LENGTHS, seed=0):
    g = torch.Generator().manual_seed(seed)
    n = sum(lengths)
    seq = torch.cat([torch.full((k,), s, dtype=torch.long) for s, k in enumerate(lengths)])
    pose2d = torch.randn(n, 16, 2, generator=g).cumsum(0) * 0.05
    pose3d = torch.randn(n, 16, 3, generator=g)
    return PoseSet(pose2d, pose3d, torch.zeros(n, 16), seq % 2, torch.zeros(n, dtype=torch.long),
                   seq, ("A", "B"), ("S9",))


@pytest.fixture(scope="module")
def tcn_pair():
    """Strided (train) and dilated (eval) TCNs with the same weights and non-trivial BN stats."""
    torch.manual_seed(0)
    strided = StridedTemporalLifter((3, 3, 3), channels=24)
    with torch.no_grad():
        for m in strided.modules():
            if isinstance(m, torch.nn.BatchNorm1d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 2.0)
    dilated = DilatedTemporalLifter((3, 3, 3), channels=24)
    dilated.load_state_dict(strided.state_dict())
    return strided.eval(), dilated.eval()


def _hand_windows(data, frames):
    """Edge-padded window of every frame, built per sequence by concatenation."""
    pad, out, start = (frames - 1) // 2, [], 0
    for n in torch.unique_consecutive(data.sequence, return_counts=True)[1].tolist():
        x = data.pose2d[start:start + n]
        padded = torch.cat([x[:1].expand(pad, -1, -1), x, x[-1:].expand(pad, -1, -1)])
        out += [padded[i:i + frames] for i in range(n)]
        start += n
    return torch.stack(out)


@pytest.mark.parametrize("chunk", [1024, 8])
def test_whole_sequence_tcn_equals_window_by_window_strided_tcn(tcn_pair, chunk, monkeypatch):
    monkeypatch.setattr(ev, "TCN_CHUNK", chunk)          # 8: chunk edges fall inside sequences
    monkeypatch.setattr(ev, "TCN_CHUNKS_PER_PASS", 3)
    strided, dilated = tcn_pair
    data = _video_set()
    whole = ev.predict_video(dilated, data, 27)
    with torch.no_grad():
        chunked = root_relative(strided(_hand_windows(data, 27))[:, 0])
    assert whole.shape == (len(data), 16, 3)
    torch.testing.assert_close(whole, chunked, rtol=0, atol=1e-5)
    # And each sequence alone, edge-padded to (1, L + 2 pad, 16, 2), gives the same frames.
    start = 0
    for n in LENGTHS:
        x = data.pose2d[start:start + n]
        padded = torch.cat([x[:1].expand(13, -1, -1), x, x[-1:].expand(13, -1, -1)])[None]
        with torch.no_grad():
            alone = root_relative(dilated(padded)[0])
        torch.testing.assert_close(whole[start:start + n], alone, rtol=0, atol=1e-5)
        start += n


def test_window_model_is_evaluated_on_ordered_edge_padded_windows(monkeypatch):
    monkeypatch.setattr(ev, "EVAL_BATCH", 16)
    torch.manual_seed(0)
    model = PoseFormerLifter(9, joint_dim=8, depth=1, drop_path_rate=0.0).eval()
    data = _video_set((3, 20, 11))
    out = ev.predict_video(model, data, 9)
    with torch.no_grad():
        hand = root_relative(model(_hand_windows(data, 9))[:, 0])
    torch.testing.assert_close(out, hand, rtol=0, atol=1e-5)


def test_video_flip_tta_and_metrics_are_frame_means(tcn_pair):
    _, dilated = tcn_pair
    data = _video_set()
    plain = ev.predict_video(dilated, data, 27)
    mirrored = PoseSet(flip_pose(data.pose2d), data.pose3d, data.camera, data.action,
                       data.subject, data.sequence)
    tta = ev.predict_video(dilated, data, 27, flip_tta=True)
    torch.testing.assert_close(tta, (plain + flip_pose(ev.predict_video(dilated, mirrored, 27))) / 2,
                               rtol=0, atol=1e-6)
    target = root_relative(data.pose3d) * 1000
    h36m = ev.evaluate_h36m(dilated, data, frames=27)           # no TTA on H36M
    assert h36m["p1"] == pytest.approx(float(metrics.mpjpe(plain * 1000, target).double().mean()))
    dhp = ev.evaluate_3dhp(dilated, data, frames=27)            # TTA on 3DHP
    assert dhp["p1"] == pytest.approx(float(metrics.mpjpe(tta * 1000, target).double().mean()))
    assert set(h36m["per_action"]) == {"A", "B"}


class CentreLookup(torch.nn.Module):
    """Window model returning the stored pose of the centre frame's row (written in x[..., 0, 0])."""

    def __init__(self, table):
        super().__init__()
        self.register_buffer("table", table)

    def forward(self, x):
        idx = x[:, x.shape[1] // 2, 0, 0].round().long()
        return self.table[idx][:, None]


def test_video_p1_weighs_every_frame_not_every_sequence():
    lengths = (2, 6)
    data = _video_set(lengths)
    data.pose2d[:, 0, 0] = torch.arange(8, dtype=torch.float32)
    data.pose3d = torch.zeros(8, 16, 3)
    pred = data.pose3d.clone()
    pred[2:, 5, 0] = 0.016                  # 1 mm per frame on the 6 frames of sequence 1
    res = ev.evaluate_h36m(CentreLookup(pred), data, frames=9)
    assert res["p1"] == pytest.approx(6 / 8, rel=1e-5)          # per-sequence mean would be 0.5


def test_video_evaluation_is_deterministic_and_restores_the_mode(tcn_pair, monkeypatch):
    _, dilated = tcn_pair
    data = _video_set()
    dilated.train()
    first = ev.evaluate_3dhp(dilated, data, frames=27)
    assert dilated.training
    assert ev.evaluate_3dhp(dilated, data, frames=27) == first     # bit for bit
    monkeypatch.setattr(ev, "TCN_CHUNK", 64)
    other = ev.evaluate_3dhp(dilated, data, frames=27)
    assert other["p1"] == pytest.approx(first["p1"], abs=1e-4)
    dilated.eval()


def test_video_evaluation_input_errors(tcn_pair):
    _, dilated = tcn_pair
    data = _video_set()
    with pytest.raises(ValueError, match="receptive field"):
        ev.predict_video(dilated, data, 9)
    data.sequence = None
    with pytest.raises(ValueError, match="sequence"):
        ev.predict_video(dilated, data, 27)
