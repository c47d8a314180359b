"""``run_fk_gan.py --evaluate CKPT --infer FILE [--infer_output OUT.npz] [--render OUT.gif]``:
lift a 16-joint 2D keypoint file with a trained checkpoint (docs/inference.md#lifting).

The lifter is rebuilt from the architecture flags saved in the checkpoint (the command line's
are used for a checkpoint that saved none), in its evaluation form. The output npz holds
``pose3d`` (N, 16, 3) root-relative camera-frame metres, ``pose2d`` (N, 16, 2) the input pixels,
``valid`` / ``joint_valid`` (the input's interpolation flags), ``width``, ``height``, and the
lifter's name and receptive field.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from data.keypoint_formats import load_keypoints_16
from function_baseline.infer import lift, normalise_pixels
from function_baseline.model_pos_preparation import lifter_from_checkpoint, receptive_field
from utils.device import resolve_device
from utils.io import DataError, save_npz_atomic

def default_output(infer_path: str) -> Path:
    """``clip.npz`` -> ``clip_pose3d.npz`` next to it."""
    p = Path(infer_path)
    return p.with_name(f"{p.stem}_pose3d.npz")


def infer_checkpoint(args: argparse.Namespace) -> int:
    """Lift ``args.infer`` with ``args.evaluate``; write ``args.infer_output``; render ``args.render``."""
    if not args.evaluate:
        raise DataError("--infer needs --evaluate CKPT, the checkpoint whose lifter to use")
    out = Path(args.infer_output) if args.infer_output else default_output(args.infer)
    if out.resolve() == Path(args.infer).resolve():
        raise DataError(f"--infer_output {out} would overwrite the --infer input")
    device = resolve_device(args.device, args.gpu_id)
    data = load_keypoints_16(args.infer)
    model, flags, state = lifter_from_checkpoint(args.evaluate, args, device)
    frames = receptive_field(flags)
    pose2d = normalise_pixels(data["keypoints"], data["width"], data["height"]).to(device)
    t0 = time.perf_counter()
    pose3d = lift(model, pose2d, frames).cpu().numpy()
    seconds = time.perf_counter() - t0
    save_npz_atomic(out, pose3d=pose3d.astype(np.float32), pose2d=data["keypoints"],
                    valid=data["valid"],
                    joint_valid=data.get("joint_valid", np.ones(pose3d.shape[:2], bool)),
                    width=np.int64(data["width"]), height=np.int64(data["height"]),
                    posenet_name=np.str_(flags.posenet_name), receptive_field=np.int64(frames),
                    checkpoint=np.str_(str(args.evaluate)))
    n = len(pose3d)
    print(f"lifted {n} frames with {flags.posenet_name} (receptive field {frames}, checkpoint "
          f"epoch {state.get('epoch', '?')}) in {seconds:.2f} s ({n / max(seconds, 1e-9):.0f} "
          f"frames/s on {device}); wrote {out}")
    if args.render:
        from function_baseline.render import render
        path = render(args.render, data["keypoints"], pose3d, data["width"], data["height"],
                      data["valid"])
        print(f"rendered {path}")
    return 0
