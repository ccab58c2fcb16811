"""Named networks that reproduce known methods as ordinary featurelab layers.

* :func:`rocket` -- ROCKET (Dempster, Petitjean & Webb 2020): random
  kernels of lengths 7, 9, 11 with random dilations, paddings and biases on
  standardised series; PPV and max of every response.
* :func:`minirocket` -- MiniRocket (Dempster, Schmidt & Webb 2021): 84
  fixed kernels at exponentially spaced dilations, biases from quantiles of
  the training responses; PPV only.
* :func:`multirocket` -- MultiRocket (Tan, Dempster, Bergmeir & Webb 2022):
  MiniRocket's kernels on the series and on its first difference, each
  response pooled four ways (PPV, MPV, MIPV, LSPV).
* :func:`scattering2d` -- a 2-D scattering transform of order 2 (Mallat
  2012; Bruna & Mallat 2013; kymatio's ``Scattering2D``): Morlet wavelet
  moduli at ``J`` scales and ``L`` orientations, two layers deep, averaged
  by a Gaussian low-pass and subsampled by ``2**J``.

Each returns an unfitted scikit-learn transformer made of
:class:`~featurelab.network.FeatureNetwork` s: fit it without labels, then
train a linear classifier on its features (the papers use
``RidgeClassifierCV`` on standardised features,
``featurelab.evaluate.evaluate(..., head='ridge')``).
"""

from sklearn.pipeline import FeatureUnion

from ._validation import check_positive
from .kernels._scattering import lowpass, morlet_bank, second_order_conv, wavelet_conv
from .layers import BankLayer, ChannelPoolLayer, FunctionLayer
from .network import FeatureNetwork
from .ops import difference, standardize, zoom

__all__ = ["minirocket", "multirocket", "rocket", "scattering2d"]


def rocket(n_kernels=10_000, *, normalize=True, max_memory="512MB", random_state=None):
    """ROCKET as a featurelab network: 2 features per random kernel.

    Parameters
    ----------
    n_kernels : int, default=10_000
    normalize : bool, default=True
        Standardise every series first (:func:`featurelab.ops.standardize`),
        as ROCKET does.
    max_memory : int or str, default='512MB'
        The network's chunking budget: any number of series is transformed
        in bounded memory, in float32.
    random_state : int, RandomState instance or None

    Returns
    -------
    network : FeatureNetwork
        ``2 * n_kernels`` features per series: PPV and max of every kernel.

    Examples
    --------
    >>> import numpy as np
    >>> from featurelab.presets import rocket
    >>> X = np.random.default_rng(0).standard_normal((10, 1, 40))
    >>> rocket(500, random_state=0).fit_transform(X).shape
    (10, 1000)
    """
    layers = [FunctionLayer(standardize)] if normalize else []
    layers.append(BankLayer(n_kernels, kernels="rocket", pool=("ppv", "max")))
    return FeatureNetwork(layers, output="flatten", max_memory=max_memory,
                          random_state=random_state)


def minirocket(n_features=10_000, *, max_dilations=32, max_memory="512MB",
               random_state=None):
    """MiniRocket as a featurelab network: one PPV feature per (kernel,
    dilation, bias).

    Parameters
    ----------
    n_features : int, default=10_000
        Rounded down to a multiple of 84: 9,996 features by default.
    max_dilations : int, default=32
    max_memory : int or str, default='512MB'
    random_state : int, RandomState instance or None
        Picks the training series the biases come from.

    Returns
    -------
    network : FeatureNetwork

    Examples
    --------
    >>> import numpy as np
    >>> from featurelab.presets import minirocket
    >>> X = np.random.default_rng(0).standard_normal((10, 1, 40))
    >>> minirocket(random_state=0).fit_transform(X).shape
    (10, 9996)
    """
    bank = BankLayer(n_features, kernels="minirocket", pool="ppv",
                     kernel_params={"max_dilations": max_dilations})
    return FeatureNetwork([bank], output="flatten", max_memory=max_memory,
                          random_state=random_state)


