"""Morlet wavelet banks for scattering-style networks (Mallat 2012; kymatio).

* :func:`morlet_kernel`: one complex 2-D Morlet wavelet (or, with
  ``xi=0``, a Gaussian) on a centred integer grid.
* :func:`morlet_bank`: the wavelets ``psi_{j, theta}`` of a 2-D scattering
  transform at ``J`` scales and ``L`` orientations, as pairs of real
  kernels (real part, imaginary part), and the Gaussian low-pass ``phi_J``.
* :func:`wavelet_conv`, :func:`second_order_conv`, :func:`lowpass`: the
  per-channel (depthwise) convolutions of a scattering network, written as
  functions of a batch for :class:`featurelab.layers.FunctionLayer`
  (:func:`featurelab.presets.scattering2d` assembles them).

The filter design restates kymatio's ``Scattering2D`` (kymatio 0.3,
``scattering2d/filter_bank.py``): wavelet ``j`` has a Gaussian envelope of
width ``sigma = 0.8 * 2**j`` along its wave vector and ``sigma / slant``
across it, with ``slant = 4 / L``, central frequency ``xi = 3 pi / 4 /
2**j`` radians per pixel, and is made zero-mean by subtracting the envelope
times a constant (a Morlet wavelet); the envelope is normalised by ``2 pi
sigma**2 / slant``.  The low-pass is an isotropic Gaussian of width
``0.8 * 2**(J - 1)``, as in kymatio's code.
"""

import math
import numbers

import numpy as np

from .._validation import check_int, check_positive
from ..backend import asarray, get_namespace, is_cupy_array
from ..ops import conv2d

__all__ = ["lowpass", "morlet_bank", "morlet_kernel", "second_order_conv",
           "wavelet_conv"]

#: kymatio's constants: envelope width of the finest wavelet (pixels) and
#: its central frequency (radians per pixel).
SIGMA0 = 0.8
XI0 = 3 * np.pi / 4


def _check_size(size):
    """``size`` as a pair of odd ints >= 3."""
    pair = size if isinstance(size, (tuple, list)) else (size, size)
    if len(pair) != 2:
        raise ValueError(f"size must be an int or a pair of ints, got {size!r}.")
    for n in pair:
        if isinstance(n, bool) or not isinstance(n, numbers.Integral):
            raise TypeError(f"size must be an int or a pair of ints, got {size!r}.")
        if n < 3 or n % 2 == 0:
            raise ValueError(
                "size must be odd and >= 3 on both axes (a grid centred on a "
                f"pixel, wide enough for an oscillation), got {size!r}."
            )
    return int(pair[0]), int(pair[1])


def _check_real(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) \
            or not math.isfinite(value):
        raise TypeError(f"{name} must be a finite real number, got {value!r}.")
    return float(value)


def morlet_kernel(size, sigma, theta=0.0, xi=XI0, slant=1.0):
    """A complex 2-D Morlet wavelet on a centred integer grid.

    ``psi(p) = g(p) (exp(i xi u) - beta)`` where ``u = x cos(theta) +
    y sin(theta)`` is the coordinate along the wave vector, ``v = -x
    sin(theta) + y cos(theta)`` the one across it, ``g(p) = exp(-(u**2 +
    slant**2 v**2) / (2 sigma**2)) * slant / (2 pi sigma**2)`` the Gaussian
    envelope, and ``beta = sum(g exp(i xi u)) / sum(g)`` over the grid, so
    that ``psi`` sums to zero on the grid.  ``xi=0`` gives the envelope
    alone (a Gaussian, ``beta = 0``).

    Parameters
    ----------
    size : int or (int, int)
        Grid shape ``(rows, columns)``, odd and >= 3: offsets ``y`` (rows,
        downwards) and ``x`` (columns, to the right) run from ``-(n - 1) /
        2`` to ``(n - 1) / 2``.
    sigma : float
        Envelope width along the wave vector, in pixels (> 0).
    theta : float, default=0
        Direction of the wave vector in radians, from ``+x`` towards ``+y``
        (featurelab's Gabor convention): 0 oscillates along the columns.
    xi : float, default=3 pi / 4
        Central frequency in radians per pixel (>= 0).
    slant : float, default=1
        Envelope width across the wave vector is ``sigma / slant`` (> 0).

    Returns
    -------
    psi : ndarray of shape (rows, columns), complex128

    Raises
    ------
    TypeError
        For a non-int ``size`` or non-numeric parameters.
    ValueError
        For an even or too small ``size``, ``sigma`` or ``slant`` <= 0,
        ``xi`` < 0.

    Examples
    --------
    >>> import numpy as np
    >>> from featurelab.kernels import morlet_kernel
    >>> psi = morlet_kernel(9, 0.8, slant=0.5)
    >>> psi.shape, psi.dtype
    ((9, 9), dtype('complex128'))
    >>> bool(abs(psi.sum()) < 1e-12)                      # zero mean
    True
    >>> bool(np.isclose(morlet_kernel(9, 0.8, xi=0).sum(), 1, atol=1e-3))
    True
    """
    rows, cols = _check_size(size)
    sigma = check_positive(sigma, "sigma")
    slant = check_positive(slant, "slant")
    theta = _check_real(theta, "theta")
    xi = _check_real(xi, "xi")
    if xi < 0:
        raise ValueError(f"xi must be >= 0, got {xi!r}.")
    y = np.arange(rows, dtype=np.float64)[:, None] - (rows - 1) / 2
    x = np.arange(cols, dtype=np.float64)[None, :] - (cols - 1) / 2
    u = x * math.cos(theta) + y * math.sin(theta)
    v = -x * math.sin(theta) + y * math.cos(theta)
    envelope = np.exp(-(u**2 + slant**2 * v**2) / (2 * sigma**2))
    envelope *= slant / (2 * np.pi * sigma**2)
    if xi == 0:
        return envelope.astype(np.complex128)
    wave = np.exp(1j * xi * u)
    beta = (envelope * wave).sum() / envelope.sum()
    return envelope * (wave - beta)


