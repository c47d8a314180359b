"""Command-line flags of ``run_fk_gan.py``: the original's full table (docs/training.md#flags),
same names, types and defaults, plus the few this implementation adds. Parsed and validated once
into a Namespace that is passed down; nothing else reads ``sys.argv`` and the layers below trust it.
Each list of allowed values is imported from the module that owns the concept.
"""
from __future__ import annotations

import argparse
from typing import Sequence

from data.h36m_format import KEYPOINT_SOURCES
from function_baseline.model_pos_preparation import (MULTI_FRAME_NAMES, POSENET_NAMES,
                                                    parse_architecture)
from function_dhaug.augmenters import METHODS
from models.bone_scaling import SCALE_MODES
from models.gan_generator import OUTPUT_DIM
from utils.acceleration import AMP_MODES

TRUE_WORDS = ("true", "1", "yes", "y", "t")
FALSE_WORDS = ("false", "0", "no", "n", "f")

# Flags the original declares but never reads; accepted so old command lines keep working.
NO_OP_FLAGS = ("decay_epoch", "GAN_whether_rand_root", "set_demo_mode", "GAN_checkpoint",
               "Pos_video_playback_input")


def str2bool(text: str) -> bool:
    """'True'/'False' as the original's string booleans, but a typo is an error, not False."""
    word = str(text).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise argparse.ArgumentTypeError(f"expected True or False, got {text!r}")


def architecture(text: str) -> str:
    """TCN widths such as '3,3,3' (normalised spelling); the parser is the lifters' own."""
    try:
        return ",".join(str(w) for w in parse_architecture(text))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected odd kernel widths separated by commas such as '3,3,3', got {text!r}") from None


def _checked(kind: type, ok, expected: str):
    """An argparse ``type`` converting with ``kind`` and refusing values where ``ok`` is false."""
    def convert(text: str):
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or value != value or not ok(value):   # value != value: NaN
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return value
    convert.__name__ = expected   # argparse names the type in its messages
    return convert


