"""Heterogeneous kernel banks of the ROCKET family, for 1-D signals.

A ROCKET-style bank mixes kernels of several lengths, dilations, paddings
and biases.  It is returned as a list of :class:`KernelGroup` -- kernels
that share a length, a dilation and a padding, so that each group is one
batched convolution -- plus, per kernel, the biases its responses are pooled
with and where its features go in the bank's feature order.

* :func:`rocket_bank`: random kernels (Dempster et al. 2020);
* :func:`minirocket_bank`: MiniRocket's 84 fixed kernels at exponentially
  spaced dilations, with biases taken from quantiles of the convolution
  outputs of training signals (Dempster et al. 2021): learned from data,
  without labels.
"""

import dataclasses
import itertools
import math

import numpy as np
from sklearn.utils import check_random_state

from .._validation import check_array, check_int
from ..backend import to_numpy

__all__ = ["KernelGroup", "minirocket_bank", "rocket_bank"]

#: MiniRocket's kernel length and the number of its kernels, C(9, 3).
MINIROCKET_LENGTH = 9
MINIROCKET_KERNELS = 84


@dataclasses.dataclass(frozen=True)
class KernelGroup:
    """Kernels of one length, dilation and padding in a heterogeneous bank.

    Attributes
    ----------
    kernels : ndarray of shape (K, C, length)
    biases : ndarray of shape (K, B)
        Added to each kernel's response before pooling; each of the ``B``
        biases of a kernel gives its own features.
    dilation : int
    padding : (int, int)
        Zeros before and after the signal.
    index : ndarray of int of shape (K, B)
        Position of each (kernel, bias) among the bank's features.
    """

    kernels: np.ndarray
    biases: np.ndarray
    dilation: int
    padding: tuple
    index: np.ndarray


def _groups(length, dilation, padding, kernels, biases, index):
    """Split parallel per-kernel lists into :class:`KernelGroup` s by
    (length, dilation, padding), in order of first appearance."""
    keys = {}
    for i, key in enumerate(zip(length, dilation, padding)):
        keys.setdefault(key, []).append(i)
    groups = []
    for (_, d, p), members in keys.items():
        groups.append(KernelGroup(
            kernels=np.stack([kernels[i] for i in members]),
            biases=np.stack([biases[i] for i in members]),
            dilation=int(d), padding=(int(p), int(p)),
            index=np.stack([index[i] for i in members])))
    return groups


def rocket_bank(n_kernels, n_channels, signal_length, *, lengths=(7, 9, 11),
                random_state=None, dtype=np.float32):
    """ROCKET's random kernels (Dempster et al. 2020), grouped.

    Per kernel: a length drawn from ``lengths``; weights from N(0, 1), then
    centred to zero mean; a bias from U(-1, 1); a dilation ``floor(2 ** u)``
    with ``u ~ U(0, log2((signal_length - 1) / (length - 1)))``; padding
    ``(length - 1) * dilation // 2`` at both ends with probability 1/2, else
    none.  With several channels, each kernel sees a random subset of
    ``floor(2 ** U(0, log2(min(n_channels, length) + 1)))`` channels (its
    weights are zero on the others), as in the multivariate ROCKET.

    Parameters
    ----------
    n_kernels : int
    n_channels : int
    signal_length : int
        Length of the signals the bank is for (it bounds the dilations).
    lengths : tuple of int, default=(7, 9, 11)
    random_state : int, RandomState instance or None
    dtype : dtype, default=float32

    Returns
    -------
    groups : list of KernelGroup
        One bias per kernel (``B = 1``); kernel ``i``'s features are at
        ``index == i``.

    Examples
    --------
    >>> from featurelab.kernels import rocket_bank
    >>> groups = rocket_bank(100, 1, 40, random_state=0)
    >>> sum(len(g.kernels) for g in groups)
    100
    >>> g = groups[0]                 # kernels of one length, dilation, padding
    >>> g.kernels.shape, g.dilation, g.padding, g.biases.shape
    ((1, 1, 7), 4, (0, 0), (1, 1))
    >>> bool(abs(g.kernels.sum(-1)).max() < 1e-5)       # zero-mean weights
    True
    """
    n_kernels = check_int(n_kernels, "n_kernels", minimum=1)
    n_channels = check_int(n_channels, "n_channels", minimum=1)
    signal_length = check_int(signal_length, "signal_length", minimum=1)
    lengths = tuple(check_int(k, "lengths", minimum=2) for k in lengths)
    if not lengths or min(lengths) > signal_length:
        raise ValueError(f"lengths must hold at least one kernel length <= the "
                         f"signal length {signal_length}, got {lengths}.")
    rng = check_random_state(random_state)
    usable = [k for k in lengths if k <= signal_length]
    ks, ds, ps, kernels, biases = [], [], [], [], []
    for _ in range(n_kernels):
        k = int(rng.choice(usable))
        n_used = int(2 ** rng.uniform(0, math.log2(min(n_channels, k) + 1)))
        channels = rng.choice(n_channels, n_used, replace=False) if n_channels > 1 \
            else np.zeros(1, dtype=int)
        weights = np.zeros((n_channels, k))
        w = rng.normal(0, 1, (n_used, k))
        weights[channels] = w - w.mean()
        bias = rng.uniform(-1, 1)
        top = math.log2((signal_length - 1) / (k - 1)) if signal_length > k else 0.0
        dilation = int(2 ** rng.uniform(0, top))
        padding = (k - 1) * dilation // 2 if rng.randint(2) else 0
        ks.append(k), ds.append(dilation), ps.append(padding)
        kernels.append(weights.astype(dtype)), biases.append(np.array([bias], dtype))
    index = [np.array([i]) for i in range(n_kernels)]
    return _groups(ks, ds, ps, kernels, biases, index)


