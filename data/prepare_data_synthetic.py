"""Build the embedded synthetic dataset: the real file formats, with a built-in domain gap.

Human3.6M and MPI-INF-3DHP cannot be downloaded by a script, so this generator writes a small
stand-in in exactly the real layouts (one folder, read with ``--data_dir <out>
--data_extra_dir <out>/extra``):

    <out>/data_3d_h36m.npz                       S1 S5 S6 S7 S8 S9 S11, 15 actions x 2 takes,
                                                 32 joints, world metres, z up, 50 Hz
    <out>/data_2d_h36m_gt.npz                    real H36M cameras of each subject, pixels
    <out>/data_2d_h36m_cpn_ft_h36m_dbb.npz       simulated detector, 16 joints, pixels
    <out>/extra/test_set/test_3dhp.npz           3DHP-like test world (other poses, cameras)
    <out>/extra/bone_length_npy/hm36s15678_bl_templates.npy
    <out>/manifest.json                          seed, size, format version, files, digests

The motion comes from the dataset's own parametric model (data/synthetic_h36m_actions.py and
data/synthetic_dhp_world.py, built on data/synthetic_motion.py), never from the DH model that
DH-AUG augments with. Same seed and size -> the same files, byte for byte (given the same
numpy/torch versions). ``ensure_synthetic_dataset`` builds on first use and reuses the folder
while the manifest's seed, size and format version match.

Usage: python data/prepare_data_synthetic.py [--output-dir data/synthetic] [--seed 0]
       [--size small|default|large|<frames per sequence>] [--force]
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import hashlib
import json
import time
from typing import Callable

import numpy as np

from data import h36m_format
from data import synthetic_cameras as cams
from data import synthetic_detector, synthetic_motion, synthetic_skeleton
from data.synthetic_dhp_world import dhp_clip
from data.synthetic_h36m_actions import H36M_ACTIONS, h36m_clip
from utils import camera
from utils.io import DataError, atomic_write

FORMAT_VERSION = 1
GENERATOR = "dhaug-synthetic"
SIZES = {"small": 8, "default": 40, "large": 200}       # frames per sequence (50 Hz)
SUBJECTS = ("S1", "S5", "S6", "S7", "S8", "S9", "S11")
TAKES = (1, 2)
DETECTED_KEYPOINTS = "cpn_ft_h36m_dbb"
DETECTED_METADATA = {"layout_name": "h36m", "num_joints": 16,
                     "keypoints_symmetry": [list(x) for x in h36m_format.GT_2D_METADATA[
                         "keypoints_symmetry"]]}
MANIFEST = "manifest.json"
EXTRA_DIR = "extra"
# 3DHP test sequences: real frame counts, and the activities of our 3DHP-like world.
DHP_REAL_COUNTS = {"TS1": 603, "TS2": 540, "TS3": 505, "TS4": 553, "TS5": 276, "TS6": 452}
DHP_SEQUENCE_ACTIVITIES = {
    "TS1": ("stand", "arms_up", "walk", "crouch", "bend"),
    "TS2": ("squat", "jacks", "lunge", "arms_up", "stand"),
    "TS3": ("sit_chair", "lean", "bend", "stand", "kneel"),
    "TS4": ("kneel", "sit_floor", "crouch", "arms_up", "squat"),
    "TS5": ("walk", "lean", "arms_up", "stand", "lunge"),
    "TS6": ("stand", "kneel", "jacks", "bend", "sit_floor"),
}
DHP_OUTDOOR = ("TS5", "TS6")
DHP_STRIDE = 5                      # 3DHP test rows are subsampled video frames
MAX_PLACEMENT_TRIES = 20


def parse_size(size: str | int) -> int:
    """'small' | 'default' | 'large' | a positive int (frames per sequence) -> frames."""
    if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
        frames = int(size)
    elif isinstance(size, str) and size in SIZES:
        frames = SIZES[size]
    elif isinstance(size, str) and size.strip().isdigit():
        frames = int(size)
    else:
        raise DataError(f"--size: expected one of {', '.join(SIZES)} or a positive integer "
                        f"(frames per sequence), got {size!r}")
    if frames < 2:
        raise DataError(f"--size: need at least 2 frames per sequence, got {frames}")
    return frames


def size_label(size: str | int) -> str:
    frames = parse_size(size)
    names = {v: k for k, v in SIZES.items()}
    return names.get(frames, str(frames))


def data_extra_dir(out_dir: str | Path) -> Path:
    """The ``--data_extra_dir`` of a synthetic dataset folder (3DHP-like set, templates)."""
    return Path(out_dir) / EXTRA_DIR


def dataset_files(out_dir: Path) -> dict[str, Path]:
    extra = data_extra_dir(out_dir)
    return {
        "3d": h36m_format.file_3d(out_dir),
        "2d_gt": h36m_format.file_2d(out_dir, "gt"),
        "2d_detected": h36m_format.file_2d(out_dir, DETECTED_KEYPOINTS),
        "3dhp": h36m_format.file_3dhp(extra),
        "templates": h36m_format.file_templates(extra),
    }


# --------------------------------------------------------------------------- generation
def _h36m_world(seed_seq: np.random.SeedSequence, frames: int) -> dict:
    """{subject: {action: (N, 32, 3) float32}} world metres, every joint visible in the
    subject's 4 real cameras."""
    style_seq, motion_seq = seed_seq.spawn(2)
    positions: dict = {}
    for subject, s_style, s_motion in zip(SUBJECTS, style_seq.spawn(len(SUBJECTS)),
                                          motion_seq.spawn(len(SUBJECTS))):
        body = synthetic_skeleton.subject_body(subject)
        style = synthetic_motion.subject_style(np.random.default_rng(s_style))
        clip_seqs = iter(s_motion.spawn(len(H36M_ACTIONS) * len(TAKES)))
        positions[subject] = {}
        for action in H36M_ACTIONS:
            for take in TAKES:
                rng = np.random.default_rng(next(clip_seqs))
                for _ in range(MAX_PLACEMENT_TRIES):
                    track = h36m_clip(action, body, style, rng, frames)
                    sk = synthetic_skeleton.forward_kinematics(track, body)
                    pos = synthetic_skeleton.fill_h36m32(sk, body).astype(np.float32)
                    depth, inside = cams.h36m_view_check(h36m_format.reduce_to_16(pos), subject)
                    if depth > 0.5 and inside:
                        break
                else:
                    raise RuntimeError(f"{subject} {action} {take}: no take stays in view")
                positions[subject][f"{action} {take}"] = pos
    return positions


