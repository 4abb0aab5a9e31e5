"""Activation layers: Modules without parameters around the functions of ``nn.functional``."""
from minigan.nn import functional as F
from minigan.nn.module import Module
from minigan.ops.elementwise import check_slope


class ReLU(Module):
    """y = max(x, 0)."""

    def forward(self, x):
        return F.relu(x)


class LeakyReLU(Module):
    """y = x for x > 0, negative_slope * x otherwise (DCGAN's discriminator uses 0.2).

    Any finite number is a valid slope (as in PyTorch); NaN, infinity and non-numbers
    are refused here, when the layer is made.
    """

    def __init__(self, negative_slope=0.01):
        super().__init__()
        self.negative_slope = check_slope("LeakyReLU", negative_slope)

    def forward(self, x):
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}"


class Tanh(Module):
    """y = tanh(x), in (-1, 1): the usual last layer of a generator of images in [-1, 1]."""

    def forward(self, x):
        return F.tanh(x)


class Sigmoid(Module):
    """y = 1 / (1 + e^-x), in (0, 1)."""

    def forward(self, x):
        return F.sigmoid(x)
