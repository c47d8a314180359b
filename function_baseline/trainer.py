"""The state of a training run and the steps an epoch is made of.

:class:`Trainer` owns the data, the pose net (and its evaluation copy), its optimiser, the
augmenter, the run folder and its logs. The loop in run_fk_gan.py calls its steps in the order
:func:`function_baseline.epoch_plan.plan_epoch` gives; single-frame, video and distributed runs
share these steps (docs/training.md#epoch-loop). ``state()`` / ``restore()`` make ``--resume``
exact (docs/training.md#resume).
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from function_baseline.data_preparation import load_datasets
from function_baseline.epoch_plan import EpochPlan, total_epochs
from function_baseline.evaluate import evaluate_3dhp, evaluate_h36m
from function_baseline.model_pos_preparation import (build_lifter, build_lifter_pair,
                                                    count_parameters)
from function_baseline.pose_set import PoseSet
from function_baseline.pw3d_set import evaluate_3dpw
from function_baseline.reporting import (closing_lines, epoch_line, format_table,
                                         log_evaluation, metric_values)
from function_baseline.run_mode import RunMode, run_mode
from function_baseline.train import train_epoch
from function_baseline.video_data import BatchSource, filter_over_200mm
from function_dhaug.augmenters import build_augmenter
from function_baseline.epoch_plan import plan_epoch
from utils.acceleration import autocast_forward_, maybe_compile
from utils.checkpoint import load_checkpoint, load_model_weights, save_checkpoint
from utils.device import resolve_device
from utils.finite import (FiniteGuard, NonFiniteError, divergence_hint, finite_fake_pool,
                          first_non_finite)
from utils.io import DataError, remove_stale_temporaries
from utils.distributed import DistContext, check_batch_size, convert_batchnorm, init_distributed
from utils.logger import LOG_HEADER, NullRunLog, NullWriter, RunLog, make_run_dir, summary_writer
from utils.run_folder import LAST_FILE, check_resume_flags, resume_target
from utils.validate import check_trains_something
from utils.seed import global_rng_state, make_generator, seed_everything, set_global_rng_state

BEST_FILES = {"h36m_p1": "ckpt_best_h36m_p1.pth.tar", "dhp_p1": "ckpt_best_dhp_p1.pth.tar"}
# Augmenter state keys of the networks, as the divergence message names them.
GAN_NETWORKS = {"G": "generator", "D3": "3D critic", "D2": "2D critic", "DM3": "3D motion critic",
                "DM2": "2D motion critic"}


def build_models(args: argparse.Namespace, device: torch.device
                 ) -> tuple[torch.nn.Module, torch.nn.Module]:
    """(training pose net, evaluation copy): global-RNG Kaiming init as the original, or the
    --pretrain weights. Single-frame lifters evaluate the training module itself; video lifters
    have a separate evaluation form (dilated TCN / PoseFormer without drop-path) sharing the
    state dict (docs/lifters.md#temporal-lifters)."""
    if run_mode(args).video:
        model, eval_model = build_lifter_pair(args)
    else:
        model = eval_model = build_lifter(args)
    if args.pretrain:
        state = load_checkpoint(args.pretrain_path, trust=args.trust_checkpoint)
        load_model_weights(model, state["model_pos"], args.pretrain_path)
    return model.to(device), eval_model.to(device)


def evaluate_all(model: torch.nn.Module, data, args: argparse.Namespace,
                 ctx: DistContext | None = None) -> dict:
    """H36M (and 3DHP / 3DPW when present) metrics of the evaluation form ``model``, sharded
    over the ranks of ``ctx`` (docs/evaluation.md#protocol, docs/video.md#video-evaluation)."""
    frames = run_mode(args).eval_frames
    out = {"h36m": evaluate_h36m(model, data.test_h36m, frames=frames, ctx=ctx), "dhp": None}
    if data.test_3dhp is not None:
        out["dhp"] = evaluate_3dhp(model, data.test_3dhp, args.pck_joints, frames=frames, ctx=ctx)
    if data.test_3dpw is not None:
        out["3dpw"] = evaluate_3dpw(model, data.test_3dpw, frames=frames, ctx=ctx)
    return out


class Trainer:
    """Every piece of run state, built once from the parsed flags."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.mode: RunMode = run_mode(args)
        # One process per GPU under torchrun, or a single process (docs/distributed.md#launch).
        self.ctx = init_distributed(resolve_device(args.device, args.gpu_id))
        self.device = self.ctx.device
        check_batch_size(args.batch_size, self.ctx.world_size)
        self.total_epochs = total_epochs(args)
        # Everything that can refuse the run is read and checked before any data loads and
        # before a run folder is made (docs/training.md#resume).
        resume = self._read_resume() if args.resume else None
        gan_state = self._read_gan_resume() if args.GAN_resume else None
        check_trains_something(args, self.total_epochs, lambda e: plan_epoch(e, args).trains,
                               int(resume["epoch"]) if resume else 0)
        seed_everything(args.random_seed)
        data = load_datasets(args)
        if self.mode.video and args.video_over_200mm:
            data.train = filter_over_200mm(data.train)
        self.model, self.eval_model = self._distributed_models(*build_models(args, self.device))
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=args.lr_p)
        self.batch_gen = make_generator(args.random_seed, 0)
        self.augmenter = self._build_augmenter(data)
        self.data = data.to(self.device)
        self.real = self.mode.source(self.data.train)
        self.guard = FiniteGuard(args)
        self.start_epoch = -args.gan_pretrain_epochs      # negative epochs: GAN pre-training
        self.best: dict = {"h36m_p1": None, "dhp_p1": None}
        self.last_res: dict | None = None
        self._epoch_start = 0.0
        if gan_state is not None:
            self.augmenter.load_gan_weights(gan_state)
        self.run_dir, self.log = self._open_run_folder(resume)
        self.writer = summary_writer(self.run_dir) if self.ctx.is_main else NullWriter()
        self.say(f"run folder: {self.run_dir}  device: {self.device}  "
                 f"train samples: {len(self.data.train)}"
                 + (f"  processes: {self.ctx.world_size}" if self.ctx.distributed else ""))

    def say(self, text: str) -> None:
        """Console output, from the main process only."""
        if self.ctx.is_main:
            print(text)

    # ----------------------------------------------------------------- construction
    def _build_augmenter(self, data):
        augmenter = build_augmenter(self.args, data.train, data.templates, data.camera_table,
                                    self.device, make_generator(self.args.random_seed, 1),
                                    progress=self.ctx.is_main, ctx=self.ctx)
        if augmenter is not None and hasattr(augmenter, "G"):
            # the critics stay eager: their gradient penalty needs a double backward
            maybe_compile(augmenter.G, self.args.compile, self.device)
        return augmenter

    def _distributed_models(self, model, eval_model):
        """--amp / --compile applied; batch statistics synchronised over the ranks; every rank
        starts from the same weights (same seed) and then draws its own dropout masks
        (docs/distributed.md#randomness)."""
        for module in {id(model): model, id(eval_model): eval_model}.values():
            autocast_forward_(module, self.device, self.args.amp)
            maybe_compile(module, self.args.compile, self.device)
        if not self.ctx.distributed:
            return model, eval_model
        synced = convert_batchnorm(model, self.ctx)
        torch.manual_seed(self.args.random_seed + 1000003 * self.ctx.rank)
        return synced, synced if eval_model is model else eval_model

    def _read_resume(self) -> dict:
        args = self.args
        ckpt = load_checkpoint(args.resume, ("model_pos", "optimizer", "epoch", "log"),
                               trust=args.trust_checkpoint)
        check_resume_flags(ckpt.get("args") or {}, args, args.resume)
        return ckpt

    def _read_gan_resume(self) -> dict:
        args = self.args
        if args.data_enhancement_method != "GAN":
            raise DataError("--GAN_resume needs --data_enhancement_method GAN")
        state = load_checkpoint(args.GAN_resume, ("augmenter",), trust=args.trust_checkpoint)
        if not state["augmenter"]:
            raise DataError(f"--GAN_resume {args.GAN_resume} holds no GAN (its run was not a GAN run)")
        return state["augmenter"]

    def _open_run_folder(self, resume: dict | None) -> tuple[Path, RunLog]:
        """A new run folder; or, resuming, the checkpoint's folder (from ckpt_last in its own
        run) or a fork next to it (any other checkpoint: its folder is never touched)."""
        args, main = self.args, self.ctx.is_main
        if resume is not None:
            self.restore(resume)
            target = resume_target(args.resume, self.start_epoch, resume["log"]["text_lines"]) \
                if main else None
            run_dir, forked = self.ctx.broadcast_object(target)
            removed = [] if forked or not main else (remove_stale_temporaries(run_dir)
                                                     + remove_stale_temporaries(run_dir / "tmp"))
            log = RunLog(run_dir, **resume["log"]) if main else NullRunLog(run_dir, **resume["log"])
            log.text(f"resumed from {args.resume} at epoch {self.start_epoch}")
            if forked:
                log.text(f"forked into a new run folder: {args.resume} is not this run's "
                         f"{LAST_FILE}, so its folder is left untouched")
            for path in removed:
                log.text(f"removed {path.name}, left by an interrupted checkpoint write")
            return run_dir, log
        run_dir = self.ctx.broadcast_object(
            make_run_dir(args.checkpoint, args.posenet_name, args.keypoints, args.note)
            if main else None)
        log = RunLog(run_dir) if main else NullRunLog(run_dir)
        log.text(str(args))
        log.text(str(self.model))
        log.text(f"pose net parameters: {count_parameters(self.model)}")
        log.text(LOG_HEADER)
        return run_dir, log

    # ----------------------------------------------------------------- state
    def state(self, next_epoch: int) -> dict:
        return {"epoch": next_epoch, "model_pos": self.model.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "augmenter": self.augmenter.state_dict() if self.augmenter else None,
                "batch_gen": self.batch_gen.get_state(), "rng": global_rng_state(),
                "world_size": self.ctx.world_size,
                "rng_ranks": self.ctx.gather_objects(global_rng_state()),
                "best": dict(self.best), "last_res": self.last_res,
                "args": vars(self.args), "log": self.log.state()}

    def restore(self, ckpt: dict) -> None:
        load_model_weights(self.model, ckpt["model_pos"], self.args.resume)
        self.optimizer.load_state_dict(ckpt["optimizer"])
        if self.augmenter is not None and ckpt.get("augmenter") is not None:
            self.augmenter.load_state_dict(ckpt["augmenter"])
        self.batch_gen.set_state(ckpt["batch_gen"])
        saved_world = int(ckpt.get("world_size", 1))
        if saved_world == self.ctx.world_size:
            set_global_rng_state(ckpt.get("rng_ranks", [ckpt["rng"]])[self.ctx.rank])
        else:
            set_global_rng_state(ckpt["rng"])
            self.say(f"warning: {self.args.resume} was written by a {saved_world}-process run; "
                     f"continuing on {self.ctx.world_size}: the same training up to floating-point "
                     f"reduction order, but other dropout masks than an uninterrupted run")
        self.best = ckpt["best"]
        self.last_res = ckpt["last_res"]
        self.start_epoch = int(ckpt["epoch"])
        old = ckpt.get("args") or {}
        differ = sorted(k for k, v in vars(self.args).items()
                        if k not in ("resume", "GAN_resume", "trust_checkpoint")
                        and k in old and old[k] != v)
        if differ:
            self.say(f"warning: --resume with flags that differ from the checkpoint: {differ}")

    # ----------------------------------------------------------------- the steps of an epoch
    def begin_epoch(self, plan: EpochPlan) -> None:
        """Start the clock and set the pose net's learning rate for this epoch."""
        self._epoch_start = time.time()
        for group in self.optimizer.param_groups:
            group["lr"] = plan.lr

    def augment(self, plan: EpochPlan) -> BatchSource | None:
        """Pose-net batches of a fresh fake pool from the augmenter (a GAN epoch or a 'normal'
        draw), or None."""
        if self.augmenter is None or not plan.augment:
            return None
        first_iter = getattr(self.augmenter, "global_iter", None)
        fake = self.augmenter.run_epoch(plan.epoch, self.writer, self.run_dir / "tmp")
        self._check_gan(plan.epoch, first_iter)
        fake = finite_fake_pool(fake, plan.epoch, self.args, self.log.text)
        self._report_quality(plan.epoch)
        return self.mode.source(fake.to(self.device))

    def _report_quality(self, epoch: int) -> None:
        """The augmenter's diagnostics of this epoch's fake poses (function_dhaug/gan_quality.py):
        one metrics.jsonl entry (tag ``_gan_quality``) and one console line."""
        q = getattr(self.augmenter, "last_quality", None)
        if not q:
            return
        self.log.record({"epoch": epoch, "tag": "_gan_quality", "gan_quality": q})
        self.say(f"epoch {epoch} fake poses: precision {q['precision_mm']:.0f} mm, coverage "
                 f"{q['coverage_50mm']:.1f} % within 50 mm / {q['coverage_100mm']:.1f} % within "
                 f"100 mm, diversity {q['diversity']:.2f} x real, saturated angles "
                 f"{q.get('angles_saturated', 0.0):.1f} %, roots behind camera "
                 f"{q['roots_behind_camera']:.1f} %"
                 + (f", joint speed {q['fake_joint_speed_mm']:.1f} mm/frame (real "
                    f"{q['real_joint_speed_mm']:.1f})" if "fake_joint_speed_mm" in q else ""))

    def _check_gan(self, epoch: int, first_iter: int | None) -> None:
        """One host sync per GAN epoch: stop on the first network whose weights went NaN/inf."""
        if first_iter is None:
            return
        state = self.augmenter.state_dict()
        for key, network in GAN_NETWORKS.items():
            if key in state and first_non_finite(state[key]) is not None:
                raise NonFiniteError(
                    f"the {network} became non-finite during GAN iterations {first_iter}.."
                    f"{self.augmenter.global_iter - 1} of epoch {epoch}: training diverged; "
                    f"{divergence_hint(network, self.args)}. No checkpoint with non-finite "
                    f"values was written (the last good {LAST_FILE} is kept)")

    def train_pass(self, source: BatchSource, plan: EpochPlan, name: str) -> dict:
        """One pose-net pass over ``source`` (the fake pool or the real training set); its
        losses are checked for NaN/inf once, at the end of the pass."""
        out = train_epoch(self.model, self.optimizer, source, self.args, self.batch_gen,
                          desc=f"epoch {plan.epoch} {name}",
                          after_backward=lambda _, loss: self.guard.observe("pose net", loss,
                                                                            plan.epoch),
                          ctx=self.ctx)
        self.guard.check(f"after the {name} pass")
        return out

    def evaluate(self, plan: EpochPlan, tag: str) -> dict:
        """Evaluate on every test set; TensorBoard, metrics.jsonl, and for ``_fake`` a log row
        with lr 0 (the original's layout)."""
        if self.eval_model is not self.model:
            self.eval_model.load_state_dict(self.model.state_dict())
        res = evaluate_all(self.eval_model, self.data, self.args, self.ctx)
        log_evaluation(self.writer, res, plan.epoch, tag)
        self.log.record({"epoch": plan.epoch, "tag": tag, **res})
        if tag == "_fake":
            self.log.row([plan.epoch, 0.0, *metric_values(res)])
        else:
            self.last_res = res
        return res

    def end_epoch(self, plan: EpochPlan) -> None:
        """Log row, best checkpoints, console line, snapshot and pictures, ckpt_last."""
        args, epoch = self.args, plan.epoch
        self.guard.check(f"before the checkpoints of epoch {epoch}")
        if plan.pretraining:
            self.say(f"GAN pre-training epoch {epoch + args.gan_pretrain_epochs + 1}/"
                     f"{args.gan_pretrain_epochs}: {time.time() - self._epoch_start:.1f} s")
            self._save(LAST_FILE, self.state(epoch + 1))
            return
        self.log.row([epoch, plan.lr_logged, *metric_values(self.last_res)])
        if plan.trains:
            self._save_best(epoch, self.last_res)
        seconds = time.time() - self._epoch_start
        self.writer.add_scalar("time/epoch_seconds", seconds, epoch)
        self.writer.add_scalar("posenet/lr", plan.lr, epoch)
        line = epoch_line(epoch, seconds, self.last_res if plan.trains else None)
        if self.device.type == "cuda":
            peak = torch.cuda.max_memory_allocated(self.device) / 2 ** 20
            self.writer.add_scalar("time/peak_gpu_memory_mib", peak, epoch)
            line += f"  peak GPU memory {peak:.0f} MiB"
        self.say(line)
        state = self.state(epoch + 1)      # on every rank: it gathers the ranks' RNG states
        if args.snapshot > 0 and (epoch + 1) % args.snapshot == 0:
            if self.augmenter is not None and args.record_all_picture and self.ctx.is_main:
                self.augmenter.write_pictures(epoch, self.run_dir / "tmp", self.writer)
            self._save(f"ckpt_epoch_{epoch + 1:04d}.pth.tar", state)
        self.writer.flush()
        self._save(LAST_FILE, state)

    def _save(self, name: str, state: dict) -> None:
        """Checkpoints are written by the main process only."""
        if self.ctx.is_main:
            save_checkpoint(self.run_dir / name, state)

    def _save_best(self, epoch: int, res: dict) -> None:
        """Keep the lowest ``_real`` P1 on each test set (only epochs where the net trained)."""
        for key, metric in (("h36m_p1", res["h36m"]["p1"]),
                            ("dhp_p1", res["dhp"]["p1"] if res["dhp"] else None)):
            if metric is None or (self.best[key] is not None and metric >= self.best[key]):
                continue
            self.best[key] = metric
            self._save(BEST_FILES[key], {"epoch": epoch, "model_pos": self.model.state_dict(),
                                         "args": vars(self.args), "metrics": res})
            self.log.text(f"saving checkpoint {BEST_FILES[key]} (epoch {epoch}, {key} {metric:.4f})")

    def finish(self) -> int:
        """Close the writer; print the last table and the three closing lines."""
        self.writer.close()
        if not self.ctx.is_main:
            return 0
        if self.last_res is not None:
            print(format_table(self.last_res))
        args = self.args
        data_flags = "" if args.dataset == "h36m" else (
            f"--dataset {args.dataset} --synthetic_size {args.synthetic_size} "
            f"--data_dir {args.data_dir}")
        for line in closing_lines(self.run_dir, self.last_res, data_flags):
            print(line)
        return 0