def _detections(positions: dict, gt2d: dict, seed_seq: np.random.SeedSequence) -> dict:
    """Simulated detector output {subject: {action: [4 x (N, 16, 2)]}} pixels."""
    table = camera.h36m_camera_table(SUBJECTS).double().numpy()          # (S, 4, 16)
    out: dict = {}
    seqs = iter(seed_seq.spawn(sum(len(a) for a in positions.values())))
    for si, subject in enumerate(SUBJECTS):
        out[subject] = {}
        for action, pos in positions[subject].items():
            world = h36m_format.reduce_to_16(pos).astype(np.float64)
            depth = np.stack([cams.to_camera(world, c[9:13], c[13:16])[..., 2]
                              for c in table[si]])                         # (4, N, 16)
            gt = np.stack(gt2d[subject][action]).astype(np.float64)
            det = synthetic_detector.detect(gt, depth, np.random.default_rng(next(seqs)))
            out[subject][action] = [d.astype(np.float32) for d in det]
    return out


def _dhp_counts(frames: int) -> dict[str, int]:
    scale = min(1.0, frames / SIZES["default"])
    return {k: max(len(DHP_SEQUENCE_ACTIVITIES[k]), int(round(n * scale)))
            for k, n in DHP_REAL_COUNTS.items()}


