"""The differentiable operations, grouped by kind; each is one Function class and one function."""
from minigan.ops.elementwise import (abs, add, as_tensor, clamp, clip, div, exp, leaky_relu, log,
                                     maximum, minimum, mul, neg, pow, relu, sigmoid, softplus,
                                     sqrt, sub, tanh)
from minigan.ops.linalg import matmul
from minigan.ops.reduce import max, mean, min, sum, var
from minigan.ops.shape import (astype, broadcast_to, concatenate, flatten, getitem, permute,
                               reshape, squeeze, stack, sum_to, swapaxes, transpose, unsqueeze)
