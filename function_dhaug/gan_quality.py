"""Per-epoch realism and diversity of the generated poses, on one scale for GAN and 'normal'.

Frame: every pose is compared **root-relative in the world frame**, the view of the 3D critic
(docs/gan.md#critics). The generator is trained to match exactly that distribution; the camera
frame would mix pose realism with the viewpoint (a fake is seen by one random camera per batch,
a real pose by its own camera) and the root is learned separately (judged here by the share of
roots behind the camera). The real poses are the bone-swapped training poses the critics see
(docs/gan.md#bone-swap), so GAN and 'normal' are measured against the same reference.

Distance: MPJPE over the 16 joints (root included, zero after root alignment), in millimetres,
the convention of P1 (docs/evaluation.md#metrics). Nearest neighbours: one ``torch.cdist`` over
the flattened poses (a matrix product) ranks candidates by RMS joint distance, and the exact
MPJPE to the best ``NN_CANDIDATES`` of them is kept (the two orders differ only in near-ties).
Mean pairwise distances are exact: a ``torch.cdist`` batched over the joint axis. Both are
chunked over rows to bound memory.

Figures (see :class:`GanQuality`): precision = median distance from a generated pose to its
nearest real pose; coverage = share of held-out real poses with a generated pose within a radius;
diversity = mean pairwise distance of generated poses / that of real ones; the share of angles
saturated at their range limits; the share of generated roots behind the camera (z <= 0).
"""
from __future__ import annotations

import torch

from function_baseline.pose_set import PoseSet
from function_dhaug.bone_swap import draw_template_rows, real_3d_for_critic
from utils.camera import to_world_frame
from utils.io import DataError
from utils.skeleton import NUM_JOINTS, root_relative

QUALITY_TAG = "GAN_quality"
QUALITY_SAMPLES = 2048              # generated, reference and held-out poses per measurement
DIVERSITY_SAMPLES = 1024            # of them, rows in the all-pairs mean distance
NN_CANDIDATES = 32                  # nearest poses by RMS distance re-scored by exact MPJPE
COVERAGE_RADII_MM = (50.0, 100.0)
SATURATION_TOLERANCE = 0.01         # within 1 % of a DOF's range width of either bound
CHUNK_ROWS = 256                    # rows per cdist call (pairwise mean: 256 x 1024 x 16 floats)
CANDIDATES_PER_SAMPLE = 1           # real rows drawn per wanted pose before removing duplicates
DUPLICATE_MM = 1.0                  # RMS joint distance below which two rows are one frame
_SEED_SALT = 7_368_787              # keeps these draws apart from every training stream


def _check_poses(poses: torch.Tensor, name: str) -> torch.Tensor:
    """Root-relative poses (N,16,3) in millimetres, float32 (ValueError for other shapes)."""
    if poses.dim() != 3 or tuple(poses.shape[1:]) != (NUM_JOINTS, 3) or poses.shape[0] == 0:
        raise ValueError(f"{name} must be (N>0, {NUM_JOINTS}, 3) poses in metres, "
                         f"got {tuple(poses.shape)}")
    return root_relative(poses.float()) * 1000