def _dhp_world(seed_seq: np.random.SeedSequence, frames: int) -> dict:
    """3DHP-like test set: pose3d (M, 16, 3) root-relative camera metres, pose2d (M, 16, 2)
    normalised by width, seq_id (M,) 1..6."""
    sequences = camera.mpi_inf_3dhp_test_cameras()
    p3, p2, ids = [], [], []
    for k, (name, s_seq) in enumerate(zip(DHP_REAL_COUNTS, seed_seq.spawn(len(DHP_REAL_COUNTS)))):
        rng = np.random.default_rng(s_seq)
        body = synthetic_skeleton.random_body(rng)
        n = _dhp_counts(frames)[name]
        acts = DHP_SEQUENCE_ACTIVITIES[name]
        splits = np.diff(np.linspace(0, n, len(acts) + 1).round().astype(int))
        tracks = [dhp_clip(a, body, rng, int(m), DHP_STRIDE)
                  for a, m in zip(acts, splits)]
        track = synthetic_skeleton.PoseTrack.concat(tracks)
        world = synthetic_skeleton.forward_kinematics(track, body).joints
        cam = cams.dhp_camera(sequences[name], world, rng, outdoor=name in DHP_OUTDOOR)
        X, xy = cams.project_dhp(world, cam)
        p3.append(X - X[:, :1])
        p2.append(xy)
        ids.append(np.full(len(X), k + 1))
    return {"pose3d": np.concatenate(p3).astype(np.float32),
            "pose2d": np.concatenate(p2).astype(np.float32),
            "seq_id": np.concatenate(ids).astype(np.int64)}


def _digest(obj) -> str:
    """SHA-256 of nested dict/list/array content (order-sensitive, byte exact)."""
    h = hashlib.sha256()

    def feed(x):
        if isinstance(x, dict):
            for k, v in x.items():
                h.update(str(k).encode())
                feed(v)
        elif isinstance(x, (list, tuple)):
            for v in x:
                feed(v)
        else:
            a = np.ascontiguousarray(x)
            h.update(f"{a.dtype.str}{a.shape}".encode())
            h.update(a.tobytes())
    feed(obj)
    return h.hexdigest()


def _error_stats(det: dict, gt: dict) -> dict:
    err = np.concatenate([np.linalg.norm(d - g, axis=-1).ravel()
                          for s in gt for a in gt[s] for d, g in zip(det[s][a], gt[s][a])])
    return {"mean_px": float(err.mean()), "median_px": float(np.median(err)),
            "p95_px": float(np.percentile(err, 95)), "max_px": float(err.max())}


def build_synthetic_dataset(out_dir: str | Path, seed: int, size: str | int) -> dict:
    """Generate and write every file (then the manifest, last). Returns statistics."""
    start = time.perf_counter()
    out_dir = Path(out_dir)
    frames = parse_size(size)
    files = dataset_files(out_dir)
    (out_dir / MANIFEST).unlink(missing_ok=True)     # a half-written folder is never reused
    root = np.random.SeedSequence(int(seed))
    s_world, s_detector, s_dhp = root.spawn(3)

    positions = _h36m_world(s_world, frames)
    gt2d = h36m_format.compute_gt_2d(positions)
    detected = _detections(positions, gt2d, s_detector)
    templates = h36m_format.compute_bone_templates(positions)
    dhp = _dhp_world(s_dhp, frames)

    h36m_format.save_positions_3d(files["3d"], positions)
    h36m_format.save_positions_2d(files["2d_gt"], gt2d, h36m_format.GT_2D_METADATA)
    h36m_format.save_positions_2d(files["2d_detected"], detected, DETECTED_METADATA)
    h36m_format.save_bone_templates(files["templates"], templates, made_from=files["3d"])
    h36m_format.save_3dhp(files["3dhp"], dhp["pose3d"], dhp["pose2d"], dhp["seq_id"])

    train = _frame_count(positions, ("S1", "S5", "S6", "S7", "S8"))
    test = _frame_count(positions, ("S9", "S11"))
    stats = {
        "frames_per_sequence": frames,
        "train_frames": train, "train_samples": 4 * train,
        "test_frames": test, "test_samples": 4 * test,
        "dhp_frames": int(len(dhp["seq_id"])),
        "detector_error": _error_stats(detected, gt2d),
    }
    manifest = {
        "generator": GENERATOR, "format_version": FORMAT_VERSION, "seed": int(seed),
        "size": size_label(size), "frames_per_sequence": frames, "fps": synthetic_motion.FPS,
        "files": sorted(str(p.relative_to(out_dir)) for p in files.values()),
        "content_sha256": {
            "3d": _digest(positions), "2d_gt": _digest(gt2d), "2d_detected": _digest(detected),
            "3dhp": _digest(dhp), "templates": _digest(templates)},
        "stats": stats,
    }
    text = json.dumps(manifest, indent=1, sort_keys=True) + "\n"
    atomic_write(out_dir / MANIFEST, lambda tmp: Path(tmp).write_text(text))
    stats["build_seconds"] = time.perf_counter() - start
    stats["manifest"] = manifest
    return stats


