"""minigan's answers to chapter 03's exercises."""
import math

import numpy as np

import minigan
from minigan.metrics.parzen import parzen_log_likelihood  # noqa: F401  (the answer to 3.2)


def maxout(x, weight, bias, pieces):
    layer = minigan.nn.Maxout(weight.shape[1], weight.shape[0] // pieces, pieces)
    # Parameters live on minigan's device: backend.asarray puts them there (a copy on a GPU).
    layer.linear.weight.data = minigan.backend.asarray(weight, dtype=np.float64)
    layer.linear.bias.data = minigan.backend.asarray(bias, dtype=np.float64)
    return layer(minigan.tensor(np.asarray(x, dtype=np.float64))).numpy()


def uniform_noise(rng, n, dim):
    return rng.uniform(-math.sqrt(3), math.sqrt(3), size=(n, dim))