def nearest_distance(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(Na,) mm: MPJPE from each pose of ``a`` (Na,16,3) m to its nearest pose of ``b`` (Nb,16,3)
    m (exact MPJPE; the nearest is searched among the NN_CANDIDATES nearest by RMS distance)."""
    a_mm, b_mm = _check_poses(a, "a"), _check_poses(b, "b")
    b_flat, k = b_mm.flatten(1), min(NN_CANDIDATES, b_mm.shape[0])
    out = []
    for start in range(0, a_mm.shape[0], CHUNK_ROWS):
        chunk = a_mm[start:start + CHUNK_ROWS]
        ranked = torch.cdist(chunk.flatten(1), b_flat).topk(k, dim=1, largest=False).indices
        exact = torch.linalg.vector_norm(chunk.unsqueeze(1) - b_mm[ranked], dim=-1).mean(-1)
        out.append(exact.min(dim=1).values)
    return torch.cat(out)


def mean_pairwise_distance(poses: torch.Tensor) -> float:
    """Mean MPJPE (mm) over the ordered pairs of distinct rows of ``poses`` (N>=2, 16, 3) m."""
    mm = _check_poses(poses, "poses")
    n = mm.shape[0]
    if n < 2:
        raise ValueError("a mean pairwise distance needs at least 2 poses")
    joints = mm.transpose(0, 1).contiguous()                                 # (16, N, 3)
    total = torch.zeros((), dtype=torch.float64, device=mm.device)
    for start in range(0, n, CHUNK_ROWS):
        # exact differences (no matrix-product shortcut): identical poses are exactly 0 apart
        block = torch.cdist(joints[:, start:start + CHUNK_ROWS], joints,
                            compute_mode="donot_use_mm_for_euclid_dist")
        total += block.mean(0).double().sum()                                # diagonal is 0
    return float(total) / (n * (n - 1))


def distinct_rows(poses: torch.Tensor, tolerance_mm: float = DUPLICATE_MM) -> torch.Tensor:
    """(K,) long: indices of the rows of ``poses`` (N,16,3) m, world frame with root, that are not
    within ``tolerance_mm`` (RMS over joints) of an earlier row. The camera views of one frame
    are one world pose; keeping one of them makes a held-out set really held out."""
    flat = poses.detach().double().flatten(1) * 1000                     # float64: exact enough
    limit = tolerance_mm * NUM_JOINTS ** 0.5                              # RMS -> 48-d Euclidean
    keep = []
    for start in range(0, flat.shape[0], CHUNK_ROWS):
        d = torch.cdist(flat[start:start + CHUNK_ROWS], flat[:start + CHUNK_ROWS])
        earlier = torch.ones_like(d, dtype=torch.bool).tril(start - 1)   # columns j < row i
        keep.append(~((d < limit) & earlier).any(1))
    return torch.cat(keep).nonzero().squeeze(1)


def mean_joint_speed(windows: torch.Tensor) -> float:
    """Mean displacement (mm per frame) of the joints of root-relative sequences (N,T>=2,16,3) m,
    over joints, frames and sequences (for video pools: generated vs real motion)."""
    if windows.dim() != 4 or tuple(windows.shape[2:]) != (NUM_JOINTS, 3) or windows.shape[1] < 2:
        raise ValueError(f"windows must be (N, T>=2, {NUM_JOINTS}, 3) in metres, "
                         f"got {tuple(windows.shape)}")
    step = torch.diff(root_relative(windows.float()) * 1000, dim=1)
    return float(torch.linalg.vector_norm(step, dim=-1).double().mean())


def _share_within(distance_mm: torch.Tensor, radius: float) -> float:
    return float((distance_mm <= radius).double().mean()) * 100


def precision(fake: torch.Tensor, real: torch.Tensor) -> float:
    """Median MPJPE (mm) from each generated pose (N,16,3) m to its nearest real pose (M,16,3) m.
    Low = the generated poses look like real ones."""
    return float(nearest_distance(fake, real).median())


def coverage(real_heldout: torch.Tensor, fake: torch.Tensor, radius: float) -> float:
    """Share (%) of held-out real poses (N,16,3) m with a generated pose (M,16,3) m within
    ``radius`` mm (MPJPE). High = the generator reaches the whole real distribution."""
    return _share_within(nearest_distance(real_heldout, fake), radius)


def diversity(fake: torch.Tensor, real: torch.Tensor) -> float:
    """Mean pairwise MPJPE of the generated poses / that of the real poses (both (N>=2,16,3) m).
    1 = as spread as the real data; 0 = collapsed to one pose."""
    return mean_pairwise_distance(fake) / mean_pairwise_distance(real)


def saturated_share(angles: torch.Tensor, ranges: torch.Tensor,
                    tolerance: float = SATURATION_TOLERANCE) -> float:
    """Share (%) of angle values within ``tolerance`` x range width of a bound of their range.

    angles (..., D) degrees; ranges (D, 2) degrees (min, max). DOFs with an empty range (fixed
    links) are left out. 0 when no DOF is free.
    """
    ranges = ranges.to(angles.device, torch.float64)
    lo, hi = ranges[:, 0], ranges[:, 1]
    free = hi > lo
    if not bool(free.any()) or angles.numel() == 0:
        return 0.0
    a = angles.detach().double().reshape(-1, ranges.shape[0])[:, free]
    margin = tolerance * (hi - lo)[free]
    hit = (a <= lo[free] + margin) | (a >= hi[free] - margin)
    return float(hit.double().mean()) * 100


def behind_camera_share(pose_cam: torch.Tensor) -> float:
    """Share (%) of poses (N,16,3) camera frame whose root has z <= 0 (behind the camera)."""
    if pose_cam.shape[0] == 0:
        return 0.0
    return float((pose_cam[:, 0, 2] <= 0).double().mean()) * 100


def _figures(fake: torch.Tensor, reference: torch.Tensor, heldout: torch.Tensor,
             real_spread_mm: float) -> dict[str, float]:
    """Precision against ``reference``, coverage of ``heldout`` and diversity of ``fake`` (all m),
    each pairwise block computed once."""
    to_held = nearest_distance(heldout, fake)
    spread = mean_pairwise_distance(fake[:DIVERSITY_SAMPLES]) if fake.shape[0] > 1 else 0.0
    out = {"precision_mm": precision(fake, reference)}
    out.update({f"coverage_{r:g}mm": _share_within(to_held, r) for r in COVERAGE_RADII_MM})
    out.update({"diversity": spread / real_spread_mm, "diversity_mm": spread})
    return out


class GanQuality:
    """Measures one epoch's generated poses against fixed real poses.

    pose3d (N,16,3) camera frame with root and camera (N,16): the real training set (on the
    augmenter's device); templates (T,15) template-order lengths, m. ``seed`` (the augmenters
    pass their generator's initial seed) seeds the CPU generators of this object only, so
    training draws are unchanged and a resumed run measures the same subsets.

    Two sets of up to ``samples`` real poses that share no frame (camera views of one frame
    count as one, see :func:`distinct_rows`) are drawn once and bone-swapped: the *reference*
    (precision, real diversity) and the *held-out* set (coverage). The ``real_*`` figures score
    the held-out poses against the reference: what a generator that samples the real
    distribution would reach with this many poses. ``saturation_ranges`` maps an output key to
    a (36, 2) degree table (33 links, global x, y, z; see function_dhaug/pose_stats.py).
    ``samples`` 0 turns the measurement off (:meth:`measure` returns {}).
    """

    def __init__(self, pose3d: torch.Tensor, camera: torch.Tensor, templates: torch.Tensor,
                 seed: int, saturation_ranges: dict[str, torch.Tensor],
                 samples: int = QUALITY_SAMPLES) -> None:
        n = pose3d.shape[0]
        self.samples = samples
        self.real_figures: dict[str, float] = {}
        if samples == 0:
            return
        if n < 4:
            raise DataError(f"the GAN quality figures need at least 4 training poses, got {n}")
        self.seed = seed
        self.saturation_ranges = saturation_ranges
        rng = torch.Generator().manual_seed(self._seed(-1))
        order = torch.randperm(n, generator=rng)[:CANDIDATES_PER_SAMPLE * 2 * samples]
        order = order.to(pose3d.device)
        order = order[distinct_rows(to_world_frame(pose3d[order], camera[order]))]
        k = len(order) // 2
        if k < 2:
            raise DataError(f"the GAN quality figures need at least 4 distinct training poses, "
                            f"got {len(order)}")
        k = min(samples, k)
        rows = draw_template_rows(2 * k, templates.shape[0], rng).to(pose3d.device)
        picked = order[:2 * k]
        real, _ = real_3d_for_critic(pose3d[picked], camera[picked], templates[rows])
        self.reference, self.heldout = real[:k], real[k:]
        self.real_spread_mm = mean_pairwise_distance(self.reference[:DIVERSITY_SAMPLES])
        # Real poses "generated" from the held-out set: precision against the reference, and how
        # much of the reference k real poses cover (the ceiling of a generator's coverage).
        real = _figures(self.heldout, self.reference, self.reference, self.real_spread_mm)
        self.real_figures = {f"real_{key}": v for key, v in real.items()}

    def _seed(self, epoch: int) -> int:
        return (self.seed * 1_000_003 + _SEED_SALT) * 1_009 + epoch + 1

    def measure(self, epoch: int, pool: PoseSet, angles: torch.Tensor | None = None
                ) -> dict[str, float]:
        """Figures of this epoch's fake pool (pose3d (M,16,3) camera frame, camera (M,16)) and
        its generated angles (K,36) degrees (links then global rotation); {} for an empty pool.

        Keys: precision_mm, coverage_50mm, coverage_100mm (%), diversity (ratio), diversity_mm,
        one key per saturation table (%), roots_behind_camera (%), fake_samples, and the real
        calibration figures real_precision_mm, real_coverage_*, real_diversity, real_diversity_mm.
        """
        m = len(pool)
        if m == 0 or self.samples == 0:
            return {}
        rng = torch.Generator().manual_seed(self._seed(epoch))
        pick = torch.randperm(m, generator=rng)[:self.samples].to(pool.pose3d.device)
        with torch.no_grad():
            fake = root_relative(to_world_frame(pool.pose3d[pick], pool.camera[pick]))
            out = _figures(fake, self.reference, self.heldout, self.real_spread_mm)
            for key, table in self.saturation_ranges.items():
                out[key] = saturated_share(angles, table) if angles is not None else 0.0
            out["roots_behind_camera"] = behind_camera_share(pool.pose3d)
        out["fake_samples"] = float(pick.shape[0])
        return {**out, **self.real_figures}

    @staticmethod
    def scalars(quality: dict[str, float]) -> dict[str, float]:
        """TensorBoard tags ``GAN_quality/<key>`` of a :meth:`measure` result."""
        return {f"{QUALITY_TAG}/{key}": value for key, value in quality.items()}