def _frame_count(positions: dict, subjects: tuple) -> int:
    return int(sum(len(p) for s in subjects for p in positions[s].values()))


# --------------------------------------------------------------------------- reuse
def read_manifest(out_dir: str | Path) -> dict | None:
    path = Path(out_dir) / MANIFEST
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: unreadable manifest ({exc}); delete the folder or pass --force")
    if not isinstance(manifest, dict) or manifest.get("generator") != GENERATOR:
        raise DataError(f"{path} is not a synthetic-dataset manifest; refusing to touch "
                        f"{Path(out_dir)}")
    return manifest


def manifest_matches(manifest: dict | None, seed: int, size: str | int, out_dir: Path) -> bool:
    """True when the folder holds a complete build of this seed, size and format version."""
    if manifest is None:
        return False
    same = (manifest.get("format_version") == FORMAT_VERSION
            and manifest.get("seed") == int(seed)
            and manifest.get("frames_per_sequence") == parse_size(size))
    return same and all(p.is_file() for p in dataset_files(out_dir).values())


def _foreign_files(out_dir: Path) -> list[Path]:
    return [p for p in dataset_files(out_dir).values() if p.exists()]


def ensure_synthetic_dataset(root_dir: str | Path, seed: int, size: str | int,
                             log: Callable[[str], None] = print) -> Path:
    """Return ``root_dir`` holding the synthetic dataset of this seed and size, building it
    if it is missing or was built with another seed, size or format version.

    A folder with dataset files but no synthetic manifest (e.g. real H36M data) is never
    overwritten: that is a DataError.
    """
    out_dir = Path(root_dir)
    parse_size(size)
    manifest = read_manifest(out_dir)
    if manifest_matches(manifest, seed, size, out_dir):
        log(f"synthetic dataset: reusing {out_dir} (seed {seed}, size {size_label(size)})")
        return out_dir
    if manifest is None and _foreign_files(out_dir):
        raise DataError(f"{out_dir} holds dataset files but no synthetic manifest; refusing to "
                        f"overwrite them (choose another --data_dir)")
    why = "building" if manifest is None else (
        f"rebuilding (was seed {manifest.get('seed')}, size {manifest.get('size')}, "
        f"format {manifest.get('format_version')})")
    log(f"synthetic dataset: {why} in {out_dir} (seed {seed}, size {size_label(size)})")
    stats = build_synthetic_dataset(out_dir, seed, size)
    log(f"synthetic dataset: {stats['train_samples']} training samples, "
        f"{stats['test_samples']} H36M-like test samples, {stats['dhp_frames']} 3DHP-like "
        f"frames, built in {stats['build_seconds']:.1f} s")
    return out_dir


# --------------------------------------------------------------------------- CLI
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output-dir", default="data/synthetic",
                        help="folder to write (default: data/synthetic)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("--size", default="default",
                        help="small | default | large | frames per sequence (default: default)")
    parser.add_argument("--force", action="store_true",
                        help="overwrite a folder built with another seed/size, or rebuild")
    args = parser.parse_args(argv)
    try:
        out_dir = Path(args.output_dir)
        parse_size(args.size)
        manifest = None if args.force else read_manifest(out_dir)
        if not args.force:
            if manifest_matches(manifest, args.seed, args.size, out_dir):
                print(f"{out_dir}: already built with seed {args.seed}, size "
                      f"{size_label(args.size)}; nothing to do (--force rebuilds)")
                return 0
            if manifest is not None:
                raise DataError(f"{out_dir} holds a synthetic dataset of seed "
                                f"{manifest.get('seed')}, size {manifest.get('size')}; "
                                f"pass --force to overwrite it")
            if _foreign_files(out_dir):
                raise DataError(f"{out_dir} already holds dataset files; pass --force to "
                                f"overwrite them")
        stats = build_synthetic_dataset(out_dir, args.seed, args.size)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    err = stats["detector_error"]
    print(f"wrote {out_dir}: {stats['train_samples']} training samples "
          f"({stats['train_frames']} frames x 4 cameras), {stats['test_samples']} test samples, "
          f"{stats['dhp_frames']} 3DHP-like frames; detector error mean {err['mean_px']:.1f} px, "
          f"p95 {err['p95_px']:.1f} px; {stats['build_seconds']:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
