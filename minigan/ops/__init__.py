"""The differentiable operations, grouped by kind; each is one Function class and one function.

The operations are built on ``Tensor`` and ``Function`` (``minigan.autograd``), and
Tensor's operators and methods are these operations: so the table at the end of this
module gives them to Tensor, once everything they need is defined. ``minigan.autograd``
imports nothing from here, and nothing here has to be imported half-way.
"""
import numpy

from minigan.autograd import Tensor
from minigan.ops.elementwise import (abs, add, as_tensor, clamp, clip, div, exp, leaky_relu, log,
                                     maximum, minimum, mul, neg, pow, relu, sigmoid, softplus,
                                     sqrt, sub, tanh)
from minigan.ops.linalg import matmul
from minigan.ops.reduce import max, mean, min, sum, var
from minigan.ops.shape import (astype, broadcast_to, concatenate, flatten, getitem, permute,
                               reshape, squeeze, stack, sum_to, swapaxes, transpose, unsqueeze)


# --- Tensor's operators and methods: x + y is add(x, y), x.sum() is sum(x) -----------------
def _swapped(operation):
    """``2 - x`` calls x.__rsub__(2): the operation with the operands in written order."""
    return lambda self, other: operation(other, self)


for _name, _method in {
    "__add__": add, "__radd__": _swapped(add),
    "__sub__": sub, "__rsub__": _swapped(sub),
    "__mul__": mul, "__rmul__": _swapped(mul),
    "__truediv__": div, "__rtruediv__": _swapped(div),
    "__pow__": pow, "__rpow__": _swapped(pow),
    "__matmul__": matmul, "__rmatmul__": _swapped(matmul),
    "__neg__": neg, "__abs__": abs, "__getitem__": getitem,
    "sum": sum, "mean": mean, "max": max, "min": min, "var": var,
    "pow": pow, "exp": exp, "log": log, "sqrt": sqrt, "abs": abs,
    "tanh": tanh, "sigmoid": sigmoid, "relu": relu,
    "clip": clip, "clamp": clip, "maximum": maximum,
    "reshape": reshape, "view": reshape, "transpose": transpose, "permute": permute,
    "flatten": flatten, "unsqueeze": unsqueeze, "squeeze": squeeze,
    "broadcast_to": broadcast_to, "matmul": matmul,
    "astype": astype,
    "float": lambda self: astype(self, numpy.float32),
    "double": lambda self: astype(self, numpy.float64),
}.items():
    setattr(Tensor, _name, _method)
Tensor.T = property(transpose, doc="The axes reversed.")
del _name, _method
