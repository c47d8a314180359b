"""The 3DPW test set as a PoseSet, and its evaluation (docs/inference.md#3dpw-preparation,
docs/evaluation.md#3dpw).

3DPW is a cross-dataset test like 3DHP, and is scored the same way: P1 and P2 over all 16 joints,
root-relative, a mean over frames, with flip test-time augmentation. Each unbroken run of one
person's valid frames is a sequence, the pseudo-video of the video lifters.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import torch

from data_extra.prepare_data_3dpw import MAKE_3DPW, load_test_3dpw
from function_baseline.evaluate import evaluate_3dhp
from function_baseline.pose_set import PoseSet
from utils.distributed import DistContext

# Camera-vector tail meaning "world = camera frame": identity quaternion, centre at the origin.
_IDENTITY_EXTRINSICS = (1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)


def load_3dpw(path: str, log: Callable[[str], None] = print) -> PoseSet | None:
    """test_3dpw.npz as a PoseSet, or None: '' means off; a missing file is reported once.

    pose3d: camera frame metres (root kept when the file has it); camera: the normalised
    intrinsics, then identity extrinsics; action: the recording; sequence: the person track.
    """
    if not path:
        return None
    if not Path(path).is_file():
        log(f"note: {path} not found; 3DPW evaluation is skipped (make it with: {MAKE_3DPW})")
        return None
    d = load_test_3dpw(path)
    n = len(d["pose3d"])
    recordings = [name.split("/")[0] for name in d["sequence_names"]]
    action_names = tuple(dict.fromkeys(recordings))
    action = np.asarray([action_names.index(r) for r in recordings], np.int64)[d["sequence"]]
    camera = np.concatenate([d["camera"], np.broadcast_to(np.float32(_IDENTITY_EXTRINSICS), (n, 7))],
                            axis=1)
    return PoseSet(pose2d=torch.from_numpy(d["pose2d"]), pose3d=torch.from_numpy(d["pose3d"]),
                   camera=torch.from_numpy(camera.astype(np.float32)),
                   action=torch.from_numpy(action), subject=torch.zeros(n, dtype=torch.long),
                   sequence=torch.from_numpy(d["sequence"]), action_names=action_names,
                   subject_names=("3DPW",))


def evaluate_3dpw(model: torch.nn.Module, data: PoseSet, frames: int | None = None,
                  ctx: DistContext | None = None) -> dict:
    """{'p1', 'p2'} in mm: scored exactly as 3DHP (flip test-time augmentation, frame means);
    ``frames`` None for single-frame lifters, the receptive field for video lifters (each
    person track is one sequence); ``ctx`` shards the predictions over the ranks."""
    res = evaluate_3dhp(model, data, frames=frames, ctx=ctx)
    return {"p1": res["p1"], "p2": res["p2"]}
