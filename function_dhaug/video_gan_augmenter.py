"""Video DH-AUG augmentation: a WGAN-GP over T-frame sequences through the DH kinematics.

One :meth:`VideoGANAugmenter.run_epoch` = the bone-length swap with one template row per
*sequence* (docs/gan.md#bone-swap) + one video GAN epoch over all (sequence, frame) windows in a
fresh random order (docs/video.md#critic-order). Real data seen by the critics: the swapped
ground-truth window (root-relative world 3D, and its exact projection with the sequence's own
camera). It returns the epoch's fake pool: the critic-step fakes as 2D windows (M,T,16,2), their
centre frames in absolute camera coordinates (M,16,3) and the batch camera (M,16).

Several ranks (``ctx``) split every global batch as the single-frame GAN does
(function_dhaug/gan_augmenter.py): whole-batch random draws, averaged gradients and statistics,
the pool gathered in global batch order (docs/distributed.md#randomness).
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from function_baseline.pose_set import PoseSet
from function_baseline.video_windows import VideoWindows
from function_dhaug.bone_swap import (draw_template_rows, real_2d_for_critic, real_3d_for_critic,
                                      swap_bone_lengths)
from function_dhaug.common import (AugmenterBase, average_log, fake_pose_set, generate,
                                   write_scalars)
from function_dhaug.gan_augmenter import ADAM_BETAS, EPOCH_TAG, ITER_TAG
from function_dhaug.gan_quality import GanQuality, mean_joint_speed
from function_dhaug.pose_stats import (DOF_NAMES, GLOBAL_ROT_NAMES, PoseStatistics,
                                      gan_dof_ranges)
from function_dhaug.sampling import draw_camera
from function_dhaug.video_wgan import (VIDEO_GENERATOR_STAT_NAMES, CriticCall, critic_calls,
                                       video_critic_step, video_generator_loss, view)
from function_dhaug.wgan import CRITIC_STAT_NAMES, frozen
from models.gan_discriminators import Critic2D, Critic3D
from models.gan_generator import GeneratedPoses
from models.gan_motion_critics import MotionCritic2D, MotionCritic3D
from models.gan_video_generator import VideoPoseGenerator
from utils.camera import project_to_2d, to_camera_frame, to_world_frame, world_to_screen
from utils.distributed import DistContext, sync_optimizer
from utils.io import DataError
from utils.skeleton import NUM_JOINTS, root_relative, template_to_fk_order

NETWORKS = ("G", "D3", "D2", "DM3", "DM2")
PICTURE_SEQUENCES = 256
QUALITY_SEQUENCES = 256


def write_iteration_scalars(writer: Any, log: list[tuple[int, torch.Tensor]],
                            tags: list[str]) -> None:
    """Write per-iteration device statistics with one host copy: ``log`` holds (global
    iteration, tensor of len(tags) values in any shape); value k is written as ``tags[k]``."""
    if not log:
        return
    values = torch.stack([v.flatten() for _, v in log]).cpu().tolist()
    for (it, _), row in zip(log, values):
        for tag, value in zip(tags, row):
            writer.add_scalar(tag, value, it)


class VideoGANAugmenter(AugmenterBase):
    """Video generator + single-frame and motion critics + their optimisers (one epoch per call).

    train: the real training set with ``sequence`` ids (pose3d camera frame with root, camera
    (N,16)); windows: its :class:`VideoWindows` (T = ``windows.frames``). templates (K,15)
    template-order bone lengths, metres; camera_table (S,4,16) training cameras. generator: CPU
    torch.Generator owned by this object, the only source of randomness (weight init, template
    rows, order, noise, bone scales, cameras, GP alphas), so a resumed run continues exactly.
    ctx: the distributed run (module notes); None = one process.
    """

    def __init__(self, args: argparse.Namespace, train: PoseSet, windows: VideoWindows,
                 templates: torch.Tensor, camera_table: torch.Tensor, device: torch.device,
                 generator: torch.Generator, progress: bool = True,
                 ctx: DistContext | None = None) -> None:
        super().__init__(args, train, templates, camera_table, device, generator, progress, ctx)
        if train.sequence is None or len(windows) != len(train):
            raise DataError(f"video mode needs the training set's sequence ids and windows over "
                            f"its {len(train)} rows (got "
                            f"{'no sequence ids' if train.sequence is None else len(windows)})")
        if windows.frames < 2:
            raise DataError(f"the motion critics need windows of at least 2 frames; --architecture "
                            f"gives {windows.frames}")
        if len(train) < args.batch_size:
            raise DataError(f"the video GAN needs at least --batch_size ({args.batch_size}) "
                            f"training frames (partial batches are skipped), got {len(train)}")
        self.frames = windows.frames
        self.windows = windows.to(self.device)
        run = torch.unique_consecutive(train.sequence, return_inverse=True)[1]
        self.num_sequences = int(run.max()) + 1
        self.run_of_row = run.to(self.device)                 # (N,) sequence index 0..S-1
        self.templates = templates.to(self.device, self.dtype)
        self.camera_table = camera_table.to(self.device, self.dtype)
        t = self.frames
        self.G = VideoPoseGenerator(args.Gen_DenseDim, t, use_pre_angle=args.GAN_whether_use_preAngle,
                                    use_rt=args.whether_use_RT, generator=generator)
        self.D3 = Critic3D(args.Dis_DenseDim_3D, generator=generator)
        self.D2 = Critic2D(args.Dis_DenseDim_2D, generator=generator)
        self.DM3 = MotionCritic3D(args.video_Dis_DenseDim_3D, t,
                                  use_pos_branch=args.motion_Dis_whether_use_3dPos_branch,
                                  use_diff_branch=args.motion_Dis_whether_use_3dDiff_branch,
                                  generator=generator)
        self.DM2 = MotionCritic2D(args.video_Dis_DenseDim_2D, t, generator=generator)
        for name in NETWORKS:
            net = getattr(self, name).to(self.device)
            lr = args.lr_g if name == "G" else args.lr_d
            # Gradients averaged explicitly (GP double backward, DistContext.allreduce_gradients).
            setattr(self, f"opt_{name}", sync_optimizer(
                torch.optim.Adam(net.parameters(), lr=lr, betas=ADAM_BETAS), self.ctx))
        self.global_iter = 0
        self.quality_seed = generator.initial_seed()
        ranges = {"angles_saturated": gan_dof_ranges(args.GAN_whether_use_preAngle)}
        self.quality = GanQuality(self.pose3d, self.camera, self.templates, self.quality_seed,
                                  ranges)
        self.last_quality: dict[str, float] = {}

    # ------------------------------------------------------------------ pieces
    def _critic(self, call: CriticCall) -> tuple[torch.nn.Module, torch.optim.Optimizer]:
        name = ("DM" if call.motion else "D") + call.space[0]
        return getattr(self, name), getattr(self, f"opt_{name}")

    def _generate(self, lengths_fk: torch.Tensor, rng: torch.Generator,
                  sharded: bool = False) -> GeneratedPoses:
        """Generator forward on fresh noise, one bone-scale draw per sequence: lengths (B,15);
        sharded: B is this rank's share of a training batch (whole-batch draws)."""
        return generate(self.G, lengths_fk, self.args.bone_len_scaler, rng, self.device,
                        self.dtype, self.ctx if sharded else None)

    def _window(self, idx: torch.Tensor, template_rows: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Centre rows idx (B,) and one template row per window (B,) -> the windows' camera-frame
        poses (B,T,16,3), cameras (B,T,16) and template lengths (B,T,15), gathered by index."""
        rows = self.windows.rows(idx)
        lengths = self.templates[template_rows].unsqueeze(1).expand(-1, self.frames, -1)
        return self.pose3d[rows], self.camera[rows], lengths

    def _real_for_critics(self, idx: torch.Tensor, template_rows: torch.Tensor
                          ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(swapped real 3D (B,T,16,3) root-relative world, its 2D (B,T,16,2), FK-order lengths
        (B,15) of each window = the generator's lengths for that fake sequence)."""
        pose_cam, cam, lengths = self._window(idx, template_rows)
        real3d, lengths_fk = real_3d_for_critic(pose_cam, cam, lengths)
        return real3d, real_2d_for_critic(pose_cam, cam, lengths), lengths_fk[:, 0]

    def _critic_steps(self, calls: tuple[CriticCall, ...], real: torch.Tensor,
                      fake: torch.Tensor) -> list[torch.Tensor]:
        rng, lam = self.generator, self.args.GAN_LAMBDA
        out = []
        for call in calls:
            critic, opt = self._critic(call)
            out.append(video_critic_step(critic, opt, view(real, call.mirror, call.reverse),
                                         view(fake, call.mirror, call.reverse), call.motion, rng,
                                         lam, self.ctx))
        return out

    def _generator_step(self, lengths_fk: torch.Tensor, camera: torch.Tensor,
                        motion: bool) -> torch.Tensor:
        """One Adam step of G against the frozen critics (motion ones only when ``motion``)."""
        args = self.args
        critics = {"d3": self.D3, "d2": self.D2, "m3": self.DM3, "m2": self.DM2}
        weights = {"d3": args.GAN_3d_loss_weight, "d2": args.GAN_2d_loss_weight,
                   "m3": args.GAN_3d_motion_loss_weight, "m2": args.GAN_2d_motion_loss_weight}
        with frozen(*critics.values()):
            gen = self._generate(lengths_fk, self.generator, sharded=True)
            loss, stats = video_generator_loss(critics, root_relative(gen.world),
                                               world_to_screen(gen.world, camera), weights,
                                               args.flip_GAN_model_input,
                                               args.GAN_video_playback_input, motion)
            self.opt_G.zero_grad(set_to_none=True)
            loss.backward()
            self.opt_G.step()
        return stats

    def epoch_calls(self, epoch: int) -> tuple[CriticCall, ...]:
        """Every critic call of one iteration of ``epoch``, in order (3D group, then 2D)."""
        args = self.args
        motion = epoch >= args.single_dis_warmup_epoch
        flags = (motion, args.flip_GAN_model_input, args.GAN_video_playback_input)
        return critic_calls("3d", *flags) + critic_calls("2d", *flags)

    # ------------------------------------------------------------------ one epoch
    def run_epoch(self, epoch: int, writer: Any = None, image_dir: Path | None = None) -> PoseSet:
        """Bone swap (one template row per sequence) + one video GAN epoch; returns the fake pool.

        ``image_dir`` is accepted for the loop's calling convention only (see
        :meth:`write_pictures`).
        """
        args, dev, rng = self.args, self.device, self.generator
        n, b = len(self.pose3d), args.batch_size
        motion = epoch >= args.single_dis_warmup_epoch
        calls = self.epoch_calls(epoch)
        calls3 = tuple(c for c in calls if c.space == "3d")
        calls2 = tuple(c for c in calls if c.space == "2d")
        sequence_rows = draw_template_rows(self.num_sequences, len(self.templates), rng).to(dev)
        row_template = sequence_rows[self.run_of_row]                     # (N,)
        order = torch.randperm(n, generator=rng).to(dev)
        stats = PoseStatistics()
        critic_log, gen_log, pool2d, pool3d, pool_cam = [], [], [], [], []
        for i in tqdm(range(n // b), desc=f"video GAN epoch {epoch}", leave=False,
                      disable=not (self.progress and self.ctx.is_main)):
            it = self.global_iter
            idx = self.ctx.shard(order[i * b:(i + 1) * b])
            real3d, real2d, lengths_fk = self._real_for_critics(idx, row_template[idx])
            with torch.no_grad():
                fake = self._generate(lengths_fk, rng, sharded=True)
            steps = self._critic_steps(calls3, real3d, root_relative(fake.world))
            camera = draw_camera(self.camera_table, rng)
            fake_cam = to_camera_frame(fake.world, camera)                 # (B,T,16,3)
            fake2d = project_to_2d(fake_cam, camera)                       # (B,T,16,2)
            steps += self._critic_steps(calls2, real2d, fake2d)
            critic_log.append((it, torch.stack(steps)))
            if it % args.df == args.df - 1:
                gen_log.append((it, self._generator_step(lengths_fk, camera, motion)))
            stats.update(*(x.flatten(0, 1) for x in (fake.world, fake.angles, fake.global_rot,
                                                      fake_cam)))
            pool2d.append(fake2d)
            pool3d.append(fake_cam[:, self.windows.pad])
            pool_cam.append(camera.expand(len(idx), -1))
            self.global_iter += 1
        stats.merge_ranks(self.ctx)
        self._log(writer, epoch, calls, average_log(self.ctx, critic_log),
                  average_log(self.ctx, gen_log), stats)
        if not pool2d:
            t = self.frames
            return fake_pose_set(self.pose3d.new_zeros(0, t, NUM_JOINTS, 2),
                                 self.pose3d.new_zeros(0, NUM_JOINTS, 3),
                                 self.pose3d.new_zeros(0, 16))
        pool = fake_pose_set(*self.ctx.gather_batch_fields(
            [torch.cat(p) for p in (pool2d, pool3d, pool_cam)], len(pool2d)))
        if self.ctx.is_main:  # the pool is the same on every rank: measure it once
            self.last_quality = self._measure_quality(epoch, pool)
            write_scalars(writer, GanQuality.scalars(self.last_quality), epoch)
        return pool

    @torch.no_grad()
    def _measure_quality(self, epoch: int, pool: PoseSet) -> dict[str, float]:
        """The single-frame figures on the pool's centre frames, plus the mean joint speed
        (mm/frame) of generated against real sequences, from a generator of their own."""
        quality = self.quality.measure(epoch, pool)
        rng = torch.Generator().manual_seed(self.quality_seed * 7919 + epoch)
        n = min(QUALITY_SEQUENCES, len(self.pose3d))
        quality["fake_joint_speed_mm"] = mean_joint_speed(self.sample_sequences(n, rng))
        quality["real_joint_speed_mm"] = mean_joint_speed(self.sample_real_sequences(n, rng))
        return quality

    def _log(self, writer: Any, epoch: int, calls: tuple[CriticCall, ...], critic_log: list,
             gen_log: list, stats: PoseStatistics) -> None:
        """Move the epoch's per-iteration statistics to the host once and write them."""
        if writer is None:
            return
        critic_tags = [f"{ITER_TAG}/{c.tag}_{stat}" for c in calls for stat in CRITIC_STAT_NAMES[:4]]
        write_iteration_scalars(writer, [(it, v[:, :4]) for it, v in critic_log], critic_tags)
        write_iteration_scalars(writer, gen_log,
                                [f"{ITER_TAG}/G_{stat}" for stat in VIDEO_GENERATOR_STAT_NAMES])
        write_scalars(writer, stats.scalars(EPOCH_TAG), epoch)

    # ------------------------------------------------------------------ samples, pictures
    def _random_windows(self, n: int, rng: torch.Generator
                        ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """n random training windows with random template rows: swapped camera-frame poses
        (n,T,16,3), cameras (n,T,16), FK-order lengths (n,15)."""
        idx = torch.randint(len(self.pose3d), (n,), generator=rng).to(self.device)
        rows = draw_template_rows(n, len(self.templates), rng).to(self.device)
        pose_cam, cam, lengths = self._window(idx, rows)
        return swap_bone_lengths(pose_cam, lengths), cam, template_to_fk_order(lengths[:, 0])

    @torch.no_grad()
    def _sample_fakes(self, n: int, rng: torch.Generator) -> GeneratedPoses:
        return self._generate(self._random_windows(n, rng)[2], rng)

    def sample_sequences(self, n: int, rng: torch.Generator) -> torch.Tensor:
        """n generated sequences (n,T,16,3), world metres with root, drawn from ``rng`` only (the
        training stream is untouched); lengths: random templates, scaled as in training."""
        return self._sample_fakes(n, rng).world

    @torch.no_grad()
    def sample_real_sequences(self, n: int, rng: torch.Generator) -> torch.Tensor:
        """n real training windows (n,T,16,3) as the critics see them (random template lengths)
        but in the world frame with the root: the reference for :meth:`sample_sequences`."""
        pose_cam, cam, _ = self._random_windows(n, rng)
        return to_world_frame(pose_cam, cam)

    def write_pictures(self, epoch: int, image_dir: Path, writer: Any = None) -> list[Path]:
        """PNG strip of a generated sequence beside a real one (3D world and 2D) and per-DOF
        angle histograms of the generated frames. Uses its own generator seeded by ``epoch``, so
        the training stream is untouched."""
        from function_dhaug.video_pictures import sequence_strip_figure
        from function_dhaug.visualise import angle_histogram_figure, write_figure
        rng = torch.Generator().manual_seed(7919 * (epoch + 1))
        fake = self._sample_fakes(PICTURE_SEQUENCES, rng)
        real_cam, cam, _ = self._random_windows(1, rng)
        camera = draw_camera(self.camera_table, rng)
        strip = sequence_strip_figure(fake.world[0], world_to_screen(fake.world[0], camera),
                                      to_world_frame(real_cam[0], cam[0]),
                                      project_to_2d(real_cam[0], cam[0]))
        angles = torch.cat([fake.angles, fake.global_rot], dim=-1).flatten(0, 1)
        hist = angle_histogram_figure(angles, DOF_NAMES + GLOBAL_ROT_NAMES,
                                      gan_dof_ranges(self.args.GAN_whether_use_preAngle))
        image_dir = Path(image_dir)
        return [write_figure(strip, image_dir / f"gan_video_epoch{epoch:03d}.png", writer,
                             "DHAUG/video", epoch),
                write_figure(hist, image_dir / f"gan_video_angles_epoch{epoch:03d}.png", writer,
                             "DHAUG/video_angle_histograms", epoch)]

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict:
        """Networks, optimisers, global iteration counter and the owned generator's RNG state."""
        state = {name: getattr(self, name).state_dict() for name in NETWORKS}
        state.update({f"opt_{name}": getattr(self, f"opt_{name}").state_dict()
                      for name in NETWORKS})
        state.update(global_iter=self.global_iter, rng_state=self.generator.get_state())
        return state

    def load_gan_weights(self, state: dict) -> None:
        """Restore networks and optimisers only (for --GAN_resume)."""
        try:
            for name in NETWORKS:
                getattr(self, name).load_state_dict(state[name])
                getattr(self, f"opt_{name}").load_state_dict(state[f"opt_{name}"])
        except (KeyError, RuntimeError, ValueError) as exc:
            raise DataError(f"GAN checkpoint does not match this video GAN (--Gen_DenseDim, "
                            f"--Dis_DenseDim_3D/2D, --video_Dis_DenseDim_3D/2D, --architecture, "
                            f"--motion_Dis_whether_use_3dPos_branch/_3dDiff_branch): {exc}") from None

    def load_state_dict(self, state: dict) -> None:
        """Restore everything :meth:`state_dict` saved (exact continuation of a run)."""
        self.load_gan_weights(state)
        self.global_iter = int(state["global_iter"])
        self.generator.set_state(state["rng_state"])