def multirocket(n_features=50_000, *, max_dilations=32, max_memory="512MB",
                random_state=None):
    """MultiRocket: MiniRocket's kernels on the series and on its first
    difference, four pooling operators per response.

    Parameters
    ----------
    n_features : int, default=50_000
        Split evenly between the two representations and the four
        operators, each share rounded down to a multiple of 84: 49,728
        features by default (2 x 4 x 6,216).
    max_dilations : int, default=32
    max_memory : int or str, default='512MB'
    random_state : int or None
        Seeds both networks (the second with ``random_state + 1``).

    Returns
    -------
    transformer : sklearn.pipeline.FeatureUnion
        Of two :class:`FeatureNetwork` s, ``'series'`` and ``'difference'``.

    Notes
    -----
    The operators follow the paper's definitions, not two details of the
    reference code (and so of sktime's port): there LSPV measures the gap
    between non-positive values rather than the longest run of positive
    ones, and MPV adds the bias where the response is ``y - b``.  On
    MNIST-1D this preset scores 96.5 % against sktime's 97.4 %
    (``benchmarks/RESULTS.md``).

    Examples
    --------
    >>> import numpy as np
    >>> from featurelab.presets import multirocket
    >>> X = np.random.default_rng(0).standard_normal((10, 1, 40))
    >>> multirocket(random_state=0).fit_transform(X).shape
    (10, 49728)
    """
    per_operator = n_features // 8
    pool = ("ppv", "mpv", "mipv", "lspv")
    kp = {"max_dilations": max_dilations}
    second = None if random_state is None else random_state + 1
    series = FeatureNetwork(
        [BankLayer(per_operator, kernels="minirocket", pool=pool, kernel_params=kp)],
        output="flatten", max_memory=max_memory, random_state=random_state)
    diff = FeatureNetwork(
        [FunctionLayer(difference),
         BankLayer(per_operator, kernels="minirocket", pool=pool, kernel_params=kp)],
        output="flatten", max_memory=max_memory, random_state=second)
    return FeatureUnion([("series", series), ("difference", diff)])


