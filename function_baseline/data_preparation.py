"""Load the prepared files once into tensors: H36M train/test single-frame samples, the 3DHP
test set, the training cameras and the bone-length templates (docs/data_formats.md#splits)."""
from __future__ import annotations

import argparse
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from data import h36m_format as fmt
from function_baseline.pose_set import PoseSet
from function_baseline.pw3d_set import load_3dpw
from utils import camera
from utils.io import DataError

TRAIN_SUBJECTS = ("S1", "S5", "S6", "S7", "S8")
TEST_SUBJECTS = ("S9", "S11")


@dataclass
class Datasets:
    train: PoseSet
    test_h36m: PoseSet
    test_3dhp: PoseSet | None
    train_subjects: tuple
    camera_table: torch.Tensor   # (len(train_subjects), 4, 16)
    templates: torch.Tensor      # (5, 15) template-order bone lengths, metres
    data_dir: Path
    data_extra_dir: Path
    test_3dpw: PoseSet | None = None   # with --Path_3DPW (docs/evaluation.md#3dpw)

    def to(self, device: torch.device | str) -> "Datasets":
        """The pose sets on ``device`` (cameras and templates stay where the augmenter wants
        them: it moves its own copies)."""
        def move(s: PoseSet | None) -> PoseSet | None:
            return None if s is None else s.to(device)
        return replace(self, train=move(self.train), test_h36m=move(self.test_h36m),
                       test_3dhp=move(self.test_3dhp), test_3dpw=move(self.test_3dpw))


def train_subjects(args: argparse.Namespace) -> tuple:
    if args.s1only:
        return ("S1",)
    if args.s1s5only:
        return ("S1", "S5")
    return TRAIN_SUBJECTS


def resolve_data_dirs(args: argparse.Namespace, log: Callable[[str], None] = print
                      ) -> tuple[Path, Path]:
    """Where the files are; ``--dataset synthetic`` builds or reuses <data_dir>/synthetic."""
    if args.dataset == "synthetic":
        from data.prepare_data_synthetic import ensure_synthetic_dataset
        root = ensure_synthetic_dataset(Path(args.data_dir) / "synthetic", seed=args.synthetic_seed,
                                        size=args.synthetic_size, log=log)
        return Path(root), Path(root) / "extra"
    return Path(args.data_dir), Path(args.data_extra_dir)


def _select_actions(path: Path, subject: str, actions: dict, wanted: list | None) -> list[str]:
    keys = sorted(actions)
    if wanted is None:
        return keys
    keep = [a for a in keys if fmt.action_category(a) in wanted]
    if not keep:
        raise DataError(f"{path}: subject {subject} has no action in --actions {','.join(wanted)}; "
                        f"its categories are {sorted({fmt.action_category(a) for a in keys})}")
    return keep


def _build_set(subjects: tuple, pos3d: dict, pos2d: dict, file3d: Path, file2d: Path,
               actions_wanted: list | None, stride: int, action_names: tuple) -> PoseSet:
    """Stack every (subject, action, camera) sequence into one PoseSet (vectorised geometry)."""
    world, px, cams, res, act, subj, seq = [], [], [], [], [], [], []
    for si, s in enumerate(subjects):
        if s not in pos3d:
            raise DataError(f"{file3d}: subject {s} is missing (found {sorted(pos3d)})")
        if s not in pos2d:
            raise DataError(f"{file2d}: subject {s} is missing (found {sorted(pos2d)})")
        for a in _select_actions(file3d, s, pos3d[s], actions_wanted):
            if a not in pos2d[s]:
                raise DataError(f"{file2d}: {s}/{a} is missing but present in {file3d}")
            poses = fmt.reduce_to_16(pos3d[s][a])[::stride]
            n = len(poses)
            for slot in range(4):
                views = pos2d[s][a][slot]
                if len(views) != len(pos3d[s][a]):
                    raise DataError(f"{file2d}: {s}/{a} camera {slot} has {len(views)} frames but "
                                    f"{file3d} has {len(pos3d[s][a])}")
                world.append(poses)
                px.append(views[::stride])
                cams.append(np.broadcast_to(camera.h36m_camera_vector16(s, slot), (n, 16)))
                res.append(np.broadcast_to(np.array(camera.h36m_resolution(slot), np.float32), (n, 2)))
                act.append(np.full(n, action_names.index(fmt.action_category(a))))
                subj.append(np.full(n, si))
                seq.append(np.full(n, len(seq)))
    world_t = torch.from_numpy(np.concatenate(world).astype(np.float32))
    cam_t = torch.from_numpy(np.concatenate(cams).astype(np.float32))
    res_t = torch.from_numpy(np.concatenate(res))
    pose3d = camera.to_camera_frame(world_t, cam_t)
    pose2d = camera.normalize_screen_coordinates(torch.from_numpy(np.concatenate(px)),
                                                 res_t[:, 0], res_t[:, 1])
    return PoseSet(pose2d=pose2d, pose3d=pose3d, camera=cam_t,
                   action=torch.from_numpy(np.concatenate(act)).long(),
                   subject=torch.from_numpy(np.concatenate(subj)).long(),
                   sequence=torch.from_numpy(np.concatenate(seq)).long(),
                   action_names=action_names, subject_names=tuple(subjects))


