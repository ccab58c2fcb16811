"""Kernel generators: random, hand-designed, and learned from patches.

Every generator returns a bank of shape ``(n_kernels, in_channels, *size)``
(``gabor_kernel`` alone returns one 2-D kernel, as scikit-image does), float32
by default.  Random and designed banks are NumPy arrays; banks drawn from or
learned on data live on the data's backend (NumPy or CuPy).
"""

from ._designed import (
    center_surround_bank,
    dog_kernel,
    edge_kernels,
    gabor_bank,
    gabor_kernel,
    laplacian_kernel,
    log_kernel,
)
from ._kmeans import kmeans
from ._learned import KMeansKernels, PCAKernels
from ._random import DISTRIBUTIONS, patch_kernels, random_kernels
from ._rocket import KernelGroup, minirocket_bank, rocket_bank
from ._scattering import morlet_bank, morlet_kernel

__all__ = [
    "DISTRIBUTIONS",
    "KMeansKernels",
    "KernelGroup",
    "PCAKernels",
    "center_surround_bank",
    "dog_kernel",
    "edge_kernels",
    "gabor_bank",
    "gabor_kernel",
    "kmeans",
    "laplacian_kernel",
    "log_kernel",
    "minirocket_bank",
    "morlet_bank",
    "morlet_kernel",
    "patch_kernels",
    "random_kernels",
    "rocket_bank",
]
