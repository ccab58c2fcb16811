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

Each returns an unfitted scikit-learn transformer made of
:class:`~featurelab.network.FeatureNetwork` s: fit it without labels, then
train a linear classifier on its features (the papers use
``RidgeClassifierCV`` on standardised features,
``featurelab.evaluate.evaluate(..., head='ridge')``).
"""

from sklearn.pipeline import FeatureUnion

from .layers import BankLayer, FunctionLayer
from .network import FeatureNetwork
from .ops import difference, standardize

__all__ = ["minirocket", "multirocket", "rocket"]


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
