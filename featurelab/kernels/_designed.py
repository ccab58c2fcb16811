"""Hand-designed kernels: Gabor, edge, Laplacian, LoG, DoG, centre-surround.

Conventions shared by every function of this module:

* **Coordinates.**  ``x`` is the column index (increasing to the right) and
  ``y`` the row index (increasing *downwards*, as ``imshow`` displays an
  array).  Angles are measured from the ``+x`` axis towards the ``+y`` axis,
  i.e. clockwise on screen, as in :func:`skimage.filters.gabor_kernel`.
* **Correlation.**  The kernels are meant for :func:`featurelab.ops.conv2d`,
  which computes cross-correlation (no flip); every statement below about a
  kernel's *response* assumes it.
* **Shape.**  Every function but :func:`gabor_kernel` returns a bank of shape
  ``(n_kernels, in_channels, size, size)``, pure NumPy, float32 by default
  (float64 allowed).  Sizes are odd wherever the kernel is centred on a pixel.
* **Channels.**  With ``in_channels = C > 1`` the spatial kernel is repeated
  on every channel and scaled so that the bank keeps its meaning: the unit-norm
  banks (:func:`gabor_bank`, :func:`center_surround_bank`) divide by
  ``sqrt(C)``, so the whole ``(C, size, size)`` kernel keeps unit L2 norm; the
  operator kernels (:func:`edge_kernels`, :func:`laplacian_kernel`,
  :func:`log_kernel`, :func:`dog_kernel`) divide by ``C``, so their response
  is the single-channel response on the mean of the channels.
"""

import math
import numbers

import numpy as np

from .._validation import check_bool, check_int, check_option, check_positive

__all__ = [
    "center_surround_bank",
    "dog_kernel",
    "edge_kernels",
    "gabor_bank",
    "gabor_kernel",
    "laplacian_kernel",
    "log_kernel",
]

# A kernel whose L2 norm, after removing its mean, is below this fraction of
# the norm of its envelope is numerically zero (rounding noise), and scaling
# it to unit norm would only amplify that noise: the banks raise instead.
_DEGENERATE = 1e-8

# Derivative and smoothing weights of the 3x3 gradient operators: the x
# kernel is smooth (along rows) times derivative (along columns).
_EDGE_WEIGHTS = {
    "sobel": (1.0, 2.0, 1.0),
    "prewitt": (1.0, 1.0, 1.0),
    "scharr": (3.0, 10.0, 3.0),
}

# Channel weights of the colour variants of gabor_bank(color='opponent'),
# channels in RGB order: luminance, red-green, blue-yellow.
_OPPONENT = np.array([
    [1.0, 1.0, 1.0],
    [1.0, -1.0, 0.0],
    [1.0, 1.0, -2.0],
]) / np.sqrt([[3.0], [2.0], [6.0]])

_SQRT_HALF = math.sqrt(0.5)
# cos and sin of the multiples of 45 degrees, exact (no 6e-17 residues).
_EXACT_COS_SIN = {
    0: (1.0, 0.0), 45: (_SQRT_HALF, _SQRT_HALF), 90: (0.0, 1.0),
    135: (-_SQRT_HALF, _SQRT_HALF), 180: (-1.0, 0.0),
    225: (-_SQRT_HALF, -_SQRT_HALF), 270: (0.0, -1.0),
    315: (_SQRT_HALF, -_SQRT_HALF),
}


# --------------------------------------------------------------------------
# validation helpers specific to this module
# --------------------------------------------------------------------------

def _check_dtype(dtype):
    """Return ``dtype`` as ``np.dtype('float32')`` or ``np.dtype('float64')``."""
    expected = "dtype must be float32 or float64"
    if dtype is None:
        raise TypeError(f"{expected}, got None.")
    try:
        result = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{expected}, got {dtype!r}.") from None
    if result not in (np.float32, np.float64):
        raise TypeError(f"{expected}, got {result.name}.")
    return result


