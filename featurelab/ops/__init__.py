"""Pure array operators: convolution, pooling, nonlinearities, normalisation.

Every function takes NumPy or CuPy arrays in channels-first layout and returns
an array of the same backend.
"""

from ._conv import conv1d, conv2d

__all__ = ["conv1d", "conv2d"]