def load_3dhp(data_extra_dir: Path, log: Callable[[str], None] = print) -> PoseSet | None:
    """The 3DHP test set, or None (reported once) when the file is absent."""
    path = fmt.file_3dhp(data_extra_dir)
    if not path.is_file():
        log(f"note: {path} not found; 3DHP evaluation is skipped (make it with: {fmt.MAKE_3DHP})")
        return None
    d = fmt.load_3dhp(path)
    n = len(d["pose3d"])
    seq = d["seq_id"]
    if seq is None:
        action, names = torch.zeros(n, dtype=torch.long), ("all",)
    else:
        action, names = torch.from_numpy(seq.astype(np.int64) - 1), tuple(f"TS{i}" for i in range(1, 7))
    # The six TS sequences are continuous recordings: video mode treats each as one pseudo-video
    # (docs/video.md#sequences-and-windows); without seq_id the file is one sequence.
    sequence = torch.cumsum(torch.cat([torch.zeros(1, dtype=torch.long),
                                       (action[1:] != action[:-1]).long()]), 0)
    return PoseSet(pose2d=torch.from_numpy(d["pose2d"]), pose3d=torch.from_numpy(d["pose3d"]),
                   camera=torch.zeros(n, 16), action=action, subject=torch.zeros(n, dtype=torch.long),
                   sequence=sequence, action_names=names, subject_names=("3DHP",))


def load_templates(data_extra_dir: Path, pos3d: dict, file3d: Path,
                   log: Callable[[str], None] = print) -> torch.Tensor:
    """Bone-length templates (5, 15), metres (docs/data_formats.md#bone-templates).

    Missing: built from the 3D data and cached with a record of its source. A cache whose
    source (3D file content, subjects) changed is rebuilt, saying so. A file without a record
    (the original's, or replaced by hand) is used as given, with one note; a prepared file
    whose source differs from this run's 3D file is used with a warning, never overwritten.
    """
    path = fmt.file_templates(data_extra_dir)

    def build(why: str) -> None:
        try:
            templates = fmt.compute_bone_templates(pos3d)
        except DataError as exc:
            raise DataError(f"{file3d}: {exc}") from None
        fmt.save_bone_templates(path, templates, made_from=file3d, kind="cache")
        log(f"note: {path} {why}; built it from {file3d}")

    if not path.is_file():
        build("was missing")
        return torch.from_numpy(fmt.load_bone_templates(path))
    record = fmt.read_template_record(path)
    change = None if record is None else fmt.template_source_change(record, file3d)
    if record is None:
        log(f"note: using {path} as given (no record of the 3D data it was made from; "
            f"delete it to rebuild it from {file3d})")
    elif change is not None and record["kind"] == "cache":
        build(f"was out of date ({change})")
    elif change is not None:
        log(f"warning: using {path} as given although {change}; delete it to rebuild it "
            f"from {file3d}")
    return torch.from_numpy(fmt.load_bone_templates(path))


def load_datasets(args: argparse.Namespace, log: Callable[[str], None] = print) -> Datasets:
    """Everything the training and evaluation loops read, as CPU tensors."""
    data_dir, extra_dir = resolve_data_dirs(args, log)
    file3d = fmt.file_3d(data_dir)
    file2d = fmt.file_2d(data_dir, args.keypoints)
    pos3d = fmt.load_positions_3d(file3d)
    pos2d = fmt.load_positions_2d(file2d)
    wanted = args.actions
    categories = sorted({fmt.action_category(a) for acts in pos3d.values() for a in acts})
    if wanted is not None:
        unknown = [a for a in wanted if a not in categories]
        if unknown:
            raise DataError(f"--actions: unknown action(s) {unknown}; {file3d} has {categories}")
    names = tuple(categories)
    subjects = train_subjects(args)
    train = _build_set(subjects, pos3d, pos2d, file3d, file2d, wanted, args.downsample, names)
    test = _build_set(TEST_SUBJECTS, pos3d, pos2d, file3d, file2d, wanted, 1, names)
    return Datasets(train=train, test_h36m=test, test_3dhp=load_3dhp(extra_dir, log),
                    train_subjects=subjects, camera_table=camera.h36m_camera_table(subjects),
                    templates=load_templates(extra_dir, pos3d, file3d, log),
                    data_dir=data_dir, data_extra_dir=extra_dir,
                    test_3dpw=load_3dpw(args.Path_3DPW, log))
