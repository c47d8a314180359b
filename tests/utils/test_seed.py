"""utils.seed: one seed fixes every global generator, their states round-trip exactly (what
--resume relies on), and make_generator gives each consumer its own explicit CPU stream
(docs/training.md#epoch-loop)."""
from __future__ import annotations

import os
import random

import numpy as np
import pytest
import torch

from utils.seed import global_rng_state, make_generator, seed_everything, set_global_rng_state


@pytest.fixture(autouse=True)
def leave_no_trace(monkeypatch):
    """These tests reseed the process: put the global generators, PYTHONHASHSEED and the cuDNN
    flags back as they were afterwards."""
    monkeypatch.setenv("PYTHONHASHSEED", os.environ.get("PYTHONHASHSEED", "0"))
    monkeypatch.setattr(torch.backends.cudnn, "deterministic", torch.backends.cudnn.deterministic)
    monkeypatch.setattr(torch.backends.cudnn, "benchmark", torch.backends.cudnn.benchmark)
    state = global_rng_state()
    yield
    set_global_rng_state(state)


def draws() -> tuple:
    """One number from each global generator a run touches."""
    return torch.rand(3).tolist(), np.random.rand(3).tolist(), random.random()


def test_seed_everything_fixes_every_global_generator():
    seed_everything(11)
    first = draws()
    assert os.environ["PYTHONHASHSEED"] == "11"
    assert torch.backends.cudnn.deterministic and not torch.backends.cudnn.benchmark
    seed_everything(11)
    assert draws() == first
    seed_everything(12)
    other = draws()
    assert all(a != b for a, b in zip(other, first))


def test_global_state_round_trip_continues_every_stream_exactly():
    seed_everything(5)
    draws()                                   # move every stream away from its seed
    state = global_rng_state()
    expected = [draws(), draws()]
    seed_everything(99)                       # anything else happens in between
    draws()
    set_global_rng_state(state)
    assert [draws(), draws()] == expected
    set_global_rng_state(state)               # the captured state is not consumed by restoring
    assert draws() == expected[0]


def test_generators_repeat_for_the_same_seed_and_stream():
    a, b = make_generator(3, 1), make_generator(3, 1)
    assert isinstance(a, torch.Generator) and a.device.type == "cpu"
    assert torch.equal(torch.rand(5, generator=a), torch.rand(5, generator=b))
    assert torch.equal(torch.randperm(20, generator=a), torch.randperm(20, generator=b))


def test_streams_and_seeds_give_different_streams():
    firsts = {(seed, stream): torch.rand(4, generator=make_generator(seed, stream))
              for seed in (0, 1, 2) for stream in (0, 1, 2)}
    values = list(firsts.values())
    assert all(not torch.equal(values[i], values[j])
               for i in range(len(values)) for j in range(i + 1, len(values)))
    # In particular seed 1 stream 0 is not seed 0 stream 1 (a plain seed + stream would be).
    assert not torch.equal(firsts[1, 0], firsts[0, 1])


def test_explicit_generators_leave_the_global_rng_alone():
    seed_everything(4)
    expected = draws()
    seed_everything(4)
    torch.rand(100, generator=make_generator(4, 0))
    torch.randint(10, (100,), generator=make_generator(4, 1))
    assert draws() == expected


def test_generator_state_restores_a_stream():
    g = make_generator(0, 0)
    torch.rand(7, generator=g)
    saved = g.get_state()
    ahead = torch.rand(4, generator=g)
    fresh = make_generator(123, 0)
    fresh.set_state(saved)
    assert torch.equal(torch.rand(4, generator=fresh), ahead)
