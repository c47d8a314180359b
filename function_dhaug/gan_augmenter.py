"""Single-frame DH-AUG augmentation by a WGAN-GP through the DH forward kinematics.

One :meth:`GANAugmenter.run_epoch` = the bone-length swap of the real training poses
(docs/gan.md#bone-swap: a template row per sample, applied batch by batch) + one GAN epoch
(docs/gan.md#iteration). It returns the epoch's fake pool
(the step-2 fakes: absolute camera-frame 3D, normalised 2D, the iteration's camera) as a PoseSet.

Several ranks (``ctx``): every rank draws the random numbers of the whole global batch and works on
its slice of it; the optimisers average the gradients before each step, the statistics are
averaged before logging and the fake pool is gathered in global batch order, so every rank holds
the networks and the pool of the 1-rank run (docs/distributed.md#randomness).
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from function_baseline.pose_set import PoseSet
from function_dhaug.bone_swap import draw_template_rows, real_2d_for_critic, real_3d_for_critic
from function_dhaug.common import (AugmenterBase, average_log, empty_fake_pose_set,
                                   fake_pose_set, generate, write_scalars)
from function_dhaug.gan_quality import GanQuality
from function_dhaug.pose_stats import (DOF_NAMES, GLOBAL_ROT_NAMES, PoseStatistics,
                                      gan_dof_ranges)
from function_dhaug.sampling import draw_alpha, draw_camera
from function_dhaug.wgan import (CRITIC_STAT_NAMES, GENERATOR_STAT_NAMES, critic_step, frozen,
                                 generator_loss)
from models.gan_discriminators import Critic2D, Critic3D
from models.gan_generator import GeneratedPoses, PoseGenerator
from utils.camera import project_to_2d, to_camera_frame, world_to_screen
from utils.distributed import DistContext, sync_optimizer
from utils.io import DataError
from utils.skeleton import flip_pose, root_relative

ADAM_BETAS = (0.5, 0.9)
ITER_TAG = "train_G_iter_PoseFk"
EPOCH_TAG = "GAN_epoch"
# Critic calls of one iteration, in order, and their TensorBoard names (mirrored calls share a tag).
CRITIC_CALLS = ("Fk_d3d", "Fk_d3d", "d2d", "d2d")
PICTURE_SAMPLES = 4
HISTOGRAM_SAMPLES = 2048


class GANAugmenter(AugmenterBase):
    """Generator + 3D/2D critics + their optimisers, trained one epoch per :meth:`run_epoch`.

    train: the pose net's real training set (pose3d camera frame with root, camera (N,16)).
    templates: (T,15) template-order bone lengths, metres. camera_table: (S,4,16) cameras of the
    training subjects. generator: CPU torch.Generator owned by this object: weight init, noise,
    template rows, shuffles, camera, bone scales and GP alphas are all drawn from it.
    ctx: the distributed run (module notes); None = one process.
    """

    def __init__(self, args: argparse.Namespace, train: PoseSet, templates: torch.Tensor,
                 camera_table: torch.Tensor, device: torch.device, generator: torch.Generator,
                 progress: bool = True, ctx: DistContext | None = None) -> None:
        super().__init__(args, train, templates, camera_table, device, generator, progress, ctx)
        if len(train) < args.batch_size:
            raise DataError(f"the GAN needs at least --batch_size ({args.batch_size}) training "
                            f"samples (partial batches are skipped), got {len(train)}")
        self.templates = templates.to(self.device, self.dtype)
        self.camera_table = camera_table.to(self.device, self.dtype)
        self.G = PoseGenerator(args.Gen_DenseDim, use_pre_angle=args.GAN_whether_use_preAngle,
                               use_rt=args.whether_use_RT, generator=generator).to(self.device)
        self.D3 = Critic3D(args.Dis_DenseDim_3D, generator=generator).to(self.device)
        self.D2 = Critic2D(args.Dis_DenseDim_2D, generator=generator).to(self.device)
        # Explicit gradient averaging, not DDP: the critic steps' gradient penalty is a double
        # backward (see DistContext.allreduce_gradients).
        self.opt_G = sync_optimizer(torch.optim.Adam(self.G.parameters(), lr=args.lr_g,
                                                     betas=ADAM_BETAS), self.ctx)
        self.opt_D3 = sync_optimizer(torch.optim.Adam(self.D3.parameters(), lr=args.lr_d,
                                                      betas=ADAM_BETAS), self.ctx)
        self.opt_D2 = sync_optimizer(torch.optim.Adam(self.D2.parameters(), lr=args.lr_d,
                                                      betas=ADAM_BETAS), self.ctx)
        self.global_iter = 0
        # Per-epoch realism/diversity figures of the pool (own RNG: training draws unchanged).
        ranges = gan_dof_ranges(args.GAN_whether_use_preAngle)
        self.quality = GanQuality(self.pose3d, self.camera, self.templates,
                                  generator.initial_seed(), {"angles_saturated": ranges})
        self.last_quality: dict[str, float] = {}

    # ------------------------------------------------------------------ generation
    def _generate(self, lengths_fk: torch.Tensor, rng: torch.Generator,
                  sharded: bool = False) -> GeneratedPoses:
        """Generator forward on fresh noise and freshly scaled ``lengths_fk`` (B,15); sharded:
        B is this rank's share of a training batch (draws of the whole batch, common.generate)."""
        return generate(self.G, lengths_fk, self.args.bone_len_scaler, rng, self.device,
                        self.dtype, self.ctx if sharded else None)

    def _critic_steps(self, critic: torch.nn.Module, opt: torch.optim.Optimizer,
                      real: torch.Tensor, fake: torch.Tensor) -> list[torch.Tensor]:
        """One critic step, plus one on the mirrored pair with --flip_GAN_model_input."""
        pairs = [(real, fake)]
        if self.args.flip_GAN_model_input:
            pairs.append((flip_pose(real), flip_pose(fake)))
        return [critic_step(critic, opt, r, f, self._alpha(r.shape[0]), self.args.GAN_LAMBDA)
                for r, f in pairs]

    def _alpha(self, rows: int) -> torch.Tensor:
        """GP alphas of this rank's ``rows`` rows (drawn for the whole global batch)."""
        return self.ctx.draw_global(
            lambda n: draw_alpha(n, self.generator, self.device, self.dtype), rows)

    def _generator_step(self, lengths_fk: torch.Tensor, camera: torch.Tensor) -> torch.Tensor:
        """One Adam step of G against both (frozen) critics; returns detached generator stats."""
        args = self.args
        with frozen(self.D3, self.D2):
            gen = self._generate(lengths_fk, self.generator, sharded=True)
            fake2d = world_to_screen(gen.world, camera)
            loss, stats = generator_loss(self.D3, self.D2, root_relative(gen.world), fake2d,
                                         args.GAN_3d_loss_weight, args.GAN_2d_loss_weight,
                                         args.flip_GAN_model_input)
            self.opt_G.zero_grad(set_to_none=True)
            loss.backward()
            self.opt_G.step()
        return stats

    # ------------------------------------------------------------------ one epoch
    def run_epoch(self, epoch: int, writer: Any = None, image_dir: Path | None = None) -> PoseSet:
        """Bone swap + one GAN epoch (docs/gan.md#iteration); returns this epoch's fake pool.

        ``image_dir`` is accepted for the loop's calling convention only: pictures are written by
        :meth:`write_pictures`, which the loop calls when they are due.
        """
        args, dev, rng = self.args, self.device, self.generator
        n, b = len(self.pose3d), args.batch_size
        rows = draw_template_rows(n, len(self.templates), rng).to(dev)
        order3d = torch.randperm(n, generator=rng).to(dev)
        order2d = torch.randperm(n, generator=rng).to(dev)
        stats = PoseStatistics()
        critic_log, gen_log = [], []
        pool3d, pool2d, pool_cam, pool_angles = [], [], [], []
        for i in tqdm(range(n // b), desc=f"GAN epoch {epoch}", leave=False,
                      disable=not (self.progress and self.ctx.is_main)):
            it = self.global_iter
            idx3 = self.ctx.shard(order3d[i * b:(i + 1) * b])
            idx2 = self.ctx.shard(order2d[i * b:(i + 1) * b])
            real3d, lengths_fk = real_3d_for_critic(self.pose3d[idx3], self.camera[idx3],
                                                    self.templates[rows[idx3]])
            real2d = real_2d_for_critic(self.pose3d[idx2], self.camera[idx2],
                                        self.templates[rows[idx2]])
            with torch.no_grad():
                fake = self._generate(lengths_fk, rng, sharded=True)
            steps = self._critic_steps(self.D3, self.opt_D3, real3d, root_relative(fake.world))
            camera = draw_camera(self.camera_table, rng)
            fake_cam = to_camera_frame(fake.world, camera)
            fake2d = project_to_2d(fake_cam, camera)
            steps += self._critic_steps(self.D2, self.opt_D2, real2d, fake2d)
            critic_log.append((it, torch.stack(steps)))
            if it % args.df == args.df - 1:
                gen_log.append((it, self._generator_step(lengths_fk, camera)))
            stats.update(fake.world, fake.angles, fake.global_rot, fake_cam)
            pool3d.append(fake_cam)
            pool2d.append(fake2d)
            pool_cam.append(camera.expand(len(idx3), -1))
            pool_angles.append(torch.cat([fake.angles, fake.global_rot], dim=-1))
            self.global_iter += 1
        stats.merge_ranks(self.ctx)
        self._log(writer, epoch, average_log(self.ctx, critic_log),
                  average_log(self.ctx, gen_log), stats)
        if not pool3d:
            return empty_fake_pose_set(dev, self.dtype)
        parts = self.ctx.gather_batch_fields(
            [torch.cat(p) for p in (pool2d, pool3d, pool_cam, pool_angles)], len(pool3d))
        pool = fake_pose_set(*parts[:3])
        if self.ctx.is_main:  # the pool is the same on every rank: measure it once
            self.last_quality = self.quality.measure(epoch, pool, parts[3])
            write_scalars(writer, GanQuality.scalars(self.last_quality), epoch)
        return pool

    def _log(self, writer: Any, epoch: int, critic_log: list, gen_log: list,
             stats: PoseStatistics) -> None:
        """Move the epoch's per-iteration statistics to the host once and write them."""
        if writer is None:
            return
        flip = self.args.flip_GAN_model_input
        calls = CRITIC_CALLS if flip else CRITIC_CALLS[::2]
        if critic_log:
            values = torch.stack([v for _, v in critic_log]).cpu()          # (I, calls, 5)
            for (it, _), row in zip(critic_log, values):
                for name, vals in zip(calls, row):
                    for stat, v in zip(CRITIC_STAT_NAMES[:4], vals[:4]):
                        writer.add_scalar(f"{ITER_TAG}/{name}_{stat}", float(v), it)
        if gen_log:
            values = torch.stack([v for _, v in gen_log]).cpu()
            for (it, _), row in zip(gen_log, values):
                for stat, v in zip(GENERATOR_STAT_NAMES, row):
                    writer.add_scalar(f"{ITER_TAG}/G_{stat}", float(v), it)
        write_scalars(writer, stats.scalars(EPOCH_TAG), epoch)

    # ------------------------------------------------------------------ pictures
    def write_pictures(self, epoch: int, image_dir: Path, writer: Any = None) -> list[Path]:
        """PNG grid of generated vs real skeletons (3D and 2D) and per-DOF angle histograms.

        Uses its own generator seeded by ``epoch`` so the training stream is untouched.
        """
        from function_dhaug.visualise import angle_histogram_figure, pose_grid_figure, write_figure
        rng = torch.Generator().manual_seed(7919 * (epoch + 1))
        m = min(HISTOGRAM_SAMPLES, len(self.pose3d))
        idx = torch.randint(len(self.pose3d), (m,), generator=rng).to(self.device)
        rows = draw_template_rows(m, len(self.templates), rng).to(self.device)
        real3d, lengths_fk = real_3d_for_critic(self.pose3d[idx], self.camera[idx],
                                                self.templates[rows])
        real2d = real_2d_for_critic(self.pose3d[idx], self.camera[idx], self.templates[rows])
        with torch.no_grad():
            fake = self._generate(lengths_fk, rng)
            camera = draw_camera(self.camera_table, rng)
            fake2d = world_to_screen(fake.world, camera)
        k = min(PICTURE_SAMPLES, m)
        image_dir = Path(image_dir)
        grid = pose_grid_figure(root_relative(fake.world[:k]), fake2d[:k], real3d[:k], real2d[:k])
        hist = angle_histogram_figure(torch.cat([fake.angles, fake.global_rot], dim=-1),
                                      DOF_NAMES + GLOBAL_ROT_NAMES,
                                      gan_dof_ranges(self.args.GAN_whether_use_preAngle))
        return [write_figure(grid, image_dir / f"gan_poses_epoch{epoch:03d}.png", writer,
                             "DHAUG/poses", epoch),
                write_figure(hist, image_dir / f"gan_angles_epoch{epoch:03d}.png", writer,
                             "DHAUG/angle_histograms", epoch)]

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict:
        """Networks, optimisers, global iteration counter and the owned generator's RNG state."""
        return {"G": self.G.state_dict(), "D3": self.D3.state_dict(), "D2": self.D2.state_dict(),
                "opt_G": self.opt_G.state_dict(), "opt_D3": self.opt_D3.state_dict(),
                "opt_D2": self.opt_D2.state_dict(), "global_iter": self.global_iter,
                "rng_state": self.generator.get_state()}

    def load_gan_weights(self, state: dict) -> None:
        """Restore networks and optimisers only (for --GAN_resume)."""
        try:
            self.G.load_state_dict(state["G"])
            self.D3.load_state_dict(state["D3"])
            self.D2.load_state_dict(state["D2"])
            self.opt_G.load_state_dict(state["opt_G"])
            self.opt_D3.load_state_dict(state["opt_D3"])
            self.opt_D2.load_state_dict(state["opt_D2"])
        except (KeyError, RuntimeError, ValueError) as exc:
            raise DataError(f"GAN checkpoint does not match this GAN (--Gen_DenseDim, "
                            f"--Dis_DenseDim_3D, --Dis_DenseDim_2D): {exc}") from None

    def load_state_dict(self, state: dict) -> None:
        """Restore everything :meth:`state_dict` saved (exact continuation of a run)."""
        self.load_gan_weights(state)
        self.global_iter = int(state["global_iter"])
        self.generator.set_state(state["rng_state"])

