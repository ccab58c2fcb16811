"""Tests for the hand-designed kernels of :mod:`featurelab.kernels._designed`.

Oracles:

* :func:`gabor_kernel` against the real part of
  :func:`skimage.filters.gabor_kernel` (same grid, same values up to the
  rounding of the complex exponential: relative error < 1e-14);
* the 0 and 90 degree :func:`edge_kernels` against ``scipy.ndimage.sobel`` /
  ``prewitt`` and ``skimage.filters.scharr`` (times 16), and
  :func:`laplacian_kernel` against ``scipy.ndimage.laplace``, on the interior
  of real (``skimage.data.camera``) and random images, where the reflect
  padding of SciPy plays no role;
* :func:`log_kernel` against the impulse response of
  ``scipy.ndimage.gaussian_laplace`` minus its mean (exact), and against
  the default ``gaussian_laplace`` on smooth images (approximate: relative
  error < 5%, correlation > 0.999; measured about 1-2.5% and 0.9998);
* :func:`dog_kernel` against ``gaussian_filter(sigma1) -
  gaussian_filter(sigma2)`` with the same radius (exact up to rounding).

The kernels are NumPy-only, so these tests do not take the ``backend``
fixture.
"""

import itertools
import math
import re

import numpy as np
import pytest
import skimage.data
import skimage.filters
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage as ndi

from featurelab.kernels._designed import (
    center_surround_bank,
    dog_kernel,
    edge_kernels,
    gabor_bank,
    gabor_kernel,
    laplacian_kernel,
    log_kernel,
)
from featurelab.ops import conv2d

RNG = np.random.default_rng(12345)
CAMERA = skimage.data.camera()[::8, ::8].astype(np.float64) / 255.0  # 64 x 64
NOISE = RNG.random((40, 37))
SMOOTH_NOISE = ndi.gaussian_filter(RNG.random((70, 66)), 2.0)
IMAGES = {"camera": CAMERA, "random": NOISE}


def correlate(image, kernels, padding="valid"):
    """conv2d of one 2-D image with a (K, 1, k, k) bank -> (K, h, w)."""
    return conv2d(image[None, None], kernels, padding=padding)[0]


def crop(a, m):
    """Remove ``m`` pixels on every side of the last two axes."""
    return a[..., m:a.shape[-2] - m, m:a.shape[-1] - m] if m else a


