"""Timers and FLOP counts put around a video GAN epoch from outside (for bench/bench_video.py).

``timed_augmenter`` wraps the augmenter's pieces (critic steps, generator step, generation, FK,
projection, real windows, diagnostics) in a :class:`PhaseTimer` without touching their code;
``count_flops`` counts the floating-point operations of a call with torch's FLOP formulas
(forward, backward and the gradient penalty's double backward alike).
"""
from __future__ import annotations

import contextlib
import time
from typing import Callable
from unittest import mock

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import flop_registry


def sync(device: torch.device) -> None:
    """Wait for queued GPU work, so wall-clock timers measure it."""
    if device.type == "cuda":
        torch.cuda.synchronize()


class _FlopTally(TorchDispatchMode):
    """Sums ``torch.utils.flop_counter``'s formulas over every dispatched op. ``FlopCounterMode``
    itself cannot be used: its module tracker hooks break ``autograd.grad`` (the GP)."""

    def __init__(self) -> None:
        super().__init__()
        self.total = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        formula = flop_registry.get(func._overloadpacket)
        if formula is not None:
            self.total += formula(*args, **kwargs, out_val=out)
        return out


def count_flops(fn: Callable[[], object]) -> int:
    """Floating-point operations of ``fn()`` (matrix products and convolutions, as counted by
    ``torch.utils.flop_counter``'s formulas; element-wise work is not counted)."""
    with _FlopTally() as tally:
        fn()
    return tally.total


GAN_PHASES = ("single-frame critic calls", "motion critic calls", "generator steps",
              "G forward (MLP + angle mapping)", "FK", "projection", "real windows + bone swap",
              "GAN diagnostics (end of epoch)")


class PhaseTimer:
    """Exclusive wall time per phase of (possibly nested) timed calls: a call's time minus the
    time of the timed calls inside it, so the phases add up to at most the whole epoch."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.seconds: dict[str, float] = {}      # exclusive
        self.inclusive: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self._inner: list[float] = []
        self._absorbing = 0

    def wrap(self, fn: Callable, phase: str | Callable[..., str], absorb: bool = False
             ) -> Callable:
        """``fn`` timed under ``phase`` (a name, or a function of fn's arguments giving one);
        ``absorb``: the timed calls made inside it count as ``phase`` too."""
        def timed(*a, **k):
            if self._absorbing:
                return fn(*a, **k)
            name = phase(*a, **k) if callable(phase) else phase
            sync(self.device)
            start = time.perf_counter()
            self._inner.append(0.0)
            self._absorbing += absorb
            try:
                return fn(*a, **k)
            finally:
                self._absorbing -= absorb
                sync(self.device)
                elapsed = time.perf_counter() - start
                inner = self._inner.pop()
                self.seconds[name] = self.seconds.get(name, 0.0) + elapsed - inner
                self.inclusive[name] = self.inclusive.get(name, 0.0) + elapsed
                self.calls[name] = self.calls.get(name, 0) + 1
                if self._inner:
                    self._inner[-1] += elapsed
        return timed


def _critic_phase(*a, **k) -> str:
    """Phase of a ``video_critic_step(critic, optimizer, real, fake, motion, ...)`` call."""
    motion = a[4] if len(a) > 4 else k["motion"]
    return GAN_PHASES[1] if motion else GAN_PHASES[0]


@contextlib.contextmanager
def timed_augmenter(aug, timer: PhaseTimer):
    """Put ``timer`` around the augmenter's pieces without touching its code: the critic step and
    projection functions the augmenter module calls, the FK the video generator calls, and the
    instance's generator step, generation, real-window and diagnostics methods; all restored on
    exit."""
    import function_dhaug.video_gan_augmenter as vga
    import models.gan_video_generator as vgen
    patches = [(vga, "video_critic_step", _critic_phase, False),
               (vgen, "forward_kinematics", GAN_PHASES[4], False),
               (aug, "_generator_step", GAN_PHASES[2], False),
               (aug, "_generate", GAN_PHASES[3], False),
               (aug, "_real_for_critics", GAN_PHASES[6], False)]
    patches += [(vga, name, GAN_PHASES[5], False)
                for name in ("to_camera_frame", "project_to_2d", "world_to_screen")]
    if hasattr(aug, "_measure_quality"):     # its sampling counts as diagnostics, not training
        patches.append((aug, "_measure_quality", GAN_PHASES[7], True))
    with contextlib.ExitStack() as stack:
        for owner, name, phase, absorb in patches:
            stack.enter_context(mock.patch.object(owner, name,
                                                  timer.wrap(getattr(owner, name), phase, absorb)))
        yield timer
