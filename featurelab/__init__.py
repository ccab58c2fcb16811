"""featurelab: experiment with unsupervised convolutional features.

Convolutional feature extractors with random, hand-designed or unsupervised
kernels, on NumPy or CuPy, to find out quickly which architecture deserves a
full training run.

Subpackages and modules
-----------------------
ops
    Convolution, pooling, nonlinearities and normalisation on arrays.
kernels
    Random, hand-designed and learned kernel banks.
layers
    ConvLayer, PoolLayer, ChannelPoolLayer, FunctionLayer: one stage of a network each.
network
    FeatureNetwork: layers pretrained greedily, as a scikit-learn transformer.
evaluate
    Last-layer-only evaluation of a feature network with a classifier head.
datasets
    Offline loaders (digits, MNIST-1D, MNIST, CIFAR-10, image folders).
presets
    The ROCKET family (rocket, minirocket, multirocket) as featurelab networks.
backend
    The NumPy/CuPy switch.
"""

from . import backend, ops, presets
from .backend import get_backend, get_namespace, use_backend
from .evaluate import EvaluationResult, evaluate
from .layers import BankLayer, ChannelPoolLayer, ConvLayer, FunctionLayer, PoolLayer
from .network import FeatureNetwork

__version__ = "0.1.0.dev0"

__all__ = [
    "BankLayer",
    "ChannelPoolLayer",
    "ConvLayer",
    "EvaluationResult",
    "FeatureNetwork",
    "FunctionLayer",
    "PoolLayer",
    "__version__",
    "backend",
    "evaluate",
    "get_backend",
    "get_namespace",
    "ops",
    "presets",
    "use_backend",
]
