"""DH-AUG training and evaluation entry point.

    python3 run_fk_gan.py --dataset synthetic --posenet_name videopose --epochs 3 ...

Per epoch (FACTS §8): the augmenter (GAN or 'normal') makes a fresh pool of fake 2D-3D pairs;
the pose net trains on them, is evaluated (tag ``_fake``), trains on real data and is evaluated
again (``_real``). ``NO_enhance`` trains the plain lifter. Every epoch ends with an atomic
``ckpt_last.pth.tar`` holding the whole state, so ``--resume`` continues exactly.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

from function_baseline.data_preparation import Datasets, load_datasets
from function_baseline.evaluate import evaluate_3dhp, evaluate_h36m
from function_baseline.lr_schedule import lr_at_epoch
from function_baseline.model_pos_preparation import build_lifter, count_parameters
from function_baseline.train import train_epoch
from utils.checkpoint import load_checkpoint, load_model_weights, save_checkpoint
from utils.config import parse_args
from utils.device import resolve_device
from utils.io import DataError, atomic_write, run_command
from utils.logger import LOG_HEADER, RunLog, make_run_dir, summary_writer
from utils.seed import global_rng_state, make_generator, seed_everything, set_global_rng_state

ARCH_FLAGS = ("posenet_name", "stages", "dropout", "architecture")


def evaluate_all(model: torch.nn.Module, data: Datasets, args: argparse.Namespace) -> dict:
    out = {"h36m": evaluate_h36m(model, data.test_h36m), "dhp": None}
    if data.test_3dhp is not None:
        out["dhp"] = evaluate_3dhp(model, data.test_3dhp, args.pck_joints)
    return out


def metric_values(res: dict | None) -> list:
    """The six metric columns of a log row; zeros before any evaluation, empty without 3DHP."""
    if res is None:
        return [0.0] * 6
    h, d = res["h36m"], res["dhp"]
    dhp = [d["p1"], d["p2"], d["pck"], d["auc"]] if d is not None else [None] * 4
    return [h["p1"], h["p2"], *dhp]


def log_evaluation(writer, res: dict, epoch: int, tag: str) -> None:
    h, d = res["h36m"], res["dhp"]
    for name, value in (("p1score", h["p1"]), ("p2score", h["p2"]), ("_pck", 0.0), ("_auc", 0.0)):
        writer.add_scalar(f"posenet_H36M_test/{name}{tag}", value, epoch)
    if d is not None:
        for name, key in (("p1score", "p1"), ("p2score", "p2"), ("_pck", "pck"), ("_auc", "auc")):
            writer.add_scalar(f"posenet_mpi3d_loader_flip/{name}{tag}", d[key], epoch)


def format_table(res: dict) -> str:
    h, d = res["h36m"], res["dhp"]
    lines = [f"H36M (S9, S11)   P1 {h['p1']:8.2f} mm   P2 {h['p2']:8.2f} mm   "
             f"(per-action mean P1 {h['p1_action_mean']:.2f}, P2 {h['p2_action_mean']:.2f})"]
    lines += [f"  {name:<14s} P1 {v['p1']:8.2f}   P2 {v['p2']:8.2f}"
              for name, v in h["per_action"].items()]
    if d is None:
        lines.append("3DHP             skipped (no test_3dhp.npz)")
    else:
        lines.append(f"3DHP             P1 {d['p1']:8.2f} mm   P2 {d['p2']:8.2f} mm   "
                     f"PCK {d['pck']:6.2f} %   AUC {d['auc']:6.2f} %")
    return "\n".join(lines)


def build_model(args: argparse.Namespace, device: torch.device) -> torch.nn.Module:
    model = build_lifter(args)
    if args.pretrain:
        state = load_checkpoint(args.pretrain_path)
        load_model_weights(model, state["model_pos"], args.pretrain_path)
    return model.to(device)


# --------------------------------------------------------------------------- --evaluate
def evaluate_checkpoint(args: argparse.Namespace) -> int:
    device = resolve_device(args.device, args.gpu_id)
    state = load_checkpoint(args.evaluate)
    saved = state.get("args") or {}
    for flag in ARCH_FLAGS:  # build the architecture the checkpoint was trained with
        if flag in saved:
            setattr(args, flag, saved[flag])
    args.pretrain = False
    data = load_datasets(args)
    model = build_model(args, device)
    load_model_weights(model, state["model_pos"], args.evaluate)
    data.test_h36m = data.test_h36m.to(device)
    if data.test_3dhp is not None:
        data.test_3dhp = data.test_3dhp.to(device)
    res = evaluate_all(model, data, args)
    print(f"checkpoint {args.evaluate} (epoch {state.get('epoch', '?')})")
    print(format_table(res))
    out = Path(args.evaluate)
    out = out.with_name(out.name.split(".")[0] + ".eval.json")
    text = json.dumps({"checkpoint": str(args.evaluate), "epoch": state.get("epoch"), **res},
                      indent=2, sort_keys=True)
    atomic_write(out, lambda tmp: Path(tmp).write_text(text))
    print(f"metrics written to {out}")
    return 0


# --------------------------------------------------------------------------- training
class Trainer:
    """Holds every piece of run state; ``state()`` / ``restore()`` make --resume exact."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.device = resolve_device(args.device, args.gpu_id)
        seed_everything(args.random_seed)
        self.data = load_datasets(args)
        self.model = build_model(args, self.device)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=args.lr_p)
        self.batch_gen = make_generator(args.random_seed, 0)
        self.augmenter = None
        if args.data_enhancement_method != "NO_enhance":
            from function_dhaug.augmenters import build_augmenter
            self.augmenter = build_augmenter(args, self.data.train, self.data.templates,
                                             self.data.camera_table, self.device,
                                             make_generator(args.random_seed, 1))
        self.data.train = self.data.train.to(self.device)
        self.data.test_h36m = self.data.test_h36m.to(self.device)
        if self.data.test_3dhp is not None:
            self.data.test_3dhp = self.data.test_3dhp.to(self.device)
        self.start_epoch = 0
        self.best = {"h36m_p1": None, "dhp_p1": None}
        self.last_res: dict | None = None

        if args.resume:
            ckpt = load_checkpoint(args.resume, ("model_pos", "optimizer", "epoch", "log"))
            self.run_dir = Path(args.resume).resolve().parent
            self.restore(ckpt)
            self.log = RunLog(self.run_dir, **ckpt["log"])
            self.log.text(f"resumed from {args.resume} at epoch {self.start_epoch}")
        else:
            self.run_dir = make_run_dir(args.checkpoint, args.posenet_name, args.keypoints,
                                        args.note)
            self.log = RunLog(self.run_dir)
            self.log.text(str(args))
            self.log.text(str(self.model))
            self.log.text(f"pose net parameters: {count_parameters(self.model)}")
            self.log.text(LOG_HEADER)
        if args.GAN_resume:
            if self.augmenter is None or not hasattr(self.augmenter, "load_gan_weights"):
                raise DataError("--GAN_resume needs --data_enhancement_method GAN")
            gan_state = load_checkpoint(args.GAN_resume, ("augmenter",))
            self.augmenter.load_gan_weights(gan_state["augmenter"])
        self.writer = summary_writer(self.run_dir)
        print(f"run folder: {self.run_dir}  device: {self.device}  "
              f"train samples: {len(self.data.train)}")

    # ----------------------------------------------------------------- state
    def state(self, next_epoch: int) -> dict:
        return {"epoch": next_epoch, "model_pos": self.model.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "augmenter": self.augmenter.state_dict() if self.augmenter else None,
                "batch_gen": self.batch_gen.get_state(), "rng": global_rng_state(),
                "best": dict(self.best), "last_res": self.last_res,
                "args": vars(self.args), "log": self.log.state()}

    def restore(self, ckpt: dict) -> None:
        load_model_weights(self.model, ckpt["model_pos"], self.args.resume)
        self.optimizer.load_state_dict(ckpt["optimizer"])
        if self.augmenter is not None and ckpt.get("augmenter") is not None:
            self.augmenter.load_state_dict(ckpt["augmenter"])
        self.batch_gen.set_state(ckpt["batch_gen"])
        set_global_rng_state(ckpt["rng"])
        self.best = ckpt["best"]
        self.last_res = ckpt["last_res"]
        self.start_epoch = int(ckpt["epoch"])
        old = ckpt.get("args") or {}
        differ = sorted(k for k, v in vars(self.args).items()
                        if k not in ("resume", "GAN_resume") and k in old and old[k] != v)
        if differ:
            print(f"warning: --resume with flags that differ from the checkpoint: {differ}")

    # ----------------------------------------------------------------- loop
    def evaluate(self, epoch: int, tag: str) -> dict:
        res = evaluate_all(self.model, self.data, self.args)
        log_evaluation(self.writer, res, epoch, tag)
        self.log.record({"epoch": epoch, "tag": tag, **res})
        return res

    def save_best(self, epoch: int, res: dict) -> None:
        for key, metric in (("h36m_p1", res["h36m"]["p1"]),
                            ("dhp_p1", res["dhp"]["p1"] if res["dhp"] else None)):
            if metric is None or (self.best[key] is not None and metric >= self.best[key]):
                continue
            self.best[key] = metric
            name = "ckpt_best_h36m_p1.pth.tar" if key == "h36m_p1" else "ckpt_best_dhp_p1.pth.tar"
            save_checkpoint(self.run_dir / name, {"epoch": epoch, "model_pos": self.model.state_dict(),
                                                  "args": vars(self.args), "metrics": res})
            self.log.text(f"saving checkpoint {name} (epoch {epoch}, {key} {metric:.4f})")

    def run(self) -> int:
        args = self.args
        total = args.epochs + args.additional_train_epoch
        method = args.data_enhancement_method
        for epoch in range(self.start_epoch, total):
            t0 = time.time()
            lr = lr_at_epoch(epoch, args.lr_p, args.epochs, args.additional_LR_decay)
            for group in self.optimizer.param_groups:
                group["lr"] = lr
            fake = self.augmenter.run_epoch(epoch, self.writer, self.run_dir / "tmp") \
                if self.augmenter is not None else None
            trains = method != "GAN" or epoch > args.warmup
            res = None
            if trains:
                if fake is not None:
                    fake = fake.to(self.device)
                    train_epoch(self.model, self.optimizer, fake, args, self.batch_gen,
                                desc=f"epoch {epoch} fake")
                    res = self.evaluate(epoch, "_fake")
                    self.log.row([epoch, 0.0, *metric_values(res)])
                train_epoch(self.model, self.optimizer, self.data.train, args, self.batch_gen,
                            desc=f"epoch {epoch} real")
                res = self.evaluate(epoch, "_real")
                self.last_res = res
            self.log.row([epoch, lr_at_epoch(epoch + 1, args.lr_p, args.epochs,
                                             args.additional_LR_decay),
                          *metric_values(self.last_res)])
            if res is not None:
                self.save_best(epoch, res)
            seconds = time.time() - t0
            self.writer.add_scalar("time/epoch_seconds", seconds, epoch)
            self.writer.add_scalar("posenet/lr", lr, epoch)
            print(f"epoch {epoch}: {seconds:.1f} s" + ("" if res is None else
                  f"  H36M P1 {res['h36m']['p1']:.2f}" +
                  ("" if res["dhp"] is None else f"  3DHP P1 {res['dhp']['p1']:.2f}")))
            if args.snapshot > 0 and (epoch + 1) % args.snapshot == 0:
                if self.augmenter is not None and args.record_all_picture and \
                        hasattr(self.augmenter, "write_pictures"):
                    self.augmenter.write_pictures(epoch, self.run_dir / "tmp", self.writer)
                save_checkpoint(self.run_dir / f"ckpt_epoch_{epoch + 1:04d}.pth.tar",
                                self.state(epoch + 1))
            self.writer.flush()
            save_checkpoint(self.run_dir / "ckpt_last.pth.tar", self.state(epoch + 1))
        self.writer.close()
        if self.last_res is not None:
            print(format_table(self.last_res))
        return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.evaluate:
        return run_command(lambda: evaluate_checkpoint(args))
    return run_command(lambda: Trainer(args).run())


if __name__ == "__main__":
    sys.exit(main())
