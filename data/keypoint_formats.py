"""Joint mappings from other keypoint layouts to the project's 16 joints, and the 16-joint 2D
keypoint file that ``--infer`` reads (docs/inference.md#joint-mapping, #custom-keypoints).

Each layout has one table: for every one of our 16 joints (utils/skeleton.py order) the source
keypoints whose mean it is. A joint's confidence is the smallest confidence of its sources, so a
derived joint is only as sure as its weakest input. The rules, the same for every 2D layout:

- Hip (pelvis) = midpoint of the two hips (BODY_25's own MidHip is not used, so all layouts agree);
- Thorax = midpoint of the two shoulders (OpenPose's Neck is not used);
- Spine = midpoint of pelvis and thorax = mean of both hips and both shoulders;
- Head = midpoint of the two eyes (no layout has the H36M head top; the eyes are the closest
  stable point; ears and nose are left out as they swing with head turns);
- limbs map one to one.

SMPL-24 (3DPW ground truth) has real pelvis, neck and head joints: Hip = pelvis, Thorax = neck,
Head = the SMPL head joint (head centre, not head top), Spine = midpoint of pelvis and neck.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from utils.io import DataError, load_npz, save_npz_atomic
from utils.skeleton import JOINT_NAMES, NUM_JOINTS


@dataclass(frozen=True)
class JointMap:
    """One layout: its keypoint names and, per project joint, the source indices to average."""
    name: str
    keypoint_names: tuple[str, ...]
    sources: tuple[tuple[int, ...], ...]

    @property
    def num_keypoints(self) -> int:
        return len(self.keypoint_names)

    def matrix(self) -> np.ndarray:
        """(16, K) float64 averaging weights; every row sums to 1."""
        m = np.zeros((NUM_JOINTS, self.num_keypoints))
        for j, src in enumerate(self.sources):
            m[j, list(src)] = 1.0 / len(src)
        return m

    def apply(self, keypoints: np.ndarray) -> np.ndarray:
        """Positions (..., K, D) -> (..., 16, D) in the same units."""
        return np.einsum("jk,...kd->...jd", self.matrix(), np.asarray(keypoints, np.float64))

    def confidence(self, scores: np.ndarray) -> np.ndarray:
        """Keypoint confidences (..., K) -> (..., 16): the minimum over each joint's sources."""
        scores = np.asarray(scores, np.float64)
        return np.stack([scores[..., list(src)].min(axis=-1) for src in self.sources], axis=-1)


def _table(name: str, keypoint_names: tuple[str, ...], rules: dict) -> JointMap:
    """Build a JointMap from rules {our joint name: tuple of source keypoint names}."""
    index = {n: i for i, n in enumerate(keypoint_names)}
    return JointMap(name, keypoint_names,
                    tuple(tuple(index[s] for s in rules[j]) for j in JOINT_NAMES))


def _rules_2d(lhip: str, rhip: str, lsho: str, rsho: str, leye: str, reye: str,
              limbs: dict) -> dict:
    return {"Hip": (lhip, rhip), "Spine": (lhip, rhip, lsho, rsho), "Thorax": (lsho, rsho),
            "Head": (leye, reye), "LShoulder": (lsho,), "RShoulder": (rsho,),
            "LHip": (lhip,), "RHip": (rhip,), **{k: (v,) for k, v in limbs.items()}}


COCO17_NAMES = ("nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder",
                "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
                "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle")
_COCO_LIMBS = {"RKnee": "right_knee", "RFoot": "right_ankle", "LKnee": "left_knee",
               "LFoot": "left_ankle", "LElbow": "left_elbow", "LWrist": "left_wrist",
               "RElbow": "right_elbow", "RWrist": "right_wrist"}
COCO17 = _table("coco17", COCO17_NAMES, _rules_2d(
    "left_hip", "right_hip", "left_shoulder", "right_shoulder", "left_eye", "right_eye",
    _COCO_LIMBS))

_OPENPOSE_LIMBS = {"RKnee": "RKnee", "RFoot": "RAnkle", "LKnee": "LKnee", "LFoot": "LAnkle",
                   "LElbow": "LElbow", "LWrist": "LWrist", "RElbow": "RElbow", "RWrist": "RWrist"}
_OPENPOSE_RULES = _rules_2d("LHip", "RHip", "LShoulder", "RShoulder", "LEye", "REye",
                            _OPENPOSE_LIMBS)