def _check_real(value, name):
    """Check that ``value`` is a finite real number; return a float."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"{name} must be a finite real number, got "
            f"{type(value).__name__} {value!r}."
        )
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite real number, got {value!r}.")
    return float(value)


def _check_frequency(value, name):
    """Check that ``value`` is a frequency in (0, 0.5] cycles/pixel."""
    expected = f"{name} must be a real number in (0, 0.5] cycles/pixel"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{expected}, got {type(value).__name__} {value!r}.")
    if not 0 < value <= 0.5:
        raise ValueError(
            f"{expected} (0.5 is the Nyquist frequency), got {value!r}."
        )
    return float(value)


def _check_size(size, name="size", minimum=1):
    """Check that ``size`` is an odd int >= ``minimum``; return an int."""
    size = check_int(size, name, minimum=minimum)
    if size % 2 == 0:
        raise ValueError(
            f"{name} must be odd (the kernel is centred on a pixel), got "
            f"{size}."
        )
    return size


def _check_sequence(values, name, check_item, what):
    """Return a non-empty 1-D sequence as a tuple of checked items.

    ``check_item(item, f"{name}[{i}]")`` checks and converts each item, so a
    bad item is reported as ``name[i] must be ...``.
    """
    if isinstance(values, np.ndarray) and values.ndim == 1:
        values = values.tolist()
    if not isinstance(values, (tuple, list, range)):
        raise TypeError(
            f"{name} must be a non-empty sequence (tuple or list) of {what}, "
            f"got {type(values).__name__} {values!r}."
        )
    if len(values) == 0:
        raise ValueError(
            f"{name} must be a non-empty sequence of {what}, got {values!r}."
        )
    return tuple(check_item(v, f"{name}[{i}]") for i, v in enumerate(values))


# --------------------------------------------------------------------------
# numerical helpers
# --------------------------------------------------------------------------

def _gaussian_1d(sigma, radius):
    """Sampled Gaussian on ``-radius .. radius``, normalised to sum 1.

    The same weights as ``scipy.ndimage``'s Gaussian filters (and
    :func:`featurelab.ops.gaussian_window`) with the radius given directly
    rather than through ``truncate``.
    """
    t = np.arange(-radius, radius + 1, dtype=np.float64)
    with np.errstate(over="ignore"):   # t / sigma = inf for a tiny sigma: w = 0
        w = np.exp(-0.5 * (t / sigma) ** 2)
    return w / w.sum()


def _with_channels(spatial, in_channels, scale, dtype):
    """(K, s, s) float64 -> (K, C, s, s) of ``dtype``, every channel the same
    kernel times ``scale``."""
    out = np.empty((spatial.shape[0], in_channels) + spatial.shape[1:],
                   dtype=dtype)
    out[...] = (spatial * scale)[:, None]
    return out


def _check_finite_kernel(kernel, dtype, message):
    """Raise ValueError(message) when ``kernel`` overflows in ``dtype``."""
    with np.errstate(over="ignore", invalid="ignore"):
        finite = np.all(np.isfinite(kernel.astype(dtype)))
    if not finite:
        raise ValueError(message)


def _zero_mean_unit_norm(kernel, reference, message):
    """Remove the mean of ``kernel`` and scale it to unit L2 norm.

    Raise ``ValueError(message)`` when what is left is numerically zero,
    i.e. its norm is at most ``_DEGENERATE * reference``.
    """
    kernel = kernel - kernel.mean()
    norm = math.sqrt(float(np.sum(kernel * kernel)))
    if not norm > _DEGENERATE * reference:
        raise ValueError(message)
    return kernel / norm


def _sigma_from_bandwidth(bandwidth, frequency):
    """Gaussian width of a Gabor filter of ``bandwidth`` octaves.

    ``sigma = (1 / pi) sqrt(ln 2 / 2) (2**b + 1) / (2**b - 1) / frequency``
    (Petkov's relation, as in scikit-image); ``None`` when ``2**b == 1`` in
    floating point (the envelope would be infinitely wide).
    """
    # Past b = 64 the ratio (2**b + 1) / (2**b - 1) is 1.0 in float64:
    # clipping changes nothing but avoids the overflow of 2.0 ** 1024.
    power = 2.0 ** min(bandwidth, 64.0)
    if power == 1.0:
        return None
    prefactor = 1.0 / math.pi * math.sqrt(math.log(2) / 2.0) * (power + 1) / (power - 1)
    return prefactor / frequency


def _gabor_parts(frequency, theta, sigma_x, sigma_y, n_stds, offset, radius):
    """Gaussian envelope ``exp(...)`` and carrier phase of a Gabor kernel.

    Evaluated on the native grid (half-extents as scikit-image) cut to at
    most ``radius`` on each side (no cut when ``radius`` is None).
    """
    ct, st = math.cos(theta), math.sin(theta)
    half_x = max(abs(n_stds * sigma_x * ct), abs(n_stds * sigma_y * st), 1)
    half_y = max(abs(n_stds * sigma_y * ct), abs(n_stds * sigma_x * st), 1)
    if radius is not None:  # compare before ceil: half_* may be huge or inf
        half_x = radius if half_x > radius else half_x
        half_y = radius if half_y > radius else half_y
    x0, y0 = math.ceil(half_x), math.ceil(half_y)
    x = np.arange(-x0, x0 + 1)[None, :]
    y = np.arange(-y0, y0 + 1)[:, None]
    along = x * ct + y * st       # coordinate along the carrier
    across = -x * st + y * ct     # coordinate along the wave fronts
    envelope = np.exp(-0.5 * (along**2 / sigma_x**2 + across**2 / sigma_y**2))
    phase = 2 * math.pi * frequency * along + offset
    return envelope, phase


def _pad_to(kernel, size):
    """Zero-pad a kernel of odd shape symmetrically to ``(size, size)``."""
    pads = [((size - n) // 2,) * 2 for n in kernel.shape]
    return np.pad(kernel, pads)


def _check_gabor_args(frequency, theta, bandwidth, sigma_x, sigma_y, n_stds,
                      offset):
    frequency = _check_frequency(frequency, "frequency")
    theta = _check_real(theta, "theta")
    bandwidth = check_positive(bandwidth, "bandwidth")
    sigmas = []
    for name, sigma in (("sigma_x", sigma_x), ("sigma_y", sigma_y)):
        if sigma is None:
            sigma = _sigma_from_bandwidth(bandwidth, frequency)
            if sigma is None:
                raise ValueError(
                    f"bandwidth must be large enough for 2 ** bandwidth > 1 "
                    f"in floating point (it sets {name} when {name} is "
                    f"None), got {bandwidth!r}."
                )
        else:
            sigma = check_positive(sigma, name)
        sigmas.append(sigma)
    n_stds = check_positive(n_stds, "n_stds")
    offset = _check_real(offset, "offset")
    return frequency, theta, sigmas[0], sigmas[1], n_stds, offset


# --------------------------------------------------------------------------
# Gabor
# --------------------------------------------------------------------------

def gabor_kernel(frequency, theta=0, *, bandwidth=1, sigma_x=None,
                 sigma_y=None, n_stds=3, offset=0, size=None,
                 dtype=np.float64):
    """Return a real 2-D Gabor kernel: a Gaussian times a cosine grating.

    The values are the real part of
    ``skimage.filters.gabor_kernel(frequency, theta, bandwidth, sigma_x,
    sigma_y, n_stds, offset)``:

    ``g(x, y) = exp(-(u**2 / sigma_x**2 + v**2 / sigma_y**2) / 2)
    * cos(2 pi frequency u + offset) / (2 pi sigma_x sigma_y)``

    with ``u = x cos(theta) + y sin(theta)`` (along the grating) and
    ``v = -x sin(theta) + y cos(theta)``, on the integer grid
    ``|x| <= x0``, ``|y| <= y0`` where
    ``x0 = ceil(max(|n_stds sigma_x cos theta|, |n_stds sigma_y sin theta|, 1))``
    and ``y0 = ceil(max(|n_stds sigma_y cos theta|, |n_stds sigma_x sin theta|, 1))``.

    Parameters
    ----------
    frequency : float
        Spatial frequency of the grating in cycles per pixel, in
        ``(0, 0.5]`` (0.5 is the Nyquist frequency; scikit-image accepts
        higher, aliased, frequencies, this function does not).
    theta : float, default=0
        Orientation in radians: direction of the grating's wave vector,
        from ``+x`` (columns, to the right) towards ``+y`` (rows,
        downwards).  0 gives vertical stripes varying along ``x``.
    bandwidth : float, default=1
        Half-power bandwidth in octaves (finite, > 0); sets
        ``sigma = (1/pi) sqrt(ln 2 / 2) (2**b + 1) / (2**b - 1) / frequency``
        for each of ``sigma_x``, ``sigma_y`` left to None.
    sigma_x, sigma_y : float, optional
        Standard deviations of the envelope (finite, > 0) along ``u`` and
        ``v``, i.e. before rotation.
    n_stds : float, default=3
        Half-extent of the native grid in standard deviations (finite, > 0).
    offset : float, default=0
        Phase of the grating in radians: 0 gives an even (cosine) kernel,
        ``pi / 2`` an odd (sine-like) one, since ``cos(a + pi/2) = -sin(a)``.
    size : int, optional
        If given (odd, >= 1), the native kernel is centre-cropped or
        zero-padded to ``(size, size)``; the values that remain are those
        of the native kernel.
    dtype : {np.float64, np.float32}, default=np.float64

    Returns
    -------
    kernel : ndarray of shape (2 * y0 + 1, 2 * x0 + 1), or (size, size)

    Raises
    ------
    TypeError
        For a non-numeric parameter, a non-int ``size`` or a dtype other
        than float32/float64.
    ValueError
        For ``frequency`` outside ``(0, 0.5]``, non-finite angles, sigmas,
        ``bandwidth`` or ``n_stds`` that are not finite and > 0, a
        ``bandwidth`` so small that ``2 ** bandwidth == 1`` in floating
        point, or an even or non-positive ``size``.

    Notes
    -----
    Without ``size`` the kernel's shape depends on the parameters (for
    ``frequency=0.1`` and ``bandwidth=1``, ``sigma = 5.6`` pixels and the
    kernel is 35 x 35); with ``size`` only the window is evaluated, so a
    very wide envelope costs nothing.  The kernel is neither zero-mean nor
    normalised; :func:`gabor_bank` makes banks that are.

    References
    ----------
    .. [1] J. G. Daugman, "Uncertainty relation for resolution in space,
       spatial frequency, and orientation optimized by two-dimensional
       visual cortical filters", J. Opt. Soc. Am. A 2(7), 1985.
    .. [2] N. Petkov and P. Kruizinga, "Computational models of visual
       neurons specialised in the detection of periodic and aperiodic
       oriented visual stimuli", Biol. Cybern. 76, 1997.

    Examples
    --------
    >>> import numpy as np
    >>> from featurelab.kernels._designed import gabor_kernel
    >>> k = gabor_kernel(0.25)
    >>> k.shape, k.dtype
    ((15, 15), dtype('float64'))
    >>> gabor_kernel(0.25, size=5).round(3)[2]          # middle row
    array([-0.021,  0.   ,  0.031,  0.   , -0.021])
    >>> np.allclose(gabor_kernel(0.25, np.pi / 2, size=5),
    ...             gabor_kernel(0.25, 0, size=5).T)   # stripes along y
    True
    """
    frequency, theta, sigma_x, sigma_y, n_stds, offset = _check_gabor_args(
        frequency, theta, bandwidth, sigma_x, sigma_y, n_stds, offset)
    if size is not None:
        size = _check_size(size)
    dtype = _check_dtype(dtype)
    radius = None if size is None else (size - 1) // 2
    envelope, phase = _gabor_parts(frequency, theta, sigma_x, sigma_y, n_stds,
                                   offset, radius)
    kernel = envelope * np.cos(phase) * (1 / (2 * math.pi * sigma_x * sigma_y))
    if size is not None:
        kernel = _pad_to(kernel, size)
    return kernel.astype(dtype, copy=False)


def gabor_bank(size, *, n_orientations=8, frequencies=(0.1, 0.2, 0.4),
               phases=(0, math.pi / 2), bandwidth=1, in_channels=1,
               color="same", dtype=np.float32):
    """Return a bank of zero-mean, unit-norm Gabor kernels.

    One kernel per frequency, orientation ``theta_i = i pi / n_orientations``
    (``i = 0 .. n_orientations - 1``) and phase: the real Gabor kernel of
    :func:`gabor_kernel` (``offset=phase``, ``size=size``), minus its mean,
    divided by its L2 norm.

    Parameters
    ----------
    size : int
        Side of the square kernels, odd and >= 3 (a 1 x 1 kernel is zero
        once its mean is removed).
    n_orientations : int, default=8
        Number of orientations evenly spread over ``[0, pi)``; orientations
        ``theta`` and ``theta + pi`` give the same kernel up to the sign of
        its odd part, so half a turn covers every direction.
    frequencies : sequence of float, default=(0.1, 0.2, 0.4)
        Frequencies in cycles per pixel, each in ``(0, 0.5]``.  The default
        is octave-spaced (wavelengths 10, 5 and 2.5 pixels), matching the
        default one-octave bandwidth, so that neighbouring frequencies
        meet at half power, and stays below the Nyquist frequency 0.5.
        The envelope's width is ``sigma ~ 0.56 / frequency`` pixels (for
        ``bandwidth=1``), so a kernel holds ``+-3 sigma`` only when
        ``size >= 6 sigma + 1 ~ 3.4 / frequency + 1`` (35 pixels for 0.1,
        11 for 0.4); smaller sizes crop the envelope, which makes the
        kernel closer to a windowed grating.
    phases : sequence of float, default=(0, pi / 2)
        Phase offsets in radians.  The default pair gives, for each
        frequency and orientation, an even and an odd kernel in quadrature.
    bandwidth : float, default=1
        Bandwidth in octaves, as in :func:`gabor_kernel`.
    in_channels : int, default=1
        Number of input channels ``C`` of each kernel.
    color : {'same', 'opponent'}, default='same'
        ``'same'``: every channel holds the spatial kernel divided by
        ``sqrt(C)``.  ``'opponent'`` (only with ``in_channels=3``, channels
        in RGB order): each spatial kernel comes in three colour variants,
        with channel weights ``(1, 1, 1) / sqrt(3)`` (luminance, the same
        as ``'same'``), ``(1, -1, 0) / sqrt(2)`` (red minus green) and
        ``(1, 1, -2) / sqrt(6)`` (yellow, i.e. red plus green, minus blue).
    dtype : {np.float32, np.float64}, default=np.float32

    Returns
    -------
    kernels : ndarray of shape (n_kernels, in_channels, size, size)
        ``n_kernels = n_colors * len(frequencies) * n_orientations *
        len(phases)`` with ``n_colors`` 1 for ``'same'`` and 3 for
        ``'opponent'``.  Kernel ``((c * n_freq + f) * n_orientations + o)
        * n_phases + p`` has colour variant ``c``, frequency ``f``,
        orientation ``o`` and phase ``p``: phases vary fastest, so the
        default bank lists quadrature pairs next to each other, and the
        first block of an ``'opponent'`` bank is the ``'same'`` bank.  Each
        kernel has zero mean and unit L2 norm over all its channels.

    Raises
    ------
    TypeError
        For non-int sizes or counts, non-sequence ``frequencies`` or
        ``phases``, non-numeric entries, or a dtype other than
        float32/float64.
    ValueError
        For an even or too small ``size``, a frequency outside
        ``(0, 0.5]``, empty sequences, an unknown ``color``,
        ``color='opponent'`` without 3 channels, or a kernel that is
        numerically zero once cropped to ``size`` and made zero-mean (e.g.
        frequency 0.5 at phase ``pi / 2`` and ``theta = 0``: the grating
        ``sin(pi x)`` vanishes on every pixel).

    Notes
    -----
    The even (cosine) kernel is symmetric under the point reflection
    ``(x, y) -> (-x, -y)`` and the odd (phase ``pi / 2``) one antisymmetric,
    also after the mean is removed (the odd kernel's mean is zero), so the
    two kernels of a quadrature pair are orthogonal.  For an even
    ``n_orientations`` kernel ``theta + pi/2`` is kernel ``theta`` turned a
    quarter clockwise on screen (``np.rot90(k, -1)``), up to rounding.

    References
    ----------
    .. [1] J. P. Jones and L. A. Palmer, "An evaluation of the
       two-dimensional Gabor filter model of simple receptive fields in cat
       striate cortex", J. Neurophysiol. 58(6), 1987.

    Examples
    --------
    >>> import numpy as np
    >>> from featurelab.kernels._designed import gabor_bank
    >>> bank = gabor_bank(11)
    >>> bank.shape, bank.dtype          # 3 frequencies x 8 orientations x 2 phases
    ((48, 1, 11, 11), dtype('float32'))
    >>> bool(np.allclose(bank.sum(axis=(1, 2, 3)), 0, atol=1e-6))
    True
    >>> bool(np.allclose(np.linalg.norm(bank.reshape(48, -1), axis=1), 1))
    True
    >>> gabor_bank(7, n_orientations=4, frequencies=[0.25], in_channels=3,
    ...            color="opponent").shape
    (24, 3, 7, 7)
    """
    size = _check_size(size, minimum=3)
    n_orientations = check_int(n_orientations, "n_orientations", minimum=1)
    frequencies = _check_sequence(frequencies, "frequencies", _check_frequency,
                                  "frequencies in (0, 0.5] cycles/pixel")
    phases = _check_sequence(phases, "phases", _check_real,
                             "phases in radians (finite real numbers)")
    bandwidth = check_positive(bandwidth, "bandwidth")
    in_channels = check_int(in_channels, "in_channels", minimum=1)
    color = check_option(color, ("same", "opponent"), "color")
    if color == "opponent" and in_channels != 3:
        raise ValueError(
            f"color='opponent' needs in_channels=3 (RGB), got "
            f"in_channels={in_channels}."
        )
    dtype = _check_dtype(dtype)
    radius = (size - 1) // 2
    spatial = []
    for frequency in frequencies:
        sigma = _sigma_from_bandwidth(bandwidth, frequency)
        if sigma is None:
            raise ValueError(
                f"bandwidth must be large enough for 2 ** bandwidth > 1 in "
                f"floating point, got {bandwidth!r}."
            )
        for i in range(n_orientations):
            theta = i * math.pi / n_orientations
            for phase in phases:
                envelope, arg = _gabor_parts(frequency, theta, sigma, sigma, 3.0,
                                             phase, radius)
                kernel = _pad_to(envelope * np.cos(arg), size)
                reference = math.sqrt(float(np.sum(envelope * envelope)))
                spatial.append(_zero_mean_unit_norm(
                    kernel, reference,
                    f"frequencies: the Gabor kernel of frequency {frequency!r}, "
                    f"theta {theta:.6g} and phase {phase:.6g} is numerically "
                    f"zero once cropped to size={size} and made zero-mean, so "
                    f"it cannot be scaled to unit norm; use another frequency "
                    f"or phase, or a larger size."))
    spatial = np.stack(spatial)
    if color == "same":
        return _with_channels(spatial, in_channels, 1 / math.sqrt(in_channels),
                              dtype)
    out = _OPPONENT[:, None, :, None, None] * spatial[None, :, None]
    return out.reshape((-1, 3, size, size)).astype(dtype)


# --------------------------------------------------------------------------
# gradient and Laplacian operators
# --------------------------------------------------------------------------

def _cos_sin_degrees(angle):
    """cos and sin of an angle in degrees, exact at multiples of 45."""
    reduced = angle % 360.0
    if reduced in _EXACT_COS_SIN:
        return _EXACT_COS_SIN[reduced]
    rad = math.radians(reduced)
    return math.cos(rad), math.sin(rad)


def edge_kernels(kind="sobel", directions=(0, 45, 90, 135), *, in_channels=1,
                 dtype=np.float32):
    """Return 3 x 3 gradient kernels (Sobel, Prewitt or Scharr) steered to
    the given directions.

    With smoothing weights ``s`` (Sobel ``(1, 2, 1)``, Prewitt
    ``(1, 1, 1)``, Scharr ``(3, 10, 3)``) and derivative weights
    ``d = (-1, 0, 1)``, the x kernel is ``Kx[i, j] = s[i] d[j]`` and the y
    kernel ``Ky = Kx.T``; the kernel for direction ``a`` (degrees) is the
    steered combination ``cos(a) Kx + sin(a) Ky``.  For Sobel::

        0 degrees     45 degrees              90 degrees     135 degrees
        -1  0  1      -1 -1  0                -1 -2 -1        0 -1 -1
        -2  0  2      -1  0  1  * sqrt(2)      0  0  0        1  0 -1  * sqrt(2)
        -1  0  1       0  1  1                 1  2  1        1  1  0

    Prewitt 45 is ``[[-2, -1, 0], [-1, 0, 1], [0, 1, 2]] / sqrt(2)`` and
    135 ``[[0, -1, -2], [1, 0, -1], [2, 1, 0]] / sqrt(2)``; Scharr 45 is
    ``[[-6, -10, 0], [-10, 0, 10], [0, 10, 6]] / sqrt(2)`` and 135
    ``[[0, -10, -6], [10, 0, -10], [6, 10, 0]] / sqrt(2)``.

    Parameters
    ----------
    kind : {'sobel', 'prewitt', 'scharr'}, default='sobel'
    directions : sequence of float, default=(0, 45, 90, 135)
        Directions of differentiation in degrees, from ``+x`` (columns, to
        the right) towards ``+y`` (rows, *downwards*): 0 differentiates
        along x, 90 along y (down the rows), 45 towards the bottom-right
        corner, 135 towards the bottom-left corner.  Any finite angle is
        accepted; ``a + 180`` gives the negated kernel.
    in_channels : int, default=1
        Each channel holds the kernel divided by ``in_channels``, so the
        response is that of the 1-channel kernel on the channel mean.
    dtype : {np.float32, np.float64}, default=np.float32

    Returns
    -------
    kernels : ndarray of shape (len(directions), in_channels, 3, 3)

    Raises
    ------
    TypeError
        For non-sequence or non-numeric ``directions``, a non-int
        ``in_channels`` or a dtype other than float32/float64.
    ValueError
        For an unknown ``kind``, empty ``directions``, non-finite angles or
        ``in_channels < 1``.

    Notes
    -----
    Sign: with :func:`featurelab.ops.conv2d` (cross-correlation), an image
    that increases along direction ``a`` gives a positive response to the
    kernel of direction ``a``.  Kernels 0 and 90 reproduce
    ``scipy.ndimage.sobel`` / ``prewitt`` along ``axis=1`` and ``axis=0``
    (away from the borders), and Scharr 16 times
    ``skimage.filters.scharr(axis=1)`` and ``axis=0``.  Because the
    diagonals are steered rather than rotated copies of the ring of
    weights (the "compass" kernels), the response at any angle is exactly
    ``cos(a) G_x + sin(a) G_y``: a linear ramp of slope 1 along ``a``
    gives the same response (8 for Sobel, 6 for Prewitt, 32 for Scharr) in
    every direction.  Weights are the classic unnormalised integers.

    References
    ----------
    .. [1] H. Scharr, "Optimale Operatoren in der digitalen
       Bildverarbeitung", PhD thesis, Universitaet Heidelberg, 2000.

    Examples
    --------
    >>> import numpy as np
    >>> from featurelab.kernels._designed import edge_kernels
    >>> from featurelab.ops import conv2d
    >>> k = edge_kernels("sobel", (0, 90), dtype=np.float64)
    >>> k[0, 0]
    array([[-1.,  0.,  1.],
           [-2.,  0.,  2.],
           [-1.,  0.,  1.]])
    >>> ramp = np.tile(np.arange(5.0), (5, 1))[None, None]   # increases along x
    >>> conv2d(ramp, k)[0, :, 1, 1]                         # along x, along y
    array([8., 0.])
    """
    kind = check_option(kind, tuple(_EDGE_WEIGHTS), "kind")
    directions = _check_sequence(directions, "directions", _check_real,
                                 "angles in degrees (finite real numbers)")
    in_channels = check_int(in_channels, "in_channels", minimum=1)
    dtype = _check_dtype(dtype)
    kx = np.outer(_EDGE_WEIGHTS[kind], (-1.0, 0.0, 1.0))
    ky = kx.T
    spatial = np.stack([c * kx + s * ky
                        for c, s in map(_cos_sin_degrees, directions)])
    return _with_channels(spatial, in_channels, 1 / in_channels, dtype)


def laplacian_kernel(*, diagonal=False, in_channels=1, dtype=np.float32):
    """Return the 3 x 3 discrete Laplacian, 4- or 8-neighbour.

    ``diagonal=False``: ``[[0, 1, 0], [1, -4, 1], [0, 1, 0]]``, the sum of
    the second differences along x and y, as ``scipy.ndimage.laplace``.
    ``diagonal=True``: ``[[1, 1, 1], [1, -8, 1], [1, 1, 1]]``, which also
    uses the diagonal neighbours.

    Parameters
    ----------
    diagonal : bool, default=False
        Use the 8-neighbour kernel.
    in_channels : int, default=1
        Each channel holds the kernel divided by ``in_channels`` (response
        on the channel mean).
    dtype : {np.float32, np.float64}, default=np.float32

    Returns
    -------
    kernel : ndarray of shape (1, in_channels, 3, 3)

    Raises
    ------
    TypeError
        For a non-bool ``diagonal``, a non-int ``in_channels`` or a dtype
        other than float32/float64.
    ValueError
        For ``in_channels < 1``.

    Notes
    -----
    Both kernels sum to zero and are negative at the centre, so a bright
    spot gives a negative response.  On a smooth image the 4-neighbour
    kernel estimates the Laplacian ``f_xx + f_yy``; the 8-neighbour kernel
    estimates 3 times it (its response to ``x**2 + y**2`` is 12, not 4):
    these are the classic integer weights, not rescaled.

    Examples
    --------
    >>> from featurelab.kernels._designed import laplacian_kernel
    >>> laplacian_kernel()[0, 0]
    array([[ 0.,  1.,  0.],
           [ 1., -4.,  1.],
           [ 0.,  1.,  0.]], dtype=float32)
    >>> laplacian_kernel(diagonal=True, in_channels=2).shape
    (1, 2, 3, 3)
    """
    diagonal = check_bool(diagonal, "diagonal")
    in_channels = check_int(in_channels, "in_channels", minimum=1)
    dtype = _check_dtype(dtype)
    if diagonal:
        kernel = np.ones((3, 3))
        kernel[1, 1] = -8.0
    else:
        kernel = np.array([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])
    return _with_channels(kernel[None], in_channels, 1 / in_channels, dtype)


# --------------------------------------------------------------------------
# Gaussian-based blob kernels
# --------------------------------------------------------------------------

def log_kernel(size, sigma, *, in_channels=1, dtype=np.float32):
    """Return a zero-sum Laplacian-of-Gaussian kernel.

    With ``g`` the 1-D Gaussian of standard deviation ``sigma`` sampled on
    ``-r .. r`` (``r = (size - 1) // 2``) and normalised to sum 1, the
    kernel before correction is

    ``L(x, y) = g(x) g(y) ((x**2 + y**2) / sigma**4 - 2 / sigma**2)``,

    the 2-D weights of ``scipy.ndimage.gaussian_laplace(sigma, radius=r)``;
    its mean is then subtracted from every tap so that the kernel sums to
    exactly zero (a constant image gives no response).

    Parameters
    ----------
    size : int
        Side of the square kernel, odd and >= 3.  Use ``size >= 6 sigma +
        1`` to hold the kernel's support (the truncated Gaussian then
        misses less than 0.3% of its mass per axis).
    sigma : float
        Standard deviation of the Gaussian in pixels (finite, > 0).
    in_channels : int, default=1
        Each channel holds the kernel divided by ``in_channels`` (response
        on the channel mean).
    dtype : {np.float32, np.float64}, default=np.float32

    Returns
    -------
    kernel : ndarray of shape (1, in_channels, size, size)

    Raises
    ------
    TypeError
        For non-int ``size`` or ``in_channels``, a non-numeric ``sigma`` or
        a dtype other than float32/float64.
    ValueError
        For an even or too small ``size``, ``sigma`` not finite and > 0,
        ``sigma`` so small that the kernel overflows ``dtype``, or
        ``in_channels < 1``.

    Notes
    -----
    The kernel is negative at the centre (as ``gaussian_laplace``): a
    bright blob of radius about ``sqrt(2) sigma`` gives a strong negative
    response.  Its scale is that of the Laplacian itself (no ``sigma**2``
    scale normalisation).  The zero-sum correction shifts every tap by
    ``-mean(L)``, a small number when ``size >= 6 sigma + 1``; on smooth
    images the response then matches ``gaussian_laplace`` (which truncates
    at ``4 sigma`` and is not zero-sum) to within a few percent relative
    error away from the borders.

    References
    ----------
    .. [1] D. Marr and E. Hildreth, "Theory of edge detection",
       Proc. R. Soc. Lond. B 207, 1980.

    Examples
    --------
    >>> from featurelab.kernels._designed import log_kernel
    >>> k = log_kernel(7, 1.0, dtype=np.float64)
    >>> k.shape
    (1, 1, 7, 7)
    >>> abs(float(k.sum())) < 1e-12, bool(k[0, 0, 3, 3] < 0)
    (True, True)
    """
    size = _check_size(size, minimum=3)
    sigma = check_positive(sigma, "sigma")
    in_channels = check_int(in_channels, "in_channels", minimum=1)
    dtype = _check_dtype(dtype)
    radius = (size - 1) // 2
    g = _gaussian_1d(sigma, radius)
    t = np.arange(-radius, radius + 1, dtype=np.float64)
    with np.errstate(over="ignore", under="ignore", divide="ignore",
                     invalid="ignore"):   # overflow is reported just below
        q = (t / sigma) ** 2
        # g (q - 1) / sigma**2, written so that g = 0 where q = inf gives 0
        d2 = np.where(g > 0, g * (q - 1), 0.0) / sigma**2
        kernel = np.outer(g, d2) + np.outer(d2, g)
        kernel = kernel - kernel.mean()
    _check_finite_kernel(
        kernel, dtype,
        f"sigma={sigma!r} is too small: the Laplacian of Gaussian "
        f"(~ -2 / sigma**2 at the centre) overflows {dtype.name}.")
    return _with_channels(kernel[None], in_channels, 1 / in_channels, dtype)


def _dog(sigma1, sigma2, radius):
    """(G1 - G2, ||G1||, ||G2||) for 2-D Gaussians normalised to sum 1."""
    g1 = _gaussian_1d(sigma1, radius)
    g2 = _gaussian_1d(sigma2, radius)
    n1 = float(np.sum(g1 * g1))   # ||outer(g, g)||_F = ||g||**2
    n2 = float(np.sum(g2 * g2))
    return np.outer(g1, g1) - np.outer(g2, g2), n1, n2


def dog_kernel(size, sigma1, sigma2, *, in_channels=1, dtype=np.float32):
    """Return a difference-of-Gaussians kernel ``G(sigma1) - G(sigma2)``.

    Each ``G(sigma)`` is the separable 2-D Gaussian ``g(x) g(y)``, with
    ``g`` sampled on ``-r .. r`` (``r = (size - 1) // 2``) and normalised
    to sum 1: the weights of ``scipy.ndimage.gaussian_filter(sigma,
    radius=r)``.  The kernel therefore sums to zero.

    Parameters
    ----------
    size : int
        Side of the square kernel, odd and >= 3.  ``size >= 6 max(sigma1,
        sigma2) + 1`` keeps both Gaussians essentially untruncated.
    sigma1, sigma2 : float
        Standard deviations in pixels (finite, > 0, different).
        ``sigma1 < sigma2`` gives an on-centre kernel (positive centre,
        negative surround), ``sigma1 > sigma2`` an off-centre one.
    in_channels : int, default=1
        Each channel holds the kernel divided by ``in_channels`` (response
        on the channel mean).
    dtype : {np.float32, np.float64}, default=np.float32

    Returns
    -------
    kernel : ndarray of shape (1, in_channels, size, size)

    Raises
    ------
    TypeError
        For non-int ``size`` or ``in_channels``, non-numeric sigmas or a
        dtype other than float32/float64.
    ValueError
        For an even or too small ``size``, sigmas not finite and > 0,
        ``sigma1 == sigma2`` (the kernel would be zero) or
        ``in_channels < 1``.

    Notes
    -----
    Away from the borders, the response equals
    ``gaussian_filter(x, sigma1, radius=r) - gaussian_filter(x, sigma2,
    radius=r)`` up to rounding.  Since a Gaussian's derivative in
    ``sigma`` is ``sigma`` times its Laplacian, the DoG approximates
    ``-(sigma2 - sigma1) * s`` times the Laplacian of Gaussian at the
    intermediate scale ``s = sqrt(sigma1 * sigma2)``; ``sigma2 = 1.6
    sigma1`` is Marr and Hildreth's ratio (for sigma1 = 2: cosine 0.999
    with ``-log_kernel(21, 2.53)``, but only 0.94 with ``-log_kernel(21,
    2)``).

    References
    ----------
    .. [1] D. Marr and E. Hildreth, "Theory of edge detection",
       Proc. R. Soc. Lond. B 207, 1980.

    Examples
    --------
    >>> from featurelab.kernels._designed import dog_kernel
    >>> k = dog_kernel(9, 1.0, 1.6, dtype=np.float64)
    >>> k.shape, abs(float(k.sum())) < 1e-12, bool(k[0, 0, 4, 4] > 0)
    ((1, 1, 9, 9), True, True)
    """
    size = _check_size(size, minimum=3)
    sigma1 = check_positive(sigma1, "sigma1")
    sigma2 = check_positive(sigma2, "sigma2")
    if sigma1 == sigma2:
        raise ValueError(
            f"sigma2 must differ from sigma1 (the difference would be zero), "
            f"got sigma1={sigma1!r} and sigma2={sigma2!r}."
        )
    in_channels = check_int(in_channels, "in_channels", minimum=1)
    dtype = _check_dtype(dtype)
    kernel = _dog(sigma1, sigma2, (size - 1) // 2)[0]
    return _with_channels(kernel[None], in_channels, 1 / in_channels, dtype)


def center_surround_bank(size, sigmas=(1.0, 2.0), *, ratio=1.6, in_channels=1,
                         dtype=np.float32):
    """Return on-centre and off-centre difference-of-Gaussians kernels.

    For each centre width ``sigma`` the on-centre kernel is
    ``G(sigma) - G(ratio * sigma)`` (as :func:`dog_kernel`), made zero-mean
    and scaled to unit L2 norm; the off-centre kernel is its negative.

    Parameters
    ----------
    size : int
        Side of the square kernels, odd and >= 3.  ``size >= 6 ratio
        max(sigmas) + 1`` keeps the surrounds untruncated (the default
        sigmas need 21).
    sigmas : sequence of float, default=(1.0, 2.0)
        Centre standard deviations in pixels (finite, > 0).
    ratio : float, default=1.6
        Surround width over centre width, finite and > 1; 1.6 makes the
        DoG close to a Laplacian of Gaussian (Marr and Hildreth).
    in_channels : int, default=1
        Each channel holds the kernel divided by ``sqrt(in_channels)``
        (unit norm over the whole kernel).
    dtype : {np.float32, np.float64}, default=np.float32

    Returns
    -------
    kernels : ndarray of shape (2 * len(sigmas), in_channels, size, size)
        Kernel ``2 i`` is on-centre (positive centre) and ``2 i + 1``
        off-centre, both for ``sigmas[i]``.

    Raises
    ------
    TypeError
        For non-int ``size`` or ``in_channels``, a non-sequence ``sigmas``,
        non-numeric values or a dtype other than float32/float64.
    ValueError
        For an even or too small ``size``, empty ``sigmas``, values not
        finite and > 0, ``ratio <= 1``, ``in_channels < 1``, or a sigma for
        which the DoG is numerically zero in the window (centre and
        surround both narrower than a pixel, or both much wider than
        ``size``).

    References
    ----------
    .. [1] S. W. Kuffler, "Discharge patterns and functional organization
       of mammalian retina", J. Neurophysiol. 16(1), 1953.

    Examples
    --------
    >>> import numpy as np
    >>> from featurelab.kernels._designed import center_surround_bank
    >>> bank = center_surround_bank(13, (1.0, 2.0))
    >>> bank.shape
    (4, 1, 13, 13)
    >>> bool(np.array_equal(bank[1], -bank[0])), bool(bank[0, 0, 6, 6] > 0)
    (True, True)
    """
    size = _check_size(size, minimum=3)
    sigmas = _check_sequence(sigmas, "sigmas", check_positive,
                             "finite real numbers > 0")
    ratio = check_positive(ratio, "ratio")
    if not ratio > 1:
        raise ValueError(
            f"ratio must be > 1 (the surround wider than the centre), got "
            f"{ratio!r}."
        )
    in_channels = check_int(in_channels, "in_channels", minimum=1)
    dtype = _check_dtype(dtype)
    radius = (size - 1) // 2
    spatial = []
    for sigma in sigmas:
        dog, n1, n2 = _dog(sigma, ratio * sigma, radius)
        on = _zero_mean_unit_norm(
            dog, max(n1, n2),
            f"sigmas: the difference of Gaussians of sigma {sigma!r} and "
            f"{ratio * sigma!r} is numerically zero in a window of "
            f"size={size}; use a sigma between about 0.3 and size / 2.")
        spatial += [on, -on]
    return _with_channels(np.stack(spatial), in_channels,
                          1 / math.sqrt(in_channels), dtype)