def impulse(n):
    d = np.zeros((n, n))
    d[n // 2, n // 2] = 1.0
    return d


# --------------------------------------------------------------------------
# gabor_kernel
# --------------------------------------------------------------------------

SIGMAS = [(None, None), (2.5, None), (None, 1.3), (2.0, 3.5)]


def skimage_gabor(frequency, theta=0, bandwidth=1, sigma_x=None, sigma_y=None,
                  n_stds=3, offset=0):
    return skimage.filters.gabor_kernel(frequency, theta, bandwidth, sigma_x,
                                        sigma_y, n_stds, offset).real


def assert_same_as_skimage(ours, ref):
    assert ours.shape == ref.shape
    np.testing.assert_allclose(ours, ref, rtol=0,
                               atol=1e-14 * np.abs(ref).max())


@pytest.mark.parametrize("sigma_x, sigma_y", SIGMAS)
@pytest.mark.parametrize("frequency", [0.05, 0.13, 0.25, 0.4, 0.5])
def test_gabor_kernel_equals_skimage_real_part(frequency, sigma_x, sigma_y):
    for theta, bandwidth, n_stds, offset in itertools.product(
            [0, 0.3, np.pi / 4, np.pi / 2, 2.0, np.pi, -1.1],
            [0.5, 1, 1.7], [1, 2.5, 3], [0, np.pi / 2, 1.0, -2.0]):
        ours = gabor_kernel(frequency, theta, bandwidth=bandwidth,
                            sigma_x=sigma_x, sigma_y=sigma_y, n_stds=n_stds,
                            offset=offset)
        assert ours.dtype == np.float64
        assert_same_as_skimage(ours, skimage_gabor(
            frequency, theta, bandwidth, sigma_x, sigma_y, n_stds, offset))


@settings(max_examples=60, deadline=None)
@given(frequency=st.floats(0.02, 0.5),
       theta=st.floats(-7, 7),
       bandwidth=st.floats(0.3, 3.0),
       sigma_x=st.none() | st.floats(0.3, 8.0),
       sigma_y=st.none() | st.floats(0.3, 8.0),
       n_stds=st.floats(0.2, 4.0),
       offset=st.floats(-7, 7))
def test_gabor_kernel_equals_skimage_hypothesis(frequency, theta, bandwidth,
                                                sigma_x, sigma_y, n_stds,
                                                offset):
    ours = gabor_kernel(frequency, theta, bandwidth=bandwidth, sigma_x=sigma_x,
                        sigma_y=sigma_y, n_stds=n_stds, offset=offset)
    assert_same_as_skimage(ours, skimage_gabor(
        frequency, theta, bandwidth, sigma_x, sigma_y, n_stds, offset))


@pytest.mark.parametrize("kwargs", [
    dict(frequency=0.1), dict(frequency=0.25, theta=0.7, offset=np.pi / 2),
    dict(frequency=0.4, theta=2.0, sigma_x=1.0, sigma_y=4.0),
    dict(frequency=0.3, sigma_x=0.5, sigma_y=0.5),   # native 3 x 3
])
@pytest.mark.parametrize("size", [1, 3, 7, 15, 41])
def test_gabor_kernel_size_crops_or_pads_the_native_kernel(kwargs, size):
    native = gabor_kernel(**kwargs)
    ours = gabor_kernel(**kwargs, size=size)
    assert ours.shape == (size, size)
    r = (size - 1) // 2
    ry, rx = (native.shape[0] - 1) // 2, (native.shape[1] - 1) // 2
    expected = np.zeros((size, size))
    # the overlap of the two centred windows holds the native values
    oy, ox = min(r, ry), min(r, rx)
    expected[r - oy:r + oy + 1, r - ox:r + ox + 1] = \
        native[ry - oy:ry + oy + 1, rx - ox:rx + ox + 1]
    np.testing.assert_array_equal(ours, expected)


def test_gabor_kernel_dtype_and_shape():
    k = gabor_kernel(0.2, 0.5, size=9, dtype=np.float32)
    assert k.dtype == np.float32 and k.shape == (9, 9)
    np.testing.assert_allclose(k, gabor_kernel(0.2, 0.5, size=9), rtol=1e-6,
                               atol=1e-9)
    assert gabor_kernel(0.25, dtype="float64").dtype == np.float64


def test_gabor_kernel_wide_envelope_with_size_is_cheap():
    # sigma ~ 5.6e5 pixels: the native kernel would be huge; the window isn't
    k = gabor_kernel(1e-6, 0.3, size=5)
    assert k.shape == (5, 5) and np.all(np.isfinite(k))


@pytest.mark.parametrize("theta", [0.0, 0.4, np.pi / 4, 1.3, 2.9])
@pytest.mark.parametrize("offset", [0.0, np.pi / 2, 1.0])
@pytest.mark.parametrize("sigma_x, sigma_y", [(None, None), (1.5, 3.0)])
def test_gabor_kernel_quarter_turn(theta, offset, sigma_x, sigma_y):
    """Kernel theta is kernel theta + pi/2 turned a quarter counter-clockwise
    (np.rot90): exact in exact arithmetic, equal here up to the rounding of
    cos/sin(theta + pi/2) (tolerance 1e-12 of the peak)."""
    kw = dict(sigma_x=sigma_x, sigma_y=sigma_y, offset=offset)
    for size in (None, 11):
        k = gabor_kernel(0.2, theta, size=size, **kw)
        turned = np.rot90(gabor_kernel(0.2, theta + np.pi / 2, size=size, **kw))
        assert k.shape == turned.shape
        np.testing.assert_allclose(k, turned, rtol=0,
                                   atol=1e-12 * np.abs(k).max())


def test_gabor_kernel_orientation_convention():
    """theta = 0 varies along x (columns) only at its centre row; with
    isotropic sigmas theta = pi/2 is its transpose (varies down the rows)."""
    k0 = gabor_kernel(0.25, 0, size=9)
    k90 = gabor_kernel(0.25, np.pi / 2, size=9)
    np.testing.assert_allclose(k90, k0.T, atol=1e-15)
    # cos(2 pi 0.25 x): +1 at x = 0, 0 at x = +-1, -1 at x = +-2
    row = k0[4] / k0[4, 4]
    np.testing.assert_allclose(row[[2, 6]] / np.exp(-0.5 * 4 / 2.2487**2),
                               [-1, -1], rtol=1e-3)
    np.testing.assert_allclose(row[[3, 5]], [0, 0], atol=1e-15)


# --------------------------------------------------------------------------
# gabor_bank
# --------------------------------------------------------------------------

def norms(bank):
    return np.linalg.norm(bank.reshape(bank.shape[0], -1).astype(np.float64),
                          axis=1)


@pytest.mark.parametrize("size, n_orientations, frequencies, phases, channels, color", [
    (11, 8, (0.1, 0.2, 0.4), (0, np.pi / 2), 1, "same"),
    (5, 4, [0.25], (0,), 1, "same"),
    (7, 3, np.array([0.15, 0.45]), [0.0, 1.0, 2.0], 2, "same"),
    (9, 6, (0.2, 0.3), (0, np.pi / 2), 3, "same"),
    (9, 6, (0.2, 0.3), (0, np.pi / 2), 3, "opponent"),
    (3, 1, (0.5,), (0,), 1, "same"),
])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gabor_bank_shape_dtype_zero_mean_unit_norm(size, n_orientations,
                                                    frequencies, phases,
                                                    channels, color, dtype):
    bank = gabor_bank(size, n_orientations=n_orientations,
                      frequencies=frequencies, phases=phases,
                      in_channels=channels, color=color, dtype=dtype)
    n_colors = 3 if color == "opponent" else 1
    n = n_colors * len(frequencies) * n_orientations * len(phases)
    assert bank.shape == (n, channels, size, size)
    assert bank.dtype == dtype
    tol = 1e-6 if dtype == np.float32 else 1e-13
    np.testing.assert_allclose(bank.astype(np.float64).sum(axis=(1, 2, 3)), 0,
                               atol=tol)
    np.testing.assert_allclose(norms(bank), 1, atol=tol)


def test_gabor_bank_defaults():
    bank = gabor_bank(11)
    assert bank.shape == (3 * 8 * 2, 1, 11, 11) and bank.dtype == np.float32
    explicit = gabor_bank(11, n_orientations=8, frequencies=(0.1, 0.2, 0.4),
                          phases=(0, np.pi / 2), bandwidth=1)
    np.testing.assert_array_equal(bank, explicit)


def test_gabor_bank_order_and_values_follow_gabor_kernel():
    freqs, n_o, phases = (0.15, 0.35), 5, (0.0, np.pi / 2, 0.5)
    bank = gabor_bank(9, n_orientations=n_o, frequencies=freqs, phases=phases,
                      bandwidth=1.3, dtype=np.float64)
    for (f, freq), o, (p, phase) in itertools.product(
            enumerate(freqs), range(n_o), enumerate(phases)):
        k = gabor_kernel(freq, o * np.pi / n_o, bandwidth=1.3, offset=phase,
                         size=9)
        k = k - k.mean()
        k /= np.linalg.norm(k)
        np.testing.assert_allclose(bank[(f * n_o + o) * len(phases) + p, 0], k,
                                   atol=1e-13)


@pytest.mark.parametrize("dtype, tol", [(np.float32, 1e-6), (np.float64, 1e-13)])
@pytest.mark.parametrize("size", [3, 7, 11, 21])
def test_gabor_bank_quadrature_pairs_are_orthogonal(dtype, tol, size):
    """Even and odd kernels are symmetric and antisymmetric under (x, y) ->
    (-x, -y), so orthogonal up to rounding (tolerance: 1e-6 in float32,
    1e-13 in float64)."""
    bank = gabor_bank(size, n_orientations=6, frequencies=(0.1, 0.23, 0.45),
                      dtype=dtype).astype(np.float64)
    even, odd = bank[0::2, 0], bank[1::2, 0]
    dots = np.einsum("kij,kij->k", even, odd)
    assert np.abs(dots).max() < tol
    np.testing.assert_allclose(even, even[:, ::-1, ::-1], atol=tol)
    np.testing.assert_allclose(odd, -odd[:, ::-1, ::-1], atol=tol)


def test_gabor_bank_quarter_turn_maps_orientations():
    """With 8 orientations, orientation i + 4 is orientation i turned a
    quarter clockwise (np.rot90(k, -1)), up to rounding (1e-12)."""
    bank = gabor_bank(9, n_orientations=8, frequencies=(0.2, 0.4),
                      dtype=np.float64).reshape(2, 8, 2, 9, 9)
    np.testing.assert_allclose(bank[:, 4:], np.rot90(bank[:, :4], -1, axes=(3, 4)),
                               atol=1e-12)


def test_gabor_bank_same_color_splits_the_norm_over_channels():
    one = gabor_bank(7, n_orientations=2, frequencies=[0.3], dtype=np.float64)
    four = gabor_bank(7, n_orientations=2, frequencies=[0.3], in_channels=4,
                      dtype=np.float64)
    np.testing.assert_allclose(four, np.repeat(one, 4, axis=1) / 2, atol=1e-15)
    # a grey image replicated on 4 channels gives sqrt(4) = 2 times the response
    grey = CAMERA[None, None]
    np.testing.assert_allclose(conv2d(np.repeat(grey, 4, axis=1), four),
                               2 * conv2d(grey, one), atol=1e-12)


def test_gabor_bank_opponent_variants():
    kw = dict(n_orientations=4, frequencies=(0.2, 0.4), dtype=np.float64)
    same = gabor_bank(7, in_channels=3, **kw)
    opp = gabor_bank(7, in_channels=3, color="opponent", **kw)
    k0 = same.shape[0]
    assert opp.shape == (3 * k0, 3, 7, 7)
    np.testing.assert_allclose(opp[:k0], same, atol=1e-15)  # luminance block
    spatial = gabor_bank(7, **kw)[:, 0]
    weights = {1: np.array([1, -1, 0]) / np.sqrt(2),
               2: np.array([1, 1, -2]) / np.sqrt(6)}
    for c, w in weights.items():
        np.testing.assert_allclose(
            opp[c * k0:(c + 1) * k0], w[None, :, None, None] * spatial[:, None],
            atol=1e-15)
    # variants of one spatial kernel are orthogonal; grey input gives no
    # response to the opponent kernels
    flat = opp.reshape(3, k0, -1)
    assert np.abs(np.einsum("ckn,dkn->kcd", flat, flat) - np.eye(3)).max() < 1e-12
    grey = np.repeat(CAMERA[None, None], 3, axis=1)
    assert np.abs(conv2d(grey, opp[k0:])).max() < 1e-12


def test_gabor_bank_zero_kernel_raises():
    # sin(pi x) vanishes on every pixel: frequency 0.5, phase pi/2, theta 0
    with pytest.raises(ValueError, match=r"^frequencies: the Gabor kernel of "
                       r"frequency 0\.5, theta 0 and phase 1\.5708 is "
                       r"numerically zero once cropped to size=5"):
        gabor_bank(5, n_orientations=1, frequencies=[0.5])
    # the cosine one is fine, and the sine one at another orientation too
    assert gabor_bank(5, n_orientations=1, frequencies=[0.5], phases=[0]).shape == (1, 1, 5, 5)
    # an envelope flat over the window: the zero-mean cosine is rounding noise
    with pytest.raises(ValueError, match=r"frequency 1e-06.*size=3"):
        gabor_bank(3, n_orientations=1, frequencies=[1e-6], phases=[0])


# --------------------------------------------------------------------------
# edge_kernels
# --------------------------------------------------------------------------

R2 = np.sqrt(2)
DOCUMENTED = {
    ("sobel", 0): [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],
    ("sobel", 90): [[-1, -2, -1], [0, 0, 0], [1, 2, 1]],
    ("sobel", 45): R2 * np.array([[-1, -1, 0], [-1, 0, 1], [0, 1, 1]]),
    ("sobel", 135): R2 * np.array([[0, -1, -1], [1, 0, -1], [1, 1, 0]]),
    ("prewitt", 0): [[-1, 0, 1]] * 3,
    ("prewitt", 45): np.array([[-2, -1, 0], [-1, 0, 1], [0, 1, 2]]) / R2,
    ("prewitt", 135): np.array([[0, -1, -2], [1, 0, -1], [2, 1, 0]]) / R2,
    ("scharr", 0): [[-3, 0, 3], [-10, 0, 10], [-3, 0, 3]],
    ("scharr", 45): np.array([[-6, -10, 0], [-10, 0, 10], [0, 10, 6]]) / R2,
    ("scharr", 135): np.array([[0, -10, -6], [10, 0, -10], [6, 10, 0]]) / R2,
}


@pytest.mark.parametrize("kind, direction", list(DOCUMENTED))
def test_edge_kernels_documented_weights(kind, direction):
    k = edge_kernels(kind, [direction], dtype=np.float64)
    np.testing.assert_allclose(k[0, 0], DOCUMENTED[kind, direction], atol=1e-14)


@pytest.mark.parametrize("kind", ["sobel", "prewitt", "scharr"])
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_edge_kernels_shape_dtype(kind, channels, dtype):
    k = edge_kernels(kind, in_channels=channels, dtype=dtype)
    assert k.shape == (4, channels, 3, 3) and k.dtype == dtype
    np.testing.assert_allclose(k.sum(axis=(2, 3)), 0, atol=1e-6)
    assert edge_kernels(kind, (10.0,)).shape == (1, 1, 3, 3)


@pytest.mark.parametrize("name", list(IMAGES))
@pytest.mark.parametrize("kind, oracle", [("sobel", ndi.sobel),
                                          ("prewitt", ndi.prewitt)])
@pytest.mark.parametrize("padding", ["valid", "same"])
def test_edge_kernels_match_scipy_ndimage(name, kind, oracle, padding):
    image = IMAGES[name]
    response = correlate(image, edge_kernels(kind, (0, 90), dtype=np.float64),
                         padding)
    if padding == "same":
        response = crop(response, 1)
    np.testing.assert_allclose(response[0], crop(oracle(image, axis=1), 1),
                               atol=1e-12)
    np.testing.assert_allclose(response[1], crop(oracle(image, axis=0), 1),
                               atol=1e-12)


@pytest.mark.parametrize("name", list(IMAGES))
def test_edge_kernels_scharr_matches_skimage(name):
    image = IMAGES[name]
    response = correlate(image, edge_kernels("scharr", (0, 90),
                                             dtype=np.float64))
    # skimage normalises the smoothing weights (3, 10, 3) by 16
    np.testing.assert_allclose(response[0] / 16,
                               crop(skimage.filters.scharr_v(image), 1), atol=1e-12)
    np.testing.assert_allclose(response[1] / 16,
                               crop(skimage.filters.scharr_h(image), 1), atol=1e-12)
    np.testing.assert_allclose(response[0] / 16,
                               crop(skimage.filters.scharr(image, axis=1), 1),
                               atol=1e-12)


@pytest.mark.parametrize("kind, gain", [("sobel", 8), ("prewitt", 6), ("scharr", 32)])
@pytest.mark.parametrize("direction", [0, 45, 90, 135, 180, 225, 270, 315, 30, -100])
def test_edge_kernels_ramp_sign_and_gain(kind, gain, direction):
    """A ramp of slope 1 increasing along the direction (x right, y down)
    gives the response ``gain`` for its own kernel, whatever the direction,
    and ``gain * cos(angle between)`` for the others."""
    y, x = np.mgrid[0:6, 0:7].astype(np.float64)
    a = np.radians(direction)
    ramp = x * np.cos(a) + y * np.sin(a)
    dirs = (direction, 0, 45, 90, 135)
    response = correlate(ramp, edge_kernels(kind, dirs, dtype=np.float64))
    expected = gain * np.cos(a - np.radians(dirs))
    np.testing.assert_allclose(response, expected[:, None, None] *
                               np.ones_like(response), atol=1e-12)
    assert response[0].min() > 0


def test_edge_kernels_ramp_to_the_right_and_downwards():
    right = np.tile(np.arange(6.0), (5, 1))       # increases along columns
    down = right.T.copy()                          # increases down the rows
    k = edge_kernels("sobel", (0, 90), dtype=np.float64)
    assert np.all(correlate(right, k)[0] == 8) and np.all(correlate(right, k)[1] == 0)
    assert np.all(correlate(down, k)[1] == 8) and np.all(correlate(down, k)[0] == 0)


def test_edge_kernels_steering_is_linear():
    angles = (0, 90, 45, 135, 20, 200, -35.5)
    response = correlate(CAMERA, edge_kernels("sobel", angles, dtype=np.float64))
    for i, a in enumerate(np.radians(angles)):
        np.testing.assert_allclose(
            response[i], np.cos(a) * response[0] + np.sin(a) * response[1],
            atol=1e-12)
    k = edge_kernels("prewitt", (30, 210), dtype=np.float64)
    np.testing.assert_allclose(k[1], -k[0], atol=1e-15)


def test_operator_kernels_respond_to_the_channel_mean():
    image = RNG.random((1, 3, 12, 13))
    mean = image.mean(axis=1, keepdims=True)
    for make in (lambda c: edge_kernels("scharr", in_channels=c, dtype=np.float64),
                 lambda c: laplacian_kernel(diagonal=True, in_channels=c,
                                            dtype=np.float64),
                 lambda c: log_kernel(5, 1.0, in_channels=c, dtype=np.float64),
                 lambda c: dog_kernel(5, 1.0, 2.0, in_channels=c,
                                      dtype=np.float64)):
        np.testing.assert_allclose(conv2d(image, make(3)), conv2d(mean, make(1)),
                                   atol=1e-12)
        np.testing.assert_allclose(make(3), np.repeat(make(1), 3, axis=1) / 3,
                                   atol=1e-15)


# --------------------------------------------------------------------------
# laplacian_kernel
# --------------------------------------------------------------------------

@pytest.mark.parametrize("name", list(IMAGES))
def test_laplacian_matches_scipy_ndimage(name):
    image = IMAGES[name]
    k4 = laplacian_kernel(dtype=np.float64)
    k8 = laplacian_kernel(diagonal=True, dtype=np.float64)
    assert k4.shape == k8.shape == (1, 1, 3, 3)
    np.testing.assert_allclose(correlate(image, k4)[0], crop(ndi.laplace(image), 1),
                               atol=1e-12)
    # 8 neighbours: ones(3, 3) - 9 delta = 9 (box mean - identity)
    np.testing.assert_allclose(correlate(image, k8)[0],
                               crop(9 * (ndi.uniform_filter(image, 3) - image), 1),
                               atol=1e-12)
    np.testing.assert_allclose(
        correlate(image, laplacian_kernel(dtype=np.float32).astype(np.float64),
                  "same")[0, 1:-1, 1:-1],
        crop(ndi.laplace(image), 1), atol=1e-12)


def test_laplacian_weights_and_gain():
    k4 = laplacian_kernel()
    k8 = laplacian_kernel(diagonal=True)
    assert k4.dtype == np.float32 and k4.sum() == 0 and k8.sum() == 0
    np.testing.assert_array_equal(k8[0, 0], [[1, 1, 1], [1, -8, 1], [1, 1, 1]])
    y, x = np.mgrid[-3:4, -3:4].astype(np.float64)
    paraboloid = x**2 + y**2                          # Laplacian 4
    assert np.all(correlate(paraboloid, k4.astype(np.float64)) == 4)
    assert np.all(correlate(paraboloid, k8.astype(np.float64)) == 12)
    assert laplacian_kernel(in_channels=5, dtype=np.float64).shape == (1, 5, 3, 3)


# --------------------------------------------------------------------------
# log_kernel
# --------------------------------------------------------------------------

@pytest.mark.parametrize("size, sigma", [(3, 0.5), (7, 1.0), (9, 1.0), (11, 1.7),
                                         (13, 2.0), (7, 3.0)])
def test_log_kernel_is_ndimage_gaussian_laplace_made_zero_sum(size, sigma):
    r = (size - 1) // 2
    weights = ndi.gaussian_laplace(impulse(size), sigma, mode="constant",
                                   radius=r)
    k = log_kernel(size, sigma, dtype=np.float64)
    assert k.shape == (1, 1, size, size)
    np.testing.assert_allclose(k[0, 0], weights - weights.mean(),
                               atol=1e-14 / sigma**4)
    assert abs(k.sum()) < 1e-14 and k[0, 0, r, r] < 0


@pytest.mark.parametrize("name", list(IMAGES))
@pytest.mark.parametrize("size, sigma", [(7, 1.0), (13, 2.0)])
def test_log_kernel_response_is_gaussian_laplace_minus_box_mean(name, size, sigma):
    """Exact oracle on the interior: the response is ``gaussian_laplace``
    with the same radius minus ``mean(L)`` times the window sum."""
    image = IMAGES[name]
    r = (size - 1) // 2
    weights = ndi.gaussian_laplace(impulse(size), sigma, mode="constant", radius=r)
    expected = (ndi.gaussian_laplace(image, sigma, radius=r)
                - weights.mean() * size**2 * ndi.uniform_filter(image, size))
    response = correlate(image, log_kernel(size, sigma, dtype=np.float64))[0]
    np.testing.assert_allclose(response, crop(expected, r), atol=1e-12)


@pytest.mark.parametrize("image", [ndi.gaussian_filter(CAMERA, 1.0), SMOOTH_NOISE],
                         ids=["camera", "smooth_random"])
@pytest.mark.parametrize("sigma", [1.0, 1.5, 2.0, 3.0])
def test_log_kernel_approximates_default_gaussian_laplace(image, sigma):
    """Against scipy's default (truncate=4, not zero-sum), with size = 2
    ceil(3 sigma) + 1: relative L2 error < 5% (measured 0.8-2.5% on the
    camera) and correlation > 0.999 (measured > 0.9997), on the interior."""
    size = 2 * math.ceil(3 * sigma) + 1
    r = (size - 1) // 2
    margin = max(r, int(4 * sigma + 0.5))
    ours = crop(correlate(image, log_kernel(size, sigma, dtype=np.float64))[0],
                margin - r)
    ref = crop(ndi.gaussian_laplace(image, sigma), margin)
    assert np.linalg.norm(ours - ref) / np.linalg.norm(ref) < 0.05
    assert np.corrcoef(ours.ravel(), ref.ravel())[0, 1] > 0.999


def test_log_kernel_dtype_and_channels():
    k = log_kernel(9, 1.2, in_channels=2)
    assert k.dtype == np.float32 and k.shape == (1, 2, 9, 9)
    assert abs(float(k.astype(np.float64).sum())) < 1e-6


# --------------------------------------------------------------------------
# dog_kernel and center_surround_bank
# --------------------------------------------------------------------------

@pytest.mark.parametrize("size, sigma1, sigma2", [(3, 0.5, 1.0), (9, 1.0, 1.6),
                                                  (13, 2.0, 1.0), (7, 0.8, 5.0)])
def test_dog_kernel_gaussians_are_ndimage_weights(size, sigma1, sigma2):
    r = (size - 1) // 2

    def weights(sigma):
        return ndi.gaussian_filter(impulse(size), sigma, mode="constant", radius=r)

    k = dog_kernel(size, sigma1, sigma2, dtype=np.float64)
    assert k.shape == (1, 1, size, size)
    np.testing.assert_allclose(k[0, 0], weights(sigma1) - weights(sigma2),
                               atol=1e-15)
    assert abs(k.sum()) < 1e-15
    assert (k[0, 0, r, r] > 0) == (sigma1 < sigma2)


@pytest.mark.parametrize("name", list(IMAGES))
@pytest.mark.parametrize("size, sigma1, sigma2", [(9, 1.0, 1.6), (11, 2.5, 1.2)])
@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-12), (np.float32, 1e-6)])
def test_dog_kernel_response_matches_gaussian_filters(name, size, sigma1, sigma2,
                                                      dtype, tol):
    image = IMAGES[name]
    r = (size - 1) // 2
    expected = (ndi.gaussian_filter(image, sigma1, radius=r)
                - ndi.gaussian_filter(image, sigma2, radius=r))
    k = dog_kernel(size, sigma1, sigma2, dtype=dtype)
    assert k.dtype == dtype
    response = correlate(image.astype(dtype), k)[0]
    np.testing.assert_allclose(response, crop(expected, r), atol=tol)
    # and ndimage's truncate gives the same radius: int(truncate sigma + 0.5)
    expected_t = (ndi.gaussian_filter(image, sigma1, truncate=r / sigma1)
                  - ndi.gaussian_filter(image, sigma2, truncate=r / sigma2))
    np.testing.assert_allclose(response, crop(expected_t, r), atol=tol)