BODY25_NAMES = ("Nose", "Neck", "RShoulder", "RElbow", "RWrist", "LShoulder", "LElbow", "LWrist",
                "MidHip", "RHip", "RKnee", "RAnkle", "LHip", "LKnee", "LAnkle", "REye", "LEye",
                "REar", "LEar", "LBigToe", "LSmallToe", "LHeel", "RBigToe", "RSmallToe", "RHeel")
BODY25 = _table("body25", BODY25_NAMES, _OPENPOSE_RULES)
COCO18_NAMES = ("Nose", "Neck", "RShoulder", "RElbow", "RWrist", "LShoulder", "LElbow", "LWrist",
                "RHip", "RKnee", "RAnkle", "LHip", "LKnee", "LAnkle", "REye", "LEye", "REar", "LEar")
COCO18 = _table("coco18", COCO18_NAMES, _OPENPOSE_RULES)

# VideoPose3D's 17-joint H36M order (its 'h36m' layout): drop Neck/Nose, the rest is ours.
H36M17_NAMES = ("Hip", "RHip", "RKnee", "RFoot", "LHip", "LKnee", "LFoot", "Spine", "Thorax",
                "Neck/Nose", "Head", "LShoulder", "LElbow", "LWrist", "RShoulder", "RElbow",
                "RWrist")
H36M17 = _table("h36m17", H36M17_NAMES, {j: (j,) for j in JOINT_NAMES})

SMPL24_NAMES = ("pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2",
                "left_ankle", "right_ankle", "spine3", "left_foot", "right_foot", "neck",
                "left_collar", "right_collar", "head", "left_shoulder", "right_shoulder",
                "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hand", "right_hand")
SMPL24 = _table("smpl24", SMPL24_NAMES, {
    "Hip": ("pelvis",), "RHip": ("right_hip",), "RKnee": ("right_knee",),
    "RFoot": ("right_ankle",), "LHip": ("left_hip",), "LKnee": ("left_knee",),
    "LFoot": ("left_ankle",), "Spine": ("pelvis", "neck"), "Thorax": ("neck",), "Head": ("head",),
    "LShoulder": ("left_shoulder",), "LElbow": ("left_elbow",), "LWrist": ("left_wrist",),
    "RShoulder": ("right_shoulder",), "RElbow": ("right_elbow",), "RWrist": ("right_wrist",)})

LAYOUTS = {m.name: m for m in (COCO17, BODY25, COCO18, H36M17, SMPL24)}


# --------------------------------------------------------------------------- the 16-joint 2D file
KEYPOINT_FILE_KEYS = ("keypoints", "valid", "width", "height")
MAKE_KEYPOINTS = "python data/prepare_data_2d_custom.py --input DETECTIONS --output FILE.npz"


def save_keypoints_16(path: str | os.PathLike, keypoints: np.ndarray, valid: np.ndarray,
                      width: int, height: int, source_format: str, **extra: np.ndarray) -> Path:
    """Write the lifter input: keypoints (N, 16, 2) pixels, valid (N,) bool (False = the frame
    was filled in by interpolation), image width/height in pixels, the source layout name, and
    optional extra arrays (joint_valid (N, 16), confidence (N, 16), frame (N,))."""
    return save_npz_atomic(path, keypoints=np.asarray(keypoints, np.float32),
                           valid=np.asarray(valid, bool), width=np.int64(width),
                           height=np.int64(height), format=np.str_(source_format), **extra)


def load_keypoints_16(path: str | os.PathLike) -> dict:
    """{'keypoints' (N,16,2) float32 pixels, 'valid' (N,) bool, 'width', 'height' int, ...}."""
    z = load_npz(path, KEYPOINT_FILE_KEYS, hint=MAKE_KEYPOINTS)
    kp = z["keypoints"]
    if kp.ndim != 3 or kp.shape[1:] != (NUM_JOINTS, 2) or len(kp) == 0:
        raise DataError(f"{path}: keypoints has shape {kp.shape}; expected (N, 16, 2) pixels "
                        f"with N >= 1 (convert detections with: {MAKE_KEYPOINTS})")
    if not np.isfinite(kp).all():
        raise DataError(f"{path}: keypoints contains NaN or inf")
    valid = np.asarray(z["valid"]).astype(bool)
    if valid.shape != (len(kp),):
        raise DataError(f"{path}: valid has shape {valid.shape}; expected ({len(kp)},)")
    width, height = int(z["width"]), int(z["height"])
    if width <= 0 or height <= 0:
        raise DataError(f"{path}: image size {width}x{height}; expected positive pixels")
    out = {k: v for k, v in z.items()}
    out.update(keypoints=kp.astype(np.float32), valid=valid, width=width, height=height)
    return out
