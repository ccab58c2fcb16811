"""Kernel generators: random, hand-designed, and learned from patches.

Every generator returns a bank of shape ``(n_kernels, in_channels, *size)``
(``gabor_kernel`` alone returns one 2-D kernel, as scikit-image does).
"""
