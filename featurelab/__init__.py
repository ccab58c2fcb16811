"""featurelab: experiment with unsupervised convolutional features."""

__version__ = "0.1.0.dev0"