def _minirocket_weights(dtype):
    """The 84 MiniRocket kernels: -1 everywhere, 2 at three of nine taps."""
    weights = -np.ones((MINIROCKET_KERNELS, MINIROCKET_LENGTH), dtype=dtype)
    for i, taps in enumerate(itertools.combinations(range(MINIROCKET_LENGTH), 3)):
        weights[i, list(taps)] = 2
    return weights


def _dilations(signal_length, n_per_kernel, max_dilations):
    """MiniRocket's dilations and the features each gets (per kernel)."""
    top = math.log2((signal_length - 1) / (MINIROCKET_LENGTH - 1))
    n_dilations = min(n_per_kernel, max_dilations)
    dilations, counts = np.unique(
        np.floor(np.logspace(0, top, n_dilations, base=2)).astype(np.int64),
        return_counts=True)
    per_dilation = counts * (n_per_kernel // n_dilations)
    for i in range(n_per_kernel % n_dilations):
        per_dilation[i % len(per_dilation)] += 1
    return dilations, per_dilation


def minirocket_bank(X, n_features=10_000, *, max_dilations=32, random_state=None):
    """MiniRocket's kernels and biases (Dempster et al. 2021), fitted on ``X``.

    The 84 kernels of length 9 (weights -1, and 2 at three taps) are used
    at exponentially spaced dilations ``floor(2 ** linspace(0, log2((L - 1)
    / 8), n))`` (duplicates merged, ``n = min(n_features // 84,
    max_dilations)``), and each (kernel, dilation) gets a share of the
    ``n_features // 84`` features per kernel.  Its biases are quantiles --
    at levels ``(i * golden ratio) mod 1`` -- of its 'same'-padded response
    to one randomly chosen training signal: every feature is then the
    proportion of positive values (PPV) of the response minus a bias
    typical of the data.  Half of the (kernel, dilation) pairs, alternating,
    are padded (``4 * dilation`` zeros at each end), the others are not.
    Multichannel signals are summed over their channels (MiniRocket's
    multivariate version draws channel subsets; not done here).

    Parameters
    ----------
    X : array of shape (n_samples, C, L)
        Training signals (NumPy or CuPy); ``L >= 10``.
    n_features : int, default=10_000
        Rounded down to a multiple of 84 (9,996 by default).
    max_dilations : int, default=32
    random_state : int, RandomState instance or None
        Picks the training signal of each (kernel, dilation).

    Returns
    -------
    groups : list of KernelGroup
        Biases are stored negated (they are added to the responses), in
        MiniRocket's feature order: dilation, then kernel, then quantile.

    Examples
    --------
    >>> import numpy as np
    >>> from featurelab.kernels import minirocket_bank
    >>> X = np.random.default_rng(0).standard_normal((20, 1, 40))
    >>> groups = minirocket_bank(X, 1000, random_state=0)
    >>> sum(g.biases.size for g in groups)                 # 84 * (1000 // 84)
    924
    >>> sorted({g.dilation for g in groups})
    [1, 2, 3, 4]
    """
    X = check_array(X, "X", 3, "(n_samples, n_channels, length)")
    n_samples, _, signal_length = X.shape
    if n_samples < 1 or signal_length <= MINIROCKET_LENGTH:
        raise ValueError(f"X must hold at least one signal longer than "
                         f"{MINIROCKET_LENGTH} samples, got shape {tuple(X.shape)}.")
    n_features = check_int(n_features, "n_features", minimum=MINIROCKET_KERNELS)
    max_dilations = check_int(max_dilations, "max_dilations", minimum=1)
    rng = check_random_state(random_state)
    signals = X.sum(axis=1)                                  # (n, L)
    dtype = np.float32 if X.dtype == np.float32 else np.float64
    weights = _minirocket_weights(dtype)
    n_per_kernel = n_features // MINIROCKET_KERNELS
    dilations, per_dilation = _dilations(signal_length, n_per_kernel, max_dilations)
    n_biases = MINIROCKET_KERNELS * n_per_kernel
    levels = (np.arange(1, n_biases + 1) * ((math.sqrt(5) + 1) / 2)) % 1
    ks, ds, ps, kernels, biases, index = [], [], [], [], [], []
    start = 0
    for d_index, (dilation, n_bias) in enumerate(zip(dilations, per_dilation)):
        dilation, n_bias = int(dilation), int(n_bias)
        pad = (MINIROCKET_LENGTH - 1) * dilation // 2
        for k in range(MINIROCKET_KERNELS):
            signal = to_numpy(signals[int(rng.randint(n_samples))]).astype(np.float64)
            padded = np.pad(signal, pad)
            response = sum(weights[k, j] * padded[j * dilation:j * dilation + signal_length]
                           for j in range(MINIROCKET_LENGTH))
            stop = start + n_bias
            quantiles = np.quantile(response, levels[start:stop])
            ks.append(MINIROCKET_LENGTH), ds.append(dilation)
            ps.append(pad if (d_index + k) % 2 == 0 else 0)
            kernels.append(np.broadcast_to(weights[k], (X.shape[1], MINIROCKET_LENGTH)))
            biases.append(-quantiles.astype(dtype))
            index.append(np.arange(start, stop))
            start = stop
    return _groups(ks, ds, ps, kernels, biases, index)
