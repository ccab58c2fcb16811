"""Tests of the Morlet banks and depthwise convolutions of
:mod:`featurelab.kernels._scattering`.

Oracles:

* the complex Morlet wavelet written out here from its definition
  (kymatio's ``Scattering2D`` design: envelope ``sigma = 0.8 * 2**j`` along
  the wave vector, ``sigma / slant`` across it, ``slant = 4 / L``,
  frequency ``3 pi / 4 / 2**j``, minus ``beta`` times the envelope);
* ``scipy.signal.correlate2d`` (zero padding, 'same') with the complex
  kernels, for the convolutions;
* exact geometric identities: zero mean, a quarter turn between
  orientations ``l`` and ``l + L/2``.
"""

import math

import numpy as np
import pytest
from scipy.signal import correlate2d

from featurelab.kernels import morlet_bank, morlet_kernel
from featurelab.kernels._scattering import lowpass, second_order_conv, wavelet_conv
from featurelab.ops import channel_pool


def _morlet_by_definition(n, sigma, theta, xi, slant):
    """The complex Morlet wavelet on an n x n grid centred on a pixel."""
    r = (n - 1) / 2
    y, x = np.mgrid[-r:r + 1, -r:r + 1]
    u = x * math.cos(theta) + y * math.sin(theta)
    v = -x * math.sin(theta) + y * math.cos(theta)
    g = np.exp(-(u**2 + (slant * v) ** 2) / (2 * sigma**2)) * slant / (2 * math.pi * sigma**2)
    gabor = g * np.exp(1j * xi * u)
    return gabor - gabor.sum() / g.sum() * g


def _complex(psi):
    return psi[0::2, 0].astype(np.float64) + 1j * psi[1::2, 0]