@pytest.mark.parametrize("sigmas", [(1.0, 2.0), (0.7,), [1.0, 1.5, 2.5]])
@pytest.mark.parametrize("ratio", [1.6, 3.0])
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-13), (np.float32, 1e-6)])
def test_center_surround_bank(sigmas, ratio, channels, dtype, tol):
    bank = center_surround_bank(15, sigmas, ratio=ratio, in_channels=channels,
                                dtype=dtype)
    assert bank.shape == (2 * len(sigmas), channels, 15, 15) and bank.dtype == dtype
    np.testing.assert_allclose(bank.astype(np.float64).sum(axis=(1, 2, 3)), 0,
                               atol=tol)
    np.testing.assert_allclose(norms(bank), 1, atol=tol)
    np.testing.assert_array_equal(bank[1::2], -bank[0::2])
    assert np.all(bank[0::2, :, 7, 7] > 0)
    for i, sigma in enumerate(sigmas):
        dog = dog_kernel(15, sigma, ratio * sigma, dtype=np.float64)[0, 0]
        dog /= np.linalg.norm(dog)
        np.testing.assert_allclose(bank[2 * i], np.repeat(
            dog[None] / np.sqrt(channels), channels, axis=0), atol=tol)


def test_center_surround_bank_default():
    bank = center_surround_bank(21)
    assert bank.shape == (4, 1, 21, 21) and bank.dtype == np.float32


