"""Pure array operators: convolution, pooling, nonlinearities, normalisation.

Every function takes NumPy or CuPy arrays in channels-first layout,
``(n_samples, n_channels, *spatial)``, and returns an array of the same
backend.  No state, no estimators: those live in the layers built on top.
"""

from ._conv import conv1d, conv2d, conv_method
from ._local import (
    locally_connected1d,
    locally_connected2d,
    tiled_conv1d,
    tiled_conv2d,
)
from ._matrix import (
    LAYER_KINDS,
    conv_matrix,
    count_flops,
    count_parameters,
    matrix_density,
)
from ._nonlin import (
    NONLINEARITIES,
    abs,
    get_nonlinearity,
    identity,
    relu,
    sigmoid,
    soft_threshold,
    split_sign,
    tanh,
)
from ._normalize import gaussian_window, local_contrast_normalize
from ._pool import POOL_MODES, adaptive_pool, channel_pool, pool1d, pool2d, region_pool
from ._series import difference, standardize
from ._zoom import zoom

__all__ = [
    "LAYER_KINDS",
    "NONLINEARITIES",
    "POOL_MODES",
    "abs",
    "adaptive_pool",
    "channel_pool",
    "conv1d",
    "conv2d",
    "conv_method",
    "conv_matrix",
    "count_flops",
    "count_parameters",
    "difference",
    "gaussian_window",
    "get_nonlinearity",
    "identity",
    "local_contrast_normalize",
    "locally_connected1d",
    "locally_connected2d",
    "matrix_density",
    "pool1d",
    "pool2d",
    "region_pool",
    "relu",
    "sigmoid",
    "soft_threshold",
    "split_sign",
    "standardize",
    "tanh",
    "tiled_conv1d",
    "tiled_conv2d",
    "zoom",
]