_positive_int = _checked(int, lambda v: v >= 1, "a positive integer")
_non_negative_int = _checked(int, lambda v: v >= 0, "an integer >= 0")
_positive_float = _checked(float, lambda v: 0 < v < float("inf"), "a positive finite number")
_non_negative_float = _checked(float, lambda v: 0 <= v < float("inf"), "a finite number >= 0")
_probability = _checked(float, lambda v: 0 <= v < 1, "a probability in [0, 1)")
_decay = _checked(float, lambda v: 0 < v <= 1, "a factor in (0, 1]")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="run_fk_gan.py",
        description="DH-AUG: DH forward-kinematics driven augmentation for 3D human pose lifting.")
    B = str2bool
    g = p.add_argument_group("data")
    g.add_argument("--dataset", default="h36m", choices=("h36m", "synthetic"),
                   help="h36m: prepared files under --data_dir; synthetic: build/reuse the embedded "
                        "synthetic dataset under <data_dir>/synthetic")
    g.add_argument("--keypoints", default="gt", choices=KEYPOINT_SOURCES, help="2D source")
    g.add_argument("--actions", default="*", help="comma list of action categories, * = all")
    g.add_argument("--downsample", default=1, type=_positive_int, help="train frame stride")
    g.add_argument("--s1only", default=False, type=B, help="train on S1 only")
    g.add_argument("--s1s5only", default=False, type=B, help="train on S1 and S5 only")
    g.add_argument("--data_dir", default="data", help="folder of data_3d_h36m.npz and 2D files")
    g.add_argument("--data_extra_dir", default="data_extra",
                   help="folder of test_set/test_3dhp.npz and bone_length_npy/")
    g.add_argument("--synthetic_size", default="default",
                   help="synthetic dataset size: small, default, large or frames per sequence")
    g.add_argument("--synthetic_seed", default=0, type=int, help="seed of the synthetic dataset")
    g.add_argument("--num_workers", default=0, type=int, help="accepted; batches are tensor slices")
    g.add_argument("--Path_3DPW", default="",
                   help="test_3dpw.npz made by data_extra/prepare_data_3dpw.py: adds 3DPW P1/P2 to "
                        "every evaluation; '' = off")

    g = p.add_argument_group("run")
    g.add_argument("--checkpoint", default="checkpoint/debug", help="base output folder")
    g.add_argument("--note", default="debug", help="suffix of the run folder")
    g.add_argument("--snapshot", default=2, type=_non_negative_int,
                   help="every N epochs keep ckpt_epoch_XXXX.pth.tar and write GAN pictures")
    g.add_argument("--evaluate", default="", help="evaluate this checkpoint and exit")
    g.add_argument("--resume", default="", help="continue from a ckpt_last.pth.tar")
    g.add_argument("--pretrain", default=False, type=B,
                   help="initialise the pose net from --pretrain_path instead of Kaiming init")
    g.add_argument("--pretrain_path", default="",
                   help="checkpoint (key model_pos) used by --pretrain True")
    g.add_argument("--random_seed", default=0, type=int, help="seed of every random generator")
    g.add_argument("--trust_checkpoint", default=False, type=B,
                   help="allow checkpoints that hold more than tensors and plain values (unpickling "
                        "such a file can run code: only for files you made or trust)")
    g.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"),
                   help="auto: CUDA when available, else CPU")
    g.add_argument("--gpu_id", default="0", help="CUDA device index used with --device cuda/auto")
    g.add_argument("--amp", default="off", choices=AMP_MODES,
                   help="bf16: lifter forward passes under bfloat16 autocast (losses, gradients and "
                        "weights stay float32)")
    g.add_argument("--compile", default=False, type=B,
                   help="torch.compile the lifter and the generator (needs a C++ compiler on CPU, "
                        "triton on CUDA); the first calls are slow")
    g.add_argument("--pck_joints", default=16, type=int, choices=(16, 14),
                   help="3DHP PCK/AUC joints: 16 as the original, or the standard 14")

    g = p.add_argument_group("pose net")
    g.add_argument("--posenet_name", default="videopose", choices=POSENET_NAMES)
    g.add_argument("--stages", default=4, type=_non_negative_int, help="blocks of mlp/gcn/videopose (1 frame)")
    g.add_argument("--dropout", default=0.25, type=_probability, help="dropout of mlp/gcn")
    g.add_argument("--batch_size", default=1024, type=_positive_int)
    g.add_argument("--epochs", default=50, type=_non_negative_int, help="linear LR decay epochs")
    g.add_argument("--lr_p", default=1e-4, type=_positive_float, help="pose net learning rate")
    g.add_argument("--no_max", dest="max_norm", action="store_false",
                   help="disable gradient clipping of the pose net (norm 1)")
    p.set_defaults(max_norm=True)
    g.add_argument("--additional_train_epoch", default=60, type=_non_negative_int,
                   help="epochs after the linear decay")
    g.add_argument("--additional_LR_decay", default=0.95, type=_decay,
                   help="per-epoch LR factor after --epochs")
    g.add_argument("--flip_pos_model_input", default=True, type=B,
                   help="extra mirrored pose-net step per batch")
    g.add_argument("--single_or_multi_train_mode", default="single", choices=("single", "multi"))
    g.add_argument("--architecture", default="3,3,3", type=architecture,
                   help="TCN widths of the video models; receptive field = product")

    g = p.add_argument_group("augmentation")
    g.add_argument("--data_enhancement_method", default="GAN", choices=METHODS)
    g.add_argument("--warmup", default=2, type=_non_negative_int,
                   help="GAN mode: epochs 0..N are GAN-only (N + 1 epochs)")
    g.add_argument("--gan_pretrain_epochs", default=0, type=_non_negative_int,
                   help="GAN epochs before epoch 0 (no pose-net step, log row or LR step); "
                        "0 = the original's behaviour (docs/training.md#epoch-loop)")
    g.add_argument("--lr_schedule_from_first_train", default=False, type=B,
                   help="count the single-frame LR decay from the first pose-net epoch instead of "
                        "epoch 0 (the original also steps it during the GAN warm-up)")
    g.add_argument("--df", default=5, type=_positive_int,
                   help="a generator step every df critic iterations")
    g.add_argument("--lr_g", default=1e-4, type=_positive_float, help="generator learning rate")
    g.add_argument("--lr_d", default=1e-4, type=_positive_float, help="discriminator learning rate")
    g.add_argument("--Gen_DenseDim", default=1000, type=_positive_int)
    g.add_argument("--Dis_DenseDim_3D", default=1000, type=_positive_int)
    g.add_argument("--Dis_DenseDim_2D", default=1000, type=_positive_int)
    g.add_argument("--video_Dis_DenseDim_3D", default=1000, type=_positive_int)
    g.add_argument("--video_Dis_DenseDim_2D", default=1000, type=_positive_int)
    g.add_argument("--GAN_OUTPUT_DIM", default=35, type=int, help="generator outputs (must be 35)")
    g.add_argument("--GAN_LAMBDA", default=10, type=_non_negative_float, help="gradient-penalty weight")
    g.add_argument("--GAN_3d_loss_weight", default=1.0, type=float)
    g.add_argument("--GAN_2d_loss_weight", default=0.2, type=float)
    g.add_argument("--GAN_3d_motion_loss_weight", default=1.0, type=float)
    g.add_argument("--GAN_2d_motion_loss_weight", default=1.0, type=float)
    g.add_argument("--GAN_whether_use_preAngle", default=True, type=B,
                   help="scale angles by the range tables (else tanh*180)")
    g.add_argument("--whether_use_RT", default=True, type=B, help="global rotation on/off")
    g.add_argument("--flip_GAN_model_input", default=True, type=B,
                   help="mirrored critic steps and generator terms")
    g.add_argument("--bone_len_scaler", default="different", choices=SCALE_MODES)
    g.add_argument("--GAN_resume", default="", help="load generator and critics from a checkpoint")
    g.add_argument("--record_all_picture", default=True, type=B, help="write GAN pictures")
    g.add_argument("--generator_whole_number", default=10000, type=_positive_int,
                   help="poses per 'normal' epoch")
    g.add_argument("--generator_choose_BoneLen", default=True, type=B)
    g.add_argument("--generator_choose_root_pos", default=True, type=B)
    g.add_argument("--generator_global_rot", default=True, type=B)
    g.add_argument("--motion_Dis_whether_use_3dPos_branch", default=True, type=B)
    g.add_argument("--motion_Dis_whether_use_3dDiff_branch", default=True, type=B)
    g.add_argument("--single_dis_warmup_epoch", default=4, type=_non_negative_int)
    g.add_argument("--video_over_200mm", default=False, type=B)
    g.add_argument("--GAN_video_playback_input", default=True, type=B)

    g = p.add_argument_group("inference (with --evaluate CKPT)")
    g.add_argument("--infer", default="",
                   help="lift this 16-joint 2D keypoint file (data/prepare_data_2d_custom.py) "
                        "with the --evaluate checkpoint instead of evaluating it")
    g.add_argument("--infer_output", default="",
                   help="npz to write (pose3d (N,16,3) metres); default <input>_pose3d.npz")
    g.add_argument("--render", default="",
                   help="also draw the result: OUT.gif, OUT.mp4 (needs ffmpeg) or OUT.png (grid)")

    g = p.add_argument_group("accepted for compatibility, no effect")
    g.add_argument("--decay_epoch", default=0, type=int)
    g.add_argument("--GAN_whether_rand_root", default=True, type=B)
    g.add_argument("--set_demo_mode", default=False, type=B)
    g.add_argument("--GAN_checkpoint", default="")
    g.add_argument("--Pos_video_playback_input", default=True, type=B)
    return p


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse and cross-check the flags; every problem exits with one argparse error line."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.s1only and args.s1s5only:
        parser.error("--s1only and --s1s5only cannot both be True")
    if args.resume and args.evaluate:
        parser.error("--resume and --evaluate cannot be used together")
    if args.pretrain and not args.pretrain_path:
        parser.error("--pretrain True needs --pretrain_path PATH (a checkpoint with key model_pos)")
    if args.GAN_OUTPUT_DIM != OUTPUT_DIM:
        parser.error(f"--GAN_OUTPUT_DIM must be {OUTPUT_DIM} (31 joint angles + 1 unused + 3 root "
                     f"values), got {args.GAN_OUTPUT_DIM}")
    if args.gan_pretrain_epochs and args.data_enhancement_method != "GAN":
        parser.error("--gan_pretrain_epochs needs --data_enhancement_method GAN")
    video_net = args.posenet_name in MULTI_FRAME_NAMES
    if (args.single_or_multi_train_mode == "multi") != video_net:
        parser.error(f"--posenet_name {args.posenet_name} needs --single_or_multi_train_mode "
                     f"{'multi' if video_net else 'single'} (video lifters: "
                     f"{', '.join(MULTI_FRAME_NAMES)})")
    args.actions = (None if args.actions.strip() == "*"
                    else [a.strip() for a in args.actions.split(",") if a.strip()])
    return args
