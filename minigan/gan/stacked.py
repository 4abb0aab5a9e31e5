"""Several independent networks computed as one: a leading "copies" axis on every weight.

A result about GAN training needs several seeds (mode collapse is a matter of luck as
much as of method). Every operation on a small network has a fixed cost (Python, the
graph, NumPy's call) beside its arithmetic, and five networks trained one after another
pay it five times. Stacking them pays it once (chapter 04's step: 2.7 ms for one copy,
9.9 ms for a stack of five, 13.5 ms for five in a row): copy s of a :class:`StackedLinear` has
its own weight W[s] and bias b[s] and sees only its own inputs x[s],

    y[s] = x[s] W[s] + b[s],        x (S, N, in) -> y (S, N, out),

which is one batched matrix product. Nothing mixes across the copies axis: the
gradient of copy s's loss reaches only copy s's weights, and Adam's update is
elementwise, so training the stack with the *sum* of the copies' losses is exactly
training S networks side by side. (Use the sum, or S times the mean over all copies:
a plain mean would divide each copy's gradient by S, which Adam ignores but SGD does not.)

Each copy draws its initial weights from its own generator, so copy s of a stack is
the same network as a stack of one built from the same generator.
"""
import math

import numpy

from minigan import backend
from minigan.creation import zeros
from minigan.nn.activation import LeakyReLU, ReLU
from minigan.nn.layers import Sequential
from minigan.nn.module import Module, Parameter


def _uniform(generator, bound, shape):
    """U(-bound, bound) from a numpy or cupy generator (both offer ``random``), on the host."""
    u = numpy.asarray(backend.to_numpy(generator.random(shape)), dtype=numpy.float64)
    return bound * (2 * u - 1)


class StackedLinear(Module):
    """S independent linear layers side by side: y[s] = x[s] @ weight[s] + bias[s].

    Shapes: x (S, N, in_features) -> y (S, N, out_features); weight (S, in, out)
    (in before out, so that no transpose is needed), bias (S, 1, out).

    Initialisation, per copy, is PyTorch's default for Linear: weight and bias
    ~ U(-1/sqrt(in), 1/sqrt(in)). ``generators`` gives one random generator per copy
    (numpy Generators, say ``numpy.random.default_rng(seed)`` for each seed); without
    them every copy draws from minigan's generator.

    >>> layer = StackedLinear(5, 2, 128)
    >>> layer(minigan.randn(5, 64, 2)).shape
    (5, 64, 128)
    """

    def __init__(self, copies, in_features, out_features, generators=None):
        super().__init__()
        self.copies, self.in_features, self.out_features = copies, in_features, out_features
        self.weight = Parameter(zeros(copies, in_features, out_features))
        self.bias = Parameter(zeros(copies, 1, out_features))
        self.reset_parameters(generators)

    def reset_parameters(self, generators=None):
        """Draw copy s's weight and bias from ``generators[s]`` (minigan's generator if None)."""
        if generators is None:
            generators = [backend.rng()] * self.copies
        if len(generators) != self.copies:
            raise ValueError(f"StackedLinear: got {len(generators)} generators for "
                             f"{self.copies} copies")
        bound = 1 / math.sqrt(self.in_features)
        xp = backend.array_module(self.weight.data)
        for s, generator in enumerate(generators):
            self.weight.data[s] = xp.asarray(_uniform(generator, bound, self.weight.shape[1:]))
            self.bias.data[s] = xp.asarray(_uniform(generator, bound, self.bias.shape[1:]))

    def forward(self, x):
        if x.ndim != 3 or x.shape[0] != self.copies or x.shape[2] != self.in_features:
            raise ValueError(f"StackedLinear: expected input of shape ({self.copies}, N, "
                             f"{self.in_features}), got {x.shape}")
        return x @ self.weight + self.bias

    def extra_repr(self):
        return (f"copies={self.copies}, in_features={self.in_features}, "
                f"out_features={self.out_features}")


def stacked_mlp(copies, sizes, activation="relu", generators=None):
    """S independent multilayer perceptrons: StackedLinear layers with an activation between.

    ``sizes`` lists the widths from input to output, e.g. (2, 128, 128, 1) has two
    hidden layers of 128 units. ``activation`` is 'relu' or 'leaky_relu' (slope 0.2);
    none follows the last layer. ``generators``: one random generator per copy.

    >>> netD = stacked_mlp(5, (2, 128, 128, 1))
    >>> netD(minigan.randn(5, 64, 2)).shape
    (5, 64, 1)
    """
    makers = {"relu": ReLU, "leaky_relu": lambda: LeakyReLU(0.2)}
    if activation not in makers:
        raise ValueError(f"stacked_mlp: activation must be one of {sorted(makers)}, "
                         f"got {activation!r}")
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(StackedLinear(copies, n_in, n_out, generators))
        if i < len(sizes) - 2:
            layers.append(makers[activation]())
    return Sequential(*layers)
