"""Run-to-run reproducible CPU matrix products (docs/training.md#reproducibility).

By default Intel MKL, PyTorch's BLAS on x86, may choose its code path and its split of work
between threads anew in every run, so two runs with the same seed can round differently and drift
apart (seen on a CI machine: one seed, two processes, 0.2 mm apart after one epoch). MKL's
conditional numerical reproducibility mode with a fixed thread count removes that. MKL reads these
variables once, when it starts, so :func:`request_reproducible_blas` must run before torch is
imported; a value the user has set is kept. No torch import here, for that reason.
"""
from __future__ import annotations

import os
from collections.abc import MutableMapping

SETTINGS = {"MKL_CBWR": "AUTO", "MKL_DYNAMIC": "FALSE"}


def request_reproducible_blas(environ: MutableMapping[str, str] = os.environ) -> None:
    """Set MKL's reproducibility variables in ``environ`` where the user has not set them."""
    for name, value in SETTINGS.items():
        environ.setdefault(name, value)