def scattering2d(J=1, L=8, *, upsample=1, max_memory="512MB"):
    """A 2-D scattering transform of order 2 as featurelab networks.

    Per input channel ``x`` (channels are never mixed) the features are

    * order 0: ``x * phi_J``;
    * order 1: ``|x * psi_{j1, l1}| * phi_J`` for ``j1 < J`` and ``L``
      orientations ``l1``;
    * order 2: ``||x * psi_{j1, l1}| * psi_{j2, l2}| * phi_J`` for ``j1 <
      j2 < J``;

    each subsampled by ``2**J`` per axis, with the Morlet wavelets ``psi``
    and the Gaussian ``phi_J`` of :func:`featurelab.kernels.morlet_bank`
    (kymatio's filter design).  That is ``1 + J L + L**2 J (J - 1) / 2``
    maps of ``ceil(H / 2**J) x ceil(W / 2**J)`` per input channel, the
    standard count (kymatio: 81 maps for ``J=2, L=8``), where ``H x W`` is
    the image size after the optional ``upsample``.

    Parameters
    ----------
    J : int, default=1
        Scales (>= 1); with ``J=1`` there is no second order.
    L : int, default=8
        Orientations (>= 1).
    upsample : float, default=1
        Zoom every image by this factor first (cubic spline,
        :func:`featurelab.ops.zoom`; a :class:`~featurelab.layers.FunctionLayer`
        at the head of every path).  On tiny images it puts the finest
        wavelet between pixels: scikit-learn's 8 x 8 digits score about half
        a point more with ``upsample=2`` or ``3`` (``benchmarks/RESULTS.md``).
    max_memory : int or str, default='512MB'
        Chunking budget of every network (and of its convolutions).

    Returns
    -------
    transformer : sklearn.pipeline.FeatureUnion
        Of :class:`FeatureNetwork` s ``'order0'``, ``'order1'`` and, for
        ``J >= 2``, ``'order2'``, each ending in ``output='flatten'``:
        features are all order-0 maps (channel-major, row-major), then all
        order-1 maps (channel ``(c, j1, l1)``), then all order-2 maps
        (``(c, j1, l1, j2, l2)``).  Nothing is learned: ``fit`` only
        records shapes.

    Notes
    -----
    The layers: a :class:`~featurelab.layers.FunctionLayer` around
    :func:`featurelab.kernels._scattering.wavelet_conv` (every channel
    cross-correlated with the real and imaginary parts of every wavelet, a
    depthwise convolution with 'same' zero padding), a
    :class:`~featurelab.layers.ChannelPoolLayer` ``(2, 'l2')`` for the
    complex modulus ``sqrt(re**2 + im**2)``, and a ``FunctionLayer``
    around :func:`~featurelab.kernels._scattering.lowpass` (``phi_J`` with
    stride ``2**J``).  Order 2 repeats the first two for ``j1 < J - 1``,
    then :func:`~featurelab.kernels._scattering.second_order_conv` (each
    modulus map with the wavelets of coarser scales only) and a second
    modulus.  Depthwise, because ``ConvLayer`` sums over input channels
    and its bank must know the channel count before ``fit``.

    Differences from kymatio: zero padding ('same') instead of reflection
    padding and periodic convolution in Fourier space, so responses near
    the border see zeros (for digits, whose background is 0, the natural
    extension); every modulus is computed at full resolution and
    subsampled only after ``phi_J`` (kymatio subsamples ``|x * psi_j1|`` by
    ``2**j1`` first: cheaper, slightly aliased); order 1 is computed twice
    for ``J >= 2`` (once per path; the three paths run independently); and
    the features are grouped by order rather than by channel, which a
    linear head does not see.

    Examples
    --------
    >>> import numpy as np
    >>> from featurelab.presets import scattering2d
    >>> X = np.random.default_rng(0).random((4, 3, 16, 16), dtype=np.float32)
    >>> scattering2d(J=2, L=8).fit_transform(X).shape   # 3 x 81 maps of 4 x 4
    (4, 3888)
    >>> scattering2d(J=1, L=8).fit_transform(X[:, :1, :8, :8]).shape  # 9 x 4 x 4
    (4, 144)
    >>> scattering2d(J=2, L=8, upsample=2).fit_transform(X[:, :1, :8, :8]).shape
    (4, 1296)
    """
    psi, phi = morlet_bank(J, L)
    stride = 2**J
    mem = {"max_memory": max_memory}
    upsample = check_positive(upsample, "upsample")

    def low():
        return FunctionLayer(lowpass, kw_args={"phi": phi, "stride": stride, **mem})

    def net(layers):
        if upsample != 1:
            layers = [FunctionLayer(zoom, kw_args={"factor": upsample}), *layers]
        return FeatureNetwork(layers, output="flatten", max_memory=max_memory)

    paths = [
        ("order0", net([low()])),
        ("order1", net([FunctionLayer(wavelet_conv, kw_args={"kernels": psi, **mem}),
                        ChannelPoolLayer(2, mode="l2"), low()])),
    ]
    if J >= 2:
        first = psi[:2 * (J - 1) * L]        # j1 < J - 1: those with a coarser j2
        paths.append(("order2", net([
            FunctionLayer(wavelet_conv, kw_args={"kernels": first, **mem}),
            ChannelPoolLayer(2, mode="l2"),
            FunctionLayer(second_order_conv,
                          kw_args={"kernels": psi, "J": J, "L": L, **mem}),
            ChannelPoolLayer(2, mode="l2"),
            low()])))
    return FeatureUnion(paths)