def _default_size(J, L, slant, sigma_phi):
    widest = max(SIGMA0 * 2 ** (J - 1) / min(slant, 1.0), sigma_phi)
    half = math.ceil(3 * widest)
    return 2 * half + 1


def morlet_bank(J, L=8, *, size=None, slant=None, sigma_phi=None, dtype=np.float32):
    """The Morlet wavelets and Gaussian low-pass of a 2-D scattering transform.

    Wavelet ``psi_{j, l}``, for scales ``j = 0 .. J-1`` and orientations
    ``l = 0 .. L-1``, is :func:`morlet_kernel` with ``sigma = 0.8 * 2**j``,
    ``theta = pi * l / L``, ``xi = 3 pi / 4 / 2**j`` and ``slant = 4 / L``
    (kymatio's ``Scattering2D`` design).  The low-pass ``phi_J`` is a
    Gaussian of width ``sigma_phi = 0.8 * 2**(J - 1)`` normalised to sum to
    1 on the grid.

    Parameters
    ----------
    J : int
        Number of scales (>= 1); the scattering averages over ``2**J``
        pixels.
    L : int, default=8
        Number of orientations in ``[0, pi)`` (>= 1).
    size : int or (int, int), optional
        Kernel grid, odd and >= 3 per axis.  Default: ``2 * ceil(3 s) + 1``
        with ``s`` the widest standard deviation in the bank (the coarsest
        wavelet across its wave vector, ``0.8 * 2**(J-1) / slant``, or
        ``sigma_phi``): the grid covers +-3 standard deviations, so the
        truncated envelope loses less than 1 % of its mass.  11 for
        ``J=1, L=8``; 21 for ``J=2, L=8``.
    slant : float, optional
        Default ``4 / L``.
    sigma_phi : float, optional
        Default ``0.8 * 2**(J - 1)``, kymatio's value (the scattering
        literature often writes ``2**J``; kymatio's filters are narrower).
    dtype : {np.float32, np.float64}, default=np.float32

    Returns
    -------
    psi : ndarray of shape (2 * J * L, 1, rows, cols)
        Kernel ``2 * (j * L + l)`` is the real part of ``psi_{j, l}``,
        kernel ``2 * (j * L + l) + 1`` its imaginary part, so that
        ``featurelab.ops.channel_pool(maps, 2, mode='l2')`` of the responses
        is the complex modulus ``|x * psi_{j, l}|``.
    phi : ndarray of shape (1, 1, rows, cols)

    Raises
    ------
    TypeError
        For a non-int ``J``, ``L`` or ``size``, or an unsupported dtype.
    ValueError
        For ``J < 1``, ``L < 1``, or an even ``size`` or one below 3.

    Notes
    -----
    The kernels are applied to each input channel separately (a depthwise
    convolution: :func:`wavelet_conv`).  Unlike kymatio, which builds its
    filters in Fourier space on a periodic grid over the reflect-padded
    image, these kernels live on a finite spatial grid and are meant for
    zero ('same') padding: near the border a response sees zeros, not the
    image's reflection.  Cross-correlation (featurelab's convention) and
    convolution give the same moduli, since ``psi(-p)`` is the complex
    conjugate of ``psi(p)`` on a centred grid.  Kymatio orders its angles
    ``(L/2 - 1 - l) pi / L`` with ``theta`` measured from the row axis; for
    even ``L`` this is the same set of orientations (modulo ``pi``, which
    only conjugates a wavelet) in another order.

    References
    ----------
    .. [1] S. Mallat, "Group invariant scattering", Comm. Pure Appl. Math.
       65(10), 2012.
    .. [2] J. Bruna and S. Mallat, "Invariant scattering convolution
       networks", IEEE TPAMI 35(8), 2013.
    .. [3] M. Andreux et al., "Kymatio: scattering transforms in Python",
       JMLR 21(60), 2020.

    Examples
    --------
    >>> import numpy as np
    >>> from featurelab.kernels import morlet_bank
    >>> psi, phi = morlet_bank(J=2, L=4)
    >>> psi.shape, phi.shape, psi.dtype
    ((16, 1, 11, 11), (1, 1, 11, 11), dtype('float32'))
    >>> bool(np.abs(psi.sum(axis=(2, 3))).max() < 1e-6), float(phi.sum().round(6))
    (True, 1.0)
    """
    J = check_int(J, "J", minimum=1)
    L = check_int(L, "L", minimum=1)
    if dtype not in (np.float32, np.float64, np.dtype("float32"), np.dtype("float64")):
        raise TypeError(f"dtype must be np.float32 or np.float64, got {dtype!r}.")
    slant = 4.0 / L if slant is None else check_positive(slant, "slant")
    sigma_phi = (SIGMA0 * 2 ** (J - 1) if sigma_phi is None
                 else check_positive(sigma_phi, "sigma_phi"))
    size = _check_size(_default_size(J, L, slant, sigma_phi) if size is None else size)
    psi = np.empty((2 * J * L, 1) + size, dtype=np.float64)
    for j in range(J):
        for l_ in range(L):
            w = morlet_kernel(size, SIGMA0 * 2**j, np.pi * l_ / L, XI0 / 2**j, slant)
            k = 2 * (j * L + l_)
            psi[k, 0], psi[k + 1, 0] = w.real, w.imag
    phi = morlet_kernel(size, sigma_phi, xi=0.0).real
    phi = (phi / phi.sum())[None, None]
    return psi.astype(dtype), phi.astype(dtype)