@pytest.mark.parametrize("J, L", [(1, 8), (2, 4), (3, 6), (2, 1)])
def test_wavelets_have_zero_mean_and_phi_sums_to_one(J, L):
    psi, phi = morlet_bank(J, L, dtype=np.float64)
    assert psi.shape[:2] == (2 * J * L, 1) and phi.shape[:2] == (1, 1)
    assert psi.shape[2:] == phi.shape[2:]
    np.testing.assert_allclose(psi.sum(axis=(2, 3)), 0, atol=1e-12)
    assert phi.sum() == pytest.approx(1, abs=1e-12)
    assert (phi > 0).all()
    assert np.unravel_index(phi[0, 0].argmax(), phi.shape[2:]) == tuple(
        (s - 1) // 2 for s in phi.shape[2:])


def test_default_support_covers_three_standard_deviations():
    # widest std: the coarsest wavelet across its wave vector, 0.8 * 2**(J-1) / slant
    assert morlet_bank(1, 8)[0].shape[2:] == (11, 11)      # 3 * 1.6 = 4.8 -> 5
    assert morlet_bank(2, 8)[0].shape[2:] == (21, 21)      # 3 * 3.2 = 9.6 -> 10
    assert morlet_bank(2, 4)[0].shape[2:] == (11, 11)      # slant 1: 3 * 1.6
    assert morlet_bank(1, 1)[0].shape[2:] == (7, 7)        # slant 4: 3 * 0.8 -> 3
    psi, phi = morlet_bank(1, 8, size=(7, 9))
    assert psi.shape == (16, 1, 7, 9) and phi.shape == (1, 1, 7, 9)
    assert psi.dtype == np.float32 and phi.dtype == np.float32


@pytest.mark.parametrize("J, L", [(1, 8), (3, 4)])
def test_real_and_imaginary_parts_give_the_complex_modulus(J, L):
    psi, _ = morlet_bank(J, L, dtype=np.float64)
    n = psi.shape[-1]
    pairs = psi[:, 0].reshape(J * L, 2, n, n)
    for j in range(J):
        for l_ in range(L):
            ref = _morlet_by_definition(n, 0.8 * 2**j, math.pi * l_ / L,
                                        3 * math.pi / 4 / 2**j, 4 / L)
            re, im = pairs[j * L + l_]
            np.testing.assert_allclose(re + 1j * im, ref, atol=1e-14)
            np.testing.assert_allclose(np.sqrt(re**2 + im**2), np.abs(ref), atol=1e-14)
    # and through the modulus layer featurelab uses: channel_pool(., 2, 'l2')
    modulus = channel_pool(psi[None, :, 0], 2, mode="l2")[0]
    np.testing.assert_allclose(modulus, np.abs(_complex(psi)), atol=1e-12)


def test_orientation_rotates_the_wavelet():
    L = 8
    psi, _ = morlet_bank(2, L, dtype=np.float64)
    w = _complex(psi).reshape(2, L, *psi.shape[2:])
    for j in range(2):
        for l_ in range(L // 2):
            # theta + pi/2 is the wavelet turned a quarter (from +x towards +y)
            np.testing.assert_allclose(w[j, l_ + L // 2], np.rot90(w[j, l_], -1),
                                       atol=1e-14)
    # theta + pi conjugates: same modulus, so [0, pi) is enough
    turned = morlet_kernel(11, 0.8, math.pi + math.pi / 8, slant=0.5)
    np.testing.assert_allclose(turned, np.conj(morlet_kernel(11, 0.8, math.pi / 8,
                                                             slant=0.5)), atol=1e-14)


def test_wavelets_are_band_pass_at_their_frequency_and_orientation():
    J, L = 3, 4
    psi, _ = morlet_bank(J, L, size=61, dtype=np.float64)
    w = _complex(psi)
    r = np.arange(61) - 30
    omega = np.linspace(-np.pi, np.pi, 121)                   # steps of pi / 60
    basis = np.exp(-1j * np.outer(omega, r))
    for j in range(J):
        for l_ in range(L):
            theta, xi = math.pi * l_ / L, 3 * math.pi / 4 / 2**j
            k = xi * np.array([math.cos(theta), math.sin(theta)])    # (kx, ky)
            kernel = w[j * L + l_]
            spectrum = np.abs(basis @ kernel @ basis.T)             # [ky, kx]
            iy, ix = np.unravel_index(spectrum.argmax(), spectrum.shape)
            assert np.hypot(omega[ix] - k[0], omega[iy] - k[1]) < 0.1
            dtft = [abs((kernel * np.exp(-1j * (a * r[None, :] + b * r[:, None]))).sum())
                    for a, b in (k, -k, (0, 0))]
            assert dtft[0] > 0.9 and dtft[2] < 1e-12
            if j > 0:   # at j = 0 the envelope (sigma 0.8 px) aliases onto -k
                assert dtft[1] < 0.05


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"J": 0}, ValueError, r"^J must be >= 1, got 0"),
        ({"J": 1.5}, TypeError, r"^J must be an int"),
        ({"J": 1, "L": 0}, ValueError, r"^L must be >= 1, got 0"),
        ({"J": 1, "size": 1}, ValueError, r"^size must be odd and >= 3"),
        ({"J": 1, "size": 8}, ValueError, r"^size must be odd and >= 3"),
        ({"J": 1, "size": (5, 5, 5)}, ValueError, r"^size must be an int or a pair"),
        ({"J": 1, "size": 5.0}, TypeError, r"^size must be an int or a pair"),
        ({"J": 1, "slant": 0}, ValueError, r"^slant must be a finite real number > 0"),
        ({"J": 1, "sigma_phi": -1.0}, ValueError, r"^sigma_phi must be"),
        ({"J": 1, "dtype": np.int32}, TypeError, r"^dtype must be np.float32"),
    ],
)
def test_bad_input_is_refused_with_a_message(kwargs, error, match):
    with pytest.raises(error, match=match):
        morlet_bank(**kwargs)


def test_morlet_kernel_bad_input():
    with pytest.raises(ValueError, match="^sigma must be a finite real number > 0"):
        morlet_kernel(5, 0.0)
    with pytest.raises(ValueError, match="^xi must be >= 0"):
        morlet_kernel(5, 1.0, xi=-1.0)
    with pytest.raises(TypeError, match="^theta must be a finite real number"):
        morlet_kernel(5, 1.0, theta=float("nan"))


