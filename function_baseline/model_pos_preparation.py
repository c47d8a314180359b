"""Build the 2D -> 3D pose network named by ``--posenet_name`` (docs/lifters.md).

Single-frame names (``mlp``, ``gcn``, ``videopose``, ``poseformer``) take (B, 32) / (B, 16, 2) and
return (B, 16, 3).  Video names take (N, T, 16, 2) windows, T = prod(``--architecture``):
``mulit_farme_videopose`` trains a strided TCN ((N, T, 16, 2) -> (N, 1, 16, 3)) and evaluates a
dilated one on whole sequences ((1, F, 16, 2) -> (1, F - T + 1, 16, 3)); ``mulit_farme_poseformer``
maps (N, T, 16, 2) -> (N, 1, 16, 3) in both roles.  The name spelling is the original's.
"""
from __future__ import annotations

import math
from argparse import Namespace

import torch
from torch import nn

from models.blocks import init_lifter_weights
from models.lifter_gcn import SemGCNLifter
from models.lifter_mlp import MLPLifter
from models.lifter_poseformer import PoseFormerLifter, SingleFramePoseFormerLifter
from models.lifter_videopose import (DilatedTemporalLifter, StridedTemporalLifter,
                                     VideoPoseLifter, check_filter_widths)
from utils.checkpoint import load_checkpoint, load_model_weights

# The values of --posenet_name (utils/config.py validates against POSENET_NAMES).
SINGLE_FRAME_NAMES = ("mlp", "gcn", "videopose", "poseformer")
MULTI_FRAME_NAMES = ("mulit_farme_videopose", "mulit_farme_poseformer")
POSENET_NAMES = SINGLE_FRAME_NAMES + MULTI_FRAME_NAMES

# The flags that define a lifter's architecture; checkpoints save them in their "args".
LIFTER_FLAGS = ("posenet_name", "stages", "dropout", "architecture")

TCN_CHANNELS = 1024
TCN_DROPOUT = 0.25          # fixed for both VideoPose variants; --dropout is not used by them
POSEFORMER_DROP_PATH = 0.1  # training copy; the evaluation copy uses 0


def is_multi_frame(args: Namespace) -> bool:
    """True for the video lifters, which consume (N, T, 16, 2) windows."""
    return args.posenet_name in MULTI_FRAME_NAMES


def parse_architecture(architecture: str) -> tuple[int, ...]:
    """'3,3,3' -> (3, 3, 3): comma-separated positive odd widths, else ``ValueError``.

    The one parser of ``--architecture`` (utils/config.py calls it to validate the flag).
    """
    try:
        widths = tuple(int(w) for w in str(architecture).split(","))
    except ValueError:
        widths = ()
    return check_filter_widths(widths) if widths else check_filter_widths(())


def receptive_field(args: Namespace) -> int:
    """Input frames per output frame: 1 for single-frame lifters, prod(widths) for video ones."""
    return math.prod(parse_architecture(args.architecture)) if is_multi_frame(args) else 1


def count_parameters(model: nn.Module) -> int:
    """Number of scalar parameters (buffers such as BN running statistics excluded)."""
    return sum(p.numel() for p in model.parameters())


def _construct(args: Namespace, role: str) -> nn.Module:
    """Uninitialised-by-us lifter for ``role`` 'train' or 'eval'."""
    name, stages, dropout = args.posenet_name, args.stages, args.dropout
    drop_path = POSEFORMER_DROP_PATH if role == "train" else 0.0
    if name == "mlp":
        return MLPLifter(stages=stages, dropout=dropout)
    if name == "gcn":
        return SemGCNLifter(stages=stages, dropout=dropout)
    if name == "videopose":
        return VideoPoseLifter(stages=stages, channels=TCN_CHANNELS, dropout=TCN_DROPOUT)
    if name == "poseformer":
        return SingleFramePoseFormerLifter(drop_path_rate=drop_path)
    widths = parse_architecture(args.architecture)
    if name == "mulit_farme_videopose":
        tcn = StridedTemporalLifter if role == "train" else DilatedTemporalLifter
        return tcn(widths, channels=TCN_CHANNELS, dropout=TCN_DROPOUT)
    return PoseFormerLifter(math.prod(widths), drop_path_rate=drop_path)


def build_lifter(args: Namespace, generator: torch.Generator | None = None) -> nn.Module:
    """The training pose network for ``args`` (on CPU), Kaiming-initialised.

    With ``generator`` the caller's global RNG state is left untouched and the weights depend
    on the generator only; without it they come from the global RNG as in the original.
    """
    if generator is None:
        model = _construct(args, "train")
    else:
        with torch.random.fork_rng(devices=[]):
            model = _construct(args, "train")
    init_lifter_weights(model, generator)
    return model


def build_lifter_pair(args: Namespace,
                      generator: torch.Generator | None = None) -> tuple[nn.Module, nn.Module]:
    """(train_model, eval_model) holding the same weights.

    The evaluation copy is the dilated TCN for ``mulit_farme_videopose``, PoseFormer with
    drop-path 0 for the PoseFormer names, and a second instance of the same class otherwise.
    State dicts are interchangeable: refresh it with
    ``eval_model.load_state_dict(train_model.state_dict())`` before each evaluation.
    """
    train_model = build_lifter(args, generator)
    with torch.random.fork_rng(devices=[]):
        eval_model = _construct(args, "eval")
    eval_model.load_state_dict(train_model.state_dict())
    return train_model, eval_model


def lifter_from_checkpoint(path: str, args: Namespace, device: torch.device
                           ) -> tuple[nn.Module, Namespace, dict]:
    """(evaluation-form lifter holding the checkpoint's weights, on ``device``, in eval mode;
    the architecture flags it was built from; the checkpoint).

    The checkpoint's saved architecture flags win over the command line's (``args``), so
    ``--evaluate`` and ``--infer`` need no architecture flags.
    """
    state = load_checkpoint(path, trust=args.trust_checkpoint)
    saved = state.get("args") or {}
    flags = Namespace(**{f: saved.get(f, getattr(args, f)) for f in LIFTER_FLAGS})
    with torch.random.fork_rng(devices=[]):
        _, model = build_lifter_pair(flags)
    load_model_weights(model, state["model_pos"], path)
    return model.to(device).eval(), flags, state
