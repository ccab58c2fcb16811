"""featurelab: experiment with unsupervised convolutional features.

Convolutional feature extractors with random, hand-designed or unsupervised
kernels, on NumPy or CuPy, to find out quickly which architecture deserves a
full training run.

Subpackages
-----------
ops
    Convolution, pooling, nonlinearities and normalisation on arrays.
backend
    The NumPy/CuPy switch.
"""

from . import backend, ops
from .backend import get_backend, get_namespace, use_backend

__version__ = "0.1.0.dev0"

__all__ = ["__version__", "backend", "get_backend", "get_namespace", "ops", "use_backend"]
