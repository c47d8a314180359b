"""data/keypoint_formats.py: every layout's table on hand-made keypoints, and the 16-joint file."""
from __future__ import annotations

import numpy as np
import pytest

from data import keypoint_formats as kf
from utils import skeleton
from utils.io import DataError

# A made-up person by body part (pixels); every layout below is filled from it.
PERSON = {"nose": (50, 10), "leye": (46, 7), "reye": (54, 7), "lear": (40, 9), "rear": (60, 9),
          "lsho": (30, 30), "rsho": (70, 32), "lelb": (25, 55), "relb": (75, 57),
          "lwri": (22, 80), "rwri": (78, 82), "lhip": (38, 90), "rhip": (62, 94),
          "lkne": (37, 130), "rkne": (63, 134), "lank": (36, 170), "rank": (64, 172)}
COCO_PARTS = ("nose", "leye", "reye", "lear", "rear", "lsho", "rsho", "lelb", "relb", "lwri",
              "rwri", "lhip", "rhip", "lkne", "rkne", "lank", "rank")
BODY25_PARTS = {"Nose": "nose", "RShoulder": "rsho", "RElbow": "relb", "RWrist": "rwri",
                "LShoulder": "lsho", "LElbow": "lelb", "LWrist": "lwri", "RHip": "rhip",
                "RKnee": "rkne", "RAnkle": "rank", "LHip": "lhip", "LKnee": "lkne",
                "LAnkle": "lank", "REye": "reye", "LEye": "leye", "REar": "rear", "LEar": "lear"}


def mid(*parts: str) -> np.ndarray:
    return np.mean([PERSON[p] for p in parts], axis=0)


# The 16 joints the rules of the module docstring give for PERSON, written out by hand.
EXPECTED_16 = np.array([
    mid("lhip", "rhip"), PERSON["rhip"], PERSON["rkne"], PERSON["rank"], PERSON["lhip"],
    PERSON["lkne"], PERSON["lank"], (mid("lhip", "rhip") + mid("lsho", "rsho")) / 2,
    mid("lsho", "rsho"), mid("leye", "reye"), PERSON["lsho"], PERSON["lelb"], PERSON["lwri"],
    PERSON["rsho"], PERSON["relb"], PERSON["rwri"]], dtype=float)


def coco17() -> np.ndarray:
    return np.array([PERSON[p] for p in COCO_PARTS], float)


def openpose(layout: kf.JointMap) -> np.ndarray:
    """PERSON in an OpenPose layout; Neck, MidHip and the feet get decoy positions."""
    kp = np.full((layout.num_keypoints, 2), 999.0)
    for i, name in enumerate(layout.keypoint_names):
        if name in BODY25_PARTS:
            kp[i] = PERSON[BODY25_PARTS[name]]
    return kp


def test_coco17_rules_on_hand_made_keypoints():
    out = kf.COCO17.apply(coco17())
    np.testing.assert_allclose(out, EXPECTED_16)
    # spelled out: pelvis = mid-hip, thorax = mid-shoulder, spine halfway, head = mid-eyes
    np.testing.assert_allclose(out[0], [50, 92])
    np.testing.assert_allclose(out[8], [50, 31])
    np.testing.assert_allclose(out[7], [50, 61.5])
    np.testing.assert_allclose(out[9], [50, 7])


@pytest.mark.parametrize("layout", [kf.BODY25, kf.COCO18])
def test_openpose_layouts_agree_with_coco_and_ignore_neck_and_midhip(layout):
    np.testing.assert_allclose(layout.apply(openpose(layout)), EXPECTED_16)


def test_h36m17_drops_neck_nose():
    kp = np.arange(17 * 2, dtype=float).reshape(17, 2)
    np.testing.assert_array_equal(kf.H36M17.apply(kp), kp[list(skeleton.H36M17_TO_16)])


def test_smpl24_uses_pelvis_neck_and_head_joints():
    rng = np.random.default_rng(0)
    j = rng.normal(size=(24, 3))
    out = kf.SMPL24.apply(j)
    np.testing.assert_allclose(out[0], j[0])                 # pelvis
    np.testing.assert_allclose(out[8], j[12])                # thorax = neck
    np.testing.assert_allclose(out[7], (j[0] + j[12]) / 2)   # spine halfway
    np.testing.assert_allclose(out[9], j[15])                # head
    np.testing.assert_allclose(out[[1, 2, 3]], j[[2, 5, 8]])  # right leg
    np.testing.assert_allclose(out[[4, 5, 6]], j[[1, 4, 7]])  # left leg
    np.testing.assert_allclose(out[[10, 11, 12, 13, 14, 15]], j[[16, 18, 20, 17, 19, 21]])


def test_mapping_is_batched_and_weights_sum_to_one():
    for layout in kf.LAYOUTS.values():
        np.testing.assert_allclose(layout.matrix().sum(axis=1), 1.0)
    batch = np.stack([coco17(), coco17() + 5]).reshape(2, 1, 17, 2)
    out = kf.COCO17.apply(batch)
    assert out.shape == (2, 1, 16, 2)
    np.testing.assert_allclose(out[1, 0], EXPECTED_16 + 5)


def test_confidence_is_the_weakest_source():
    scores = np.linspace(0.1, 0.9, 17)
    conf = kf.COCO17.confidence(scores)
    assert conf[0] == pytest.approx(min(scores[11], scores[12]))
    assert conf[7] == pytest.approx(min(scores[[5, 6, 11, 12]]))
    assert conf[9] == pytest.approx(min(scores[1], scores[2]))
    assert conf[3] == pytest.approx(scores[16])


def test_keypoint_file_round_trip(tmp_path):
    kp = np.random.default_rng(1).uniform(0, 500, (4, 16, 2)).astype(np.float32)
    valid = np.array([True, False, True, True])
    path = kf.save_keypoints_16(tmp_path / "k.npz", kp, valid, 640, 480, "coco17",
                                frame=np.arange(4))
    d = kf.load_keypoints_16(path)
    np.testing.assert_array_equal(d["keypoints"], kp)
    np.testing.assert_array_equal(d["valid"], valid)
    assert (d["width"], d["height"], str(d["format"])) == (640, 480, "coco17")
    np.testing.assert_array_equal(d["frame"], np.arange(4))


@pytest.mark.parametrize("keypoints, message", [
    (np.zeros((3, 17, 2)), r"expected \(N, 16, 2\)"),
    (np.full((3, 16, 2), np.nan), "NaN"),
])
def test_keypoint_file_rejects_bad_arrays(tmp_path, keypoints, message):
    path = tmp_path / "bad.npz"
    np.savez(path, keypoints=keypoints, valid=np.ones(3, bool), width=10, height=10)
    with pytest.raises(DataError, match=message) as err:
        kf.load_keypoints_16(path)
    assert str(path) in str(err.value)
