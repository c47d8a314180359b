"""Optional speed-ups of the networks: bf16 autocast (``--amp``) and ``torch.compile`` (``--compile``).

Both are off by default and change no parameter, state-dict name or optimiser reference:

* :func:`autocast` - a context manager for forward passes and losses; matrix products and
  convolutions run in bfloat16, parameters, gradients and optimiser state stay float32.
* :func:`maybe_compile` - compiles a module *in place* (``nn.Module.compile``), so the object,
  its parameters and ``state_dict()`` keys are the ones of the eager module (no ``_orig_mod.``
  prefix): checkpoints written or loaded with or without ``--compile`` are interchangeable.
* :func:`compile_problem` - why ``torch.compile`` cannot run here (no C++ compiler, no Triton),
  or None; checked before compiling so the error is one clear line, not a compiler traceback.
"""
from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil

import torch
from torch import nn

from utils.io import DataError

AMP_MODES = ("off", "bf16")
_CXX_COMPILERS = ("g++", "c++", "clang++")


def autocast(device: torch.device, amp: str) -> contextlib.AbstractContextManager:
    """Context for the forward pass: bf16 autocast on ``device`` (cpu or cuda), or nothing.

    Use around the model call and the loss, not around ``backward`` or the optimiser step.
    """
    if amp not in AMP_MODES:
        raise DataError(f"--amp: expected one of {', '.join(AMP_MODES)}, got {amp!r}")
    if amp == "off":
        return contextlib.nullcontext()
    if device.type not in ("cpu", "cuda"):
        raise DataError(f"--amp bf16: autocast needs a cpu or cuda device, got {device}")
    if device.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise DataError(f"--amp bf16: {torch.cuda.get_device_name(device)} has no bfloat16 support")
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16)


def compile_problem(device: torch.device) -> str | None:
    """Why the default (inductor) ``torch.compile`` cannot run for ``device``, or None."""
    import torch._dynamo  # slow to import; only needed when compiling

    if not torch._dynamo.is_dynamo_supported():
        return "torch.compile is not supported on this Python/platform"
    if device.type == "cpu":
        if os.environ.get("CXX") or any(shutil.which(c) for c in _CXX_COMPILERS):
            return None
        return "torch.compile on CPU needs a C++ compiler (g++ or clang++; set CXX)"
    if device.type == "cuda" and importlib.util.find_spec("triton") is None:
        return "torch.compile on CUDA needs the 'triton' package"
    return None


def maybe_compile(module: nn.Module, enabled: bool, device: torch.device | None = None,
                  **options) -> nn.Module:
    """``module`` itself, compiled in place when ``enabled`` (``options`` go to torch.compile).

    The first calls in each mode (train / eval) are slow (tracing and code generation); later
    calls run the compiled code. ``device`` (where the module will run) is checked with
    :func:`compile_problem` first.
    """
    if not enabled:
        return module
    problem = compile_problem(device if device is not None else torch.device("cpu"))
    if problem is not None:
        raise DataError(f"--compile True: {problem}")
    module.compile(**options)
    return module


def autocast_forward_(module: nn.Module, device: torch.device, amp: str) -> nn.Module:
    """Make every call of ``module`` run under :func:`autocast` and return float32 outputs.

    The forward is wrapped on the instance, so parameters, ``state_dict()`` names and checkpoints
    are unchanged; losses, backward and the optimiser stay outside autocast (float32). ``amp``
    'off' leaves the module as it is. Returns ``module``.
    """
    autocast(device, amp)            # validates amp and device once, here
    if amp == "off":
        return module
    forward = module.forward

    def forward_in_autocast(*args, **kwargs):
        with autocast(device, amp):
            out = forward(*args, **kwargs)
        return out.float()

    module.forward = forward_in_autocast
    return module