# ------------------------------------------------------------------------
# Depthwise convolutions of a scattering network (for FunctionLayer)


def _per_channel(x, kernels, stride, max_memory):
    """Every kernel ``(K, 1, kh, kw)`` on every channel of ``x`` separately,
    'same' zero padding: ``(N, C * K, H', W')``, channel ``c * K + k``."""
    n, c, h, w = x.shape
    kernels = asarray(kernels, backend="cupy" if is_cupy_array(x) else "numpy",
                      dtype=x.dtype)
    # taps further than (size - 1) from every output never meet the image:
    # cropping odd kernels to 2 * size - 1 changes no output of 'same'
    kh, kw = kernels.shape[2:]
    ch, cw = max(0, (kh - (2 * h - 1)) // 2), max(0, (kw - (2 * w - 1)) // 2)
    kernels = kernels[:, :, ch:kh - ch, cw:kw - cw]
    y = conv2d(x.reshape(n * c, 1, h, w), kernels, stride=stride, padding="same",
               max_memory=max_memory)
    return y.reshape((n, c * kernels.shape[0]) + y.shape[2:])


def wavelet_conv(x, kernels, *, max_memory="512MB"):
    """Each channel of ``x`` cross-correlated with every kernel, separately.

    A depthwise convolution with 'same' zero padding: for a wavelet bank
    from :func:`morlet_bank`, ``channel_pool(wavelet_conv(x, psi), 2,
    mode='l2')`` is ``|x_c * psi_{j, l}|`` at channel ``(c * J + j) * L +
    l``.

    Parameters
    ----------
    x : array of shape (n_samples, C, H, W)
        NumPy or CuPy.
    kernels : array of shape (K, 1, kh, kw)
        Odd ``kh`` and ``kw``; kernels wider than ``2 H - 1`` (``2 W - 1``)
        are centre-cropped to it, which changes no output.
    max_memory : int or str, default='512MB'
        As :func:`featurelab.ops.conv2d`.

    Returns
    -------
    maps : array of shape (n_samples, C * K, H, W)
        Channel ``c * K + k`` is channel ``c`` through kernel ``k``.

    Examples
    --------
    >>> import numpy as np
    >>> from featurelab.kernels import morlet_bank
    >>> from featurelab.kernels._scattering import wavelet_conv
    >>> psi, _ = morlet_bank(J=1, L=4)
    >>> x = np.random.default_rng(0).random((2, 3, 8, 8), dtype=np.float32)
    >>> wavelet_conv(x, psi).shape                          # 3 channels x 8 kernels
    (2, 24, 8, 8)
    """
    return _per_channel(x, kernels, 1, max_memory)


def second_order_conv(x, kernels, J, L, *, max_memory="512MB"):
    """Second wavelet layer of a scattering network: each first-order
    modulus ``|x_c * psi_{j1, l1}|``, ``j1 < J - 1``, convolved with every
    wavelet ``psi_{j2, l2}`` of a coarser scale ``j2 > j1``.

    Parameters
    ----------
    x : array of shape (n_samples, C * (J - 1) * L, H, W)
        First-order moduli for ``j1 = 0 .. J-2``, channel ``(c * (J - 1) +
        j1) * L + l1`` (``channel_pool(wavelet_conv(x, psi[:2 * (J-1) * L]),
        2, mode='l2')``).
    kernels : array of shape (2 * J * L, 1, kh, kw)
        The wavelets of :func:`morlet_bank` (real and imaginary parts).
    J, L : int
        Scales and orientations of ``kernels``.
    max_memory : int or str, default='512MB'

    Returns
    -------
    maps : array of shape (n_samples, C * P * 2, H, W)
        With ``P = L**2 J (J - 1) / 2`` paths per channel in the order
        ``(c, j1, l1, j2, l2)``, real and imaginary parts interleaved (so
        ``channel_pool(maps, 2, mode='l2')`` gives the moduli).

    Examples
    --------
    >>> import numpy as np
    >>> from featurelab.kernels import morlet_bank
    >>> from featurelab.kernels._scattering import second_order_conv
    >>> psi, _ = morlet_bank(J=3, L=2)
    >>> u1 = np.ones((1, 2 * 2, 8, 8), dtype=np.float32)  # C=1: (j1, l1), j1 < 2
    >>> second_order_conv(u1, psi, 3, 2).shape    # P = 2**2 * 3 * 2 / 2 = 12 paths
    (1, 24, 8, 8)
    """
    J = check_int(J, "J", minimum=1)
    L = check_int(L, "L", minimum=1)
    n, channels, h, w = x.shape
    per = (J - 1) * L
    if J < 2 or channels % per or kernels.shape[0] != 2 * J * L:
        raise ValueError(
            f"x must have C * (J - 1) * L channels and kernels 2 * J * L, got "
            f"{channels} channels and {kernels.shape[0]} kernels for J={J}, L={L}."
        )
    c = channels // per
    u1 = x.reshape(n, c, J - 1, L, h, w)
    out = []
    for j1 in range(J - 1):
        y = _per_channel(u1[:, :, j1].reshape(n, c * L, h, w),
                         kernels[2 * (j1 + 1) * L:], 1, max_memory)
        out.append(y.reshape(n, c, -1, h, w))
    return get_namespace(x).concatenate(out, axis=2).reshape(n, -1, h, w)


def lowpass(x, phi, stride, *, max_memory="512MB"):
    """Average every channel with the low-pass ``phi`` and subsample.

    Parameters
    ----------
    x : array of shape (n_samples, C, H, W)
    phi : array of shape (1, 1, kh, kw)
        Odd ``kh`` and ``kw`` (e.g. from :func:`morlet_bank`).
    stride : int
        Subsampling step, ``2**J`` in a scattering network.
    max_memory : int or str, default='512MB'

    Returns
    -------
    maps : array of shape (n_samples, C, ceil(H / stride), ceil(W / stride))
        'same' zero padding (PyTorch's rule: for an even ``H`` and stride 2
        the samples are centred on the odd rows).

    Examples
    --------
    >>> import numpy as np
    >>> from featurelab.kernels import morlet_bank
    >>> from featurelab.kernels._scattering import lowpass
    >>> _, phi = morlet_bank(J=2, L=8)
    >>> lowpass(np.ones((1, 3, 16, 16), dtype=np.float32), phi, 4).shape
    (1, 3, 4, 4)
    """
    stride = check_int(stride, "stride", minimum=1)
    return _per_channel(x, phi, stride, max_memory)