def test_wavelet_conv_is_a_per_channel_zero_padded_correlation(backend):
    rng = np.random.default_rng(0)
    x = rng.random((2, 3, 8, 8))
    psi, _ = morlet_bank(2, 4, size=21, dtype=np.float64)   # wider than 2 * 8 - 1
    y = backend.to_numpy(wavelet_conv(backend.asarray(x), psi))
    assert y.shape == (2, 3 * 16, 8, 8)
    w = _complex(psi)
    for n in range(2):
        for c in range(3):
            for k in range(8):
                ref = correlate2d(x[n, c], w[k].real, mode="same") + 1j * correlate2d(
                    x[n, c], w[k].imag, mode="same")
                got = y[n, c * 16 + 2 * k] + 1j * y[n, c * 16 + 2 * k + 1]
                np.testing.assert_allclose(got, ref, atol=1e-10)


def test_lowpass_averages_and_subsamples(backend):
    _, phi = morlet_bank(2, 8, dtype=np.float64)
    x = np.random.default_rng(1).random((2, 2, 16, 12))
    y = backend.to_numpy(lowpass(backend.asarray(x), phi, 4))
    assert y.shape == (2, 2, 4, 3)
    full = correlate2d(x[1, 1], phi[0, 0], mode="same")
    # 'same' with stride 4 (PyTorch's rule): 16 rows, 12 columns -> every 4th from 2
    np.testing.assert_allclose(y[1, 1], full[2::4, 2::4], atol=1e-12)
    # a constant far from the border is kept (phi sums to 1)
    big = lowpass(np.ones((1, 1, 64, 64)), phi, 4)
    assert big[0, 0, 8, 8] == pytest.approx(1, abs=1e-12)


def test_second_order_conv_pairs_each_modulus_with_coarser_wavelets(backend):
    J, L = 3, 2
    psi, _ = morlet_bank(J, L, size=9, dtype=np.float64)
    w = _complex(psi).reshape(J, L, 9, 9)
    u1 = np.random.default_rng(2).random((1, 2 * (J - 1) * L, 8, 8))   # C = 2
    y = backend.to_numpy(second_order_conv(backend.asarray(u1), psi, J, L))
    paths = [(j1, l1, j2, l2) for j1 in range(J - 1) for l1 in range(L)
             for j2 in range(j1 + 1, J) for l2 in range(L)]
    assert len(paths) == L**2 * J * (J - 1) // 2
    assert y.shape == (1, 2 * len(paths) * 2, 8, 8)
    for c in range(2):
        for p, (j1, l1, j2, l2) in enumerate(paths):
            m = u1[0, (c * (J - 1) + j1) * L + l1]
            ref = (correlate2d(m, w[j2, l2].real, mode="same")
                   + 1j * correlate2d(m, w[j2, l2].imag, mode="same"))
            k = 2 * (c * len(paths) + p)
            np.testing.assert_allclose(y[0, k] + 1j * y[0, k + 1], ref, atol=1e-10)


def test_second_order_conv_checks_the_channel_count():
    psi, _ = morlet_bank(2, 4)
    with pytest.raises(ValueError, match=r"C \* \(J - 1\) \* L channels"):
        second_order_conv(np.zeros((1, 6, 8, 8), np.float32), psi, 2, 4)
    with pytest.raises(ValueError, match=r"C \* \(J - 1\) \* L channels"):
        second_order_conv(np.zeros((1, 4, 8, 8), np.float32), psi, 1, 4)


def test_float32_in_float32_out():
    psi, phi = morlet_bank(1, 8)
    x = np.random.default_rng(0).random((3, 1, 8, 8), dtype=np.float32)
    assert wavelet_conv(x, psi).dtype == np.float32
    assert lowpass(x, phi, 2).dtype == np.float32
