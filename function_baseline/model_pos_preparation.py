"""Build the 2D -> 3D pose network named by ``--posenet_name`` (FACTS §10, §11.4).

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

from models.lifter_gcn import SemGCNLifter
from models.lifter_mlp import MLPLifter
from models.lifter_poseformer import PoseFormerLifter, SingleFramePoseFormerLifter
from models.lifter_videopose import DilatedTemporalLifter, StridedTemporalLifter, VideoPoseLifter
from models.sem_graph_conv import SemGraphConv
from utils.io import DataError

SINGLE_FRAME_NAMES = ("mlp", "gcn", "videopose", "poseformer")
MULTI_FRAME_NAMES = ("mulit_farme_videopose", "mulit_farme_poseformer")
POSENET_NAMES = SINGLE_FRAME_NAMES + MULTI_FRAME_NAMES

TCN_CHANNELS = 1024
TCN_DROPOUT = 0.25          # fixed for both VideoPose variants; --dropout is not used by them
POSEFORMER_DROP_PATH = 0.1  # training copy; the evaluation copy uses 0


def posenet_name(args: Namespace) -> str:
    """The validated ``--posenet_name``."""
    name = getattr(args, "posenet_name", None)
    if name not in POSENET_NAMES:
        raise DataError(f"--posenet_name: unknown pose network {name!r}; "
                        f"expected one of {', '.join(POSENET_NAMES)}")
    return name


def is_multi_frame(args: Namespace) -> bool:
    """True for the video lifters, which consume (N, T, 16, 2) windows."""
    return posenet_name(args) in MULTI_FRAME_NAMES


def parse_architecture(architecture: str) -> tuple[int, ...]:
    """'3,3,3' -> (3, 3, 3); every width must be a positive odd integer."""
    try:
        widths = tuple(int(w) for w in str(architecture).split(","))
    except ValueError:
        widths = ()
    if not widths or any(w < 1 or w % 2 == 0 for w in widths):
        raise DataError(f"--architecture: expected comma-separated positive odd filter widths "
                        f"such as '3,3,3', got {architecture!r}")
    return widths


def receptive_field(args: Namespace) -> int:
    """Input frames per output frame: 1 for single-frame lifters, prod(widths) for video ones."""
    if not is_multi_frame(args):
        return 1
    return math.prod(parse_architecture(getattr(args, "architecture", "3,3,3")))


def count_parameters(model: nn.Module) -> int:
    """Number of scalar parameters (buffers such as BN running statistics excluded)."""
    return sum(p.numel() for p in model.parameters())


def init_lifter_weights(model: nn.Module, generator: torch.Generator | None = None) -> None:
    """Kaiming-normal (fan-in, gain sqrt 2) on every ``nn.Linear`` weight; other layers keep theirs.

    Without ``generator`` only the Linear weights are re-drawn, from the global RNG (the
    original's behaviour).  With a (CPU) ``generator`` every random parameter is re-drawn from
    it with its layer's usual distribution, so the result depends on the generator alone.
    """
    for module in model.modules():
        if isinstance(module, nn.Linear):
            nn.init.kaiming_normal_(module.weight, mode="fan_in", nonlinearity="relu",
                                    generator=generator)
            if generator is not None and module.bias is not None:
                _default_bias_(module.bias, module.in_features, generator)
        elif generator is None:
            continue
        elif isinstance(module, nn.Conv1d):
            nn.init.kaiming_uniform_(module.weight, a=math.sqrt(5), generator=generator)
            if module.bias is not None:
                fan_in = module.weight.shape[1] * module.weight.shape[2]
                _default_bias_(module.bias, fan_in, generator)
        elif isinstance(module, SemGraphConv):
            module.reset_parameters(generator)


def _default_bias_(bias: torch.Tensor, fan_in: int, generator: torch.Generator) -> None:
    bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
    nn.init.uniform_(bias, -bound, bound, generator=generator)


def _construct(args: Namespace, role: str) -> nn.Module:
    """Uninitialised-by-us lifter for ``role`` 'train' or 'eval'."""
    name = posenet_name(args)
    stages = int(getattr(args, "stages", 4))
    dropout = float(getattr(args, "dropout", 0.25))
    if stages < 0:
        raise DataError(f"--stages: expected a non-negative number of blocks, got {stages}")
    if not 0.0 <= dropout < 1.0:
        raise DataError(f"--dropout: expected a probability in [0, 1), got {dropout}")
    drop_path = POSEFORMER_DROP_PATH if role == "train" else 0.0
    if name == "mlp":
        return MLPLifter(stages=stages, dropout=dropout)
    if name == "gcn":
        return SemGCNLifter(stages=stages, dropout=dropout)
    if name == "videopose":
        return VideoPoseLifter(stages=stages, channels=TCN_CHANNELS, dropout=TCN_DROPOUT)
    if name == "poseformer":
        return SingleFramePoseFormerLifter(drop_path_rate=drop_path)
    widths = parse_architecture(getattr(args, "architecture", "3,3,3"))
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
