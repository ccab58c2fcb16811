"""Reference rules shared by the op tests, written from the docstrings alone
(independent of featurelab's own validation code)."""

import math

import numpy as np
from hypothesis import HealthCheck, settings

# Hypothesis settings of the op property tests.  The ``backend`` fixture is
# function scoped but stateless, so reusing it across examples is safe.
HYP = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def normal(shape, seed, dtype=np.float64):
    """Standard normal data of ``shape`` from ``seed``."""
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def as_tuple(value, n):
    """An int (or anything not a tuple/list) repeated ``n`` times."""
    return tuple(value) if isinstance(value, (tuple, list)) else (value,) * n


def reference_pads(padding, sizes, extents, strides):
    """Padding ``(before, after)`` per axis, from the documented rules.

    ``extents`` are the (dilated) window sizes.  'same' gives
    ``ceil(size / stride)`` outputs with the smaller half of the padding
    first (the extra pad at the end, as in PyTorch/TensorFlow).
    """
    if padding == "valid":
        return tuple((0, 0) for _ in sizes)
    if padding == "full":
        return tuple((e - 1, e - 1) for e in extents)
    if padding == "same":
        pads = []
        for size, extent, stride in zip(sizes, extents, strides):
            n_out = math.ceil(size / stride)
            total = max((n_out - 1) * stride + extent - size, 0)
            pads.append((total // 2, total - total // 2))
        return tuple(pads)
    return tuple(
        tuple(e) if isinstance(e, (tuple, list)) else (e, e)
        for e in as_tuple(padding, len(sizes))
    )