@pytest.mark.parametrize("size, sigma", [(5, 0.01), (3, 1e6)])
def test_center_surround_bank_zero_dog_raises(size, sigma):
    with pytest.raises(ValueError, match=rf"^sigmas: the difference of Gaussians "
                       rf"of sigma {re.escape(repr(sigma))} .* size={size}"):
        center_surround_bank(size, [1.0, sigma])


# --------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------

BAD = [
    # gabor_kernel
    (gabor_kernel, (0,), {}, ValueError,
     r"^frequency must be a real number in \(0, 0\.5\] cycles/pixel .*got 0\.$"),
    (gabor_kernel, (0.6,), {}, ValueError, r"^frequency must be .*got 0\.6\.$"),
    (gabor_kernel, (float("nan"),), {}, ValueError, r"^frequency must be .*got nan"),
    (gabor_kernel, ("0.1",), {}, TypeError, r"^frequency must be .*got str '0\.1'"),
    (gabor_kernel, (True,), {}, TypeError, r"^frequency must be .*got bool True"),
    (gabor_kernel, (0.2, float("inf")), {}, ValueError,
     r"^theta must be a finite real number, got inf\.$"),
    (gabor_kernel, (0.2, None), {}, TypeError,
     r"^theta must be a finite real number, got NoneType None"),
    (gabor_kernel, (0.2,), dict(bandwidth=0), ValueError,
     r"^bandwidth must be a finite real number > 0, got 0\.$"),
    (gabor_kernel, (0.2,), dict(bandwidth=float("inf")), ValueError, r"^bandwidth must .*got inf"),
    (gabor_kernel, (0.2,), dict(bandwidth=1e-20), ValueError,
     r"^bandwidth must be large enough .*got 1e-20\.$"),
    (gabor_kernel, (0.2,), dict(sigma_x=0), ValueError,
     r"^sigma_x must be a finite real number > 0, got 0\.$"),
    (gabor_kernel, (0.2,), dict(sigma_y=-1.5), ValueError, r"^sigma_y must .*got -1\.5\.$"),
    (gabor_kernel, (0.2,), dict(sigma_x="2"), TypeError, r"^sigma_x must .*got str '2'"),
    (gabor_kernel, (0.2,), dict(n_stds=0), ValueError, r"^n_stds must be .*> 0, got 0\.$"),
    (gabor_kernel, (0.2,), dict(offset=float("nan")), ValueError,
     r"^offset must be a finite real number, got nan"),
    (gabor_kernel, (0.2,), dict(size=4), ValueError,
     r"^size must be odd \(the kernel is centred on a pixel\), got 4\.$"),
    (gabor_kernel, (0.2,), dict(size=0), ValueError, r"^size must be >= 1, got 0\.$"),
    (gabor_kernel, (0.2,), dict(size=5.0), TypeError, r"^size must be an int, got float 5\.0\.$"),
    (gabor_kernel, (0.2,), dict(dtype=np.int32), TypeError,
     r"^dtype must be float32 or float64, got int32\.$"),
    (gabor_kernel, (0.2,), dict(dtype=np.complex128), TypeError,
     r"^dtype must be float32 or float64, got complex128"),
    (gabor_kernel, (0.2,), dict(dtype="nonsense"), TypeError,
     r"^dtype must be float32 or float64, got 'nonsense'"),
    (gabor_kernel, (0.2,), dict(dtype=None), TypeError,
     r"^dtype must be float32 or float64, got None"),
    # gabor_bank
    (gabor_bank, (1,), {}, ValueError, r"^size must be >= 3, got 1\.$"),
    (gabor_bank, (6,), {}, ValueError, r"^size must be odd .*got 6\.$"),
    (gabor_bank, ("7",), {}, TypeError, r"^size must be an int, got str '7'"),
    (gabor_bank, (7,), dict(n_orientations=0), ValueError,
     r"^n_orientations must be >= 1, got 0\.$"),
    (gabor_bank, (7,), dict(n_orientations=2.0), TypeError,
     r"^n_orientations must be an int, got float 2\.0"),
    (gabor_bank, (7,), dict(frequencies=[]), ValueError,
     r"^frequencies must be a non-empty sequence of frequencies in "
     r"\(0, 0\.5\] cycles/pixel, got \[\]\.$"),
    (gabor_bank, (7,), dict(frequencies=0.2), TypeError,
     r"^frequencies must be a non-empty sequence \(tuple or list\) .*got float 0\.2\.$"),
    (gabor_bank, (7,), dict(frequencies="0.2"), TypeError,
     r"^frequencies must be a non-empty sequence .*got str '0\.2'"),
    (gabor_bank, (7,), dict(frequencies=(0.1, 0.7)), ValueError,
     r"^frequencies\[1\] must be a real number in \(0, 0\.5\] cycles/pixel .*got 0\.7\.$"),
    (gabor_bank, (7,), dict(frequencies=(0.1, -0.2)), ValueError,
     r"^frequencies\[1\] must .*got -0\.2"),
    (gabor_bank, (7,), dict(phases=()), ValueError,
     r"^phases must be a non-empty sequence .*got \(\)\.$"),
    (gabor_bank, (7,), dict(phases=(0, float("inf"))), ValueError,
     r"^phases\[1\] must be a finite real number, got inf\.$"),
    (gabor_bank, (7,), dict(bandwidth=-1), ValueError,
     r"^bandwidth must be a finite real number > 0, got -1\.$"),
    (gabor_bank, (7,), dict(in_channels=0), ValueError, r"^in_channels must be >= 1, got 0\.$"),
    (gabor_bank, (7,), dict(in_channels=1.5), TypeError,
     r"^in_channels must be an int, got float 1\.5"),
    (gabor_bank, (7,), dict(color="rgb"), ValueError,
     r"^color must be one of \['opponent', 'same'\], got 'rgb'\.$"),
    (gabor_bank, (7,), dict(color="opponent"), ValueError,
     r"^color='opponent' needs in_channels=3 \(RGB\), got in_channels=1\.$"),
    (gabor_bank, (7,), dict(color="opponent", in_channels=4), ValueError, r"got in_channels=4"),
    (gabor_bank, (7,), dict(dtype=np.float16), TypeError,
     r"^dtype must be float32 or float64, got float16\.$"),
    # edge_kernels
    (edge_kernels, ("canny",), {}, ValueError,
     r"^kind must be one of \['prewitt', 'scharr', 'sobel'\], got 'canny'\.$"),
    (edge_kernels, (None,), {}, ValueError, r"^kind must be one of .*got None"),
    (edge_kernels, ("sobel", ()), {}, ValueError,
     r"^directions must be a non-empty sequence .*got \(\)\.$"),
    (edge_kernels, ("sobel", 45), {}, TypeError,
     r"^directions must be a non-empty sequence \(tuple or list\) .*got int 45"),
    (edge_kernels, ("sobel", (0, float("nan"))), {}, ValueError,
     r"^directions\[1\] must be a finite real number, got nan\.$"),
    (edge_kernels, ("sobel", ("0",)), {}, TypeError,
     r"^directions\[0\] must be a finite real number, got str '0'"),
    (edge_kernels, (), dict(in_channels=0), ValueError, r"^in_channels must be >= 1, got 0\.$"),
    (edge_kernels, (), dict(dtype=int), TypeError,
     r"^dtype must be float32 or float64, got int64"),
    # laplacian_kernel
    (laplacian_kernel, (), dict(diagonal=1), TypeError,
     r"^diagonal must be True or False, got int 1\.$"),
    (laplacian_kernel, (), dict(in_channels=-1), ValueError,
     r"^in_channels must be >= 1, got -1\.$"),
    (laplacian_kernel, (), dict(dtype="int8"), TypeError,
     r"^dtype must be float32 or float64, got int8"),
    # log_kernel
    (log_kernel, (5.5, 1.0), {}, TypeError, r"^size must be an int, got float 5\.5"),
    (log_kernel, (4, 1.0), {}, ValueError, r"^size must be odd .*got 4\.$"),
    (log_kernel, (1, 1.0), {}, ValueError, r"^size must be >= 3, got 1\.$"),
    (log_kernel, (7, 0), {}, ValueError, r"^sigma must be a finite real number > 0, got 0\.$"),
    (log_kernel, (7, -1.0), {}, ValueError, r"^sigma must .*got -1\.0\.$"),
    (log_kernel, (7, float("inf")), {}, ValueError, r"^sigma must .*got inf"),
    (log_kernel, (7, float("nan")), {}, ValueError, r"^sigma must .*got nan"),
    (log_kernel, (7, "1"), {}, TypeError, r"^sigma must .*got str '1'"),
    (log_kernel, (7, 1e-200), {}, ValueError, r"^sigma=1e-200 is too small: .*overflows float32"),
    (log_kernel, (7, 1e-20), {}, ValueError, r"^sigma=1e-20 is too small: .*overflows float32"),
    (log_kernel, (7, 1.0), dict(in_channels=0), ValueError,
     r"^in_channels must be >= 1, got 0\.$"),
    # dog_kernel
    (dog_kernel, (7, 1.0, 1.0), {}, ValueError,
     r"^sigma2 must differ from sigma1 .*got sigma1=1\.0 and sigma2=1\.0\.$"),
    (dog_kernel, (7, 0, 1.0), {}, ValueError,
     r"^sigma1 must be a finite real number > 0, got 0\.$"),
    (dog_kernel, (7, 1.0, float("inf")), {}, ValueError, r"^sigma2 must .*got inf"),
    (dog_kernel, (8, 1.0, 2.0), {}, ValueError, r"^size must be odd .*got 8\.$"),
    (dog_kernel, (7, 1.0, 2.0), dict(in_channels=True), TypeError,
     r"^in_channels must be an int, got bool True"),
    (dog_kernel, (7, 1.0, 2.0), dict(dtype=np.float16), TypeError,
     r"^dtype must be .*got float16"),
    # center_surround_bank
    (center_surround_bank, (7, []), {}, ValueError,
     r"^sigmas must be a non-empty sequence .*got \[\]\.$"),
    (center_surround_bank, (7, 1.0), {}, TypeError,
     r"^sigmas must be a non-empty sequence \(tuple or list\) .*got float 1\.0"),
    (center_surround_bank, (7, (1, -2)), {}, ValueError,
     r"^sigmas\[1\] must be a finite real number > 0, got -2\.$"),
    (center_surround_bank, (7,), dict(ratio=1), ValueError,
     r"^ratio must be > 1 \(the surround wider than the centre\), got 1\.0\.$"),
    (center_surround_bank, (7,), dict(ratio=0.5), ValueError, r"^ratio must be > 1 .*got 0\.5"),
    (center_surround_bank, (7,), dict(ratio=0), ValueError,
     r"^ratio must be a finite real number > 0, got 0\.$"),
    (center_surround_bank, (2,), {}, ValueError, r"^size must be >= 3, got 2\.$"),
    (center_surround_bank, (7,), dict(in_channels=0), ValueError,
     r"^in_channels must be >= 1, got 0\.$"),
]


@pytest.mark.parametrize(
    "func, args, kwargs, exc, pattern", BAD,
    ids=[f"{f.__name__}-{i}" for i, (f, *_rest) in enumerate(BAD)])
def test_bad_input(func, args, kwargs, exc, pattern):
    with pytest.raises(exc, match=pattern):
        func(*args, **kwargs)
