"""minigan: generative adversarial networks from scratch on NumPy (and CuPy).

The pieces, in the order a reader meets them:

* ``minigan.backend``   which array module (numpy or cupy) does the arithmetic
* ``minigan.autograd``  Tensor, Function and the backward pass
* ``minigan.ops``       the differentiable operations
* ``minigan.nn``        layers (``nn.functional`` holds the kernels)
* ``minigan.optim``     SGD, Adam, RMSprop (and WGAN's weight clipping)
* ``minigan.gradcheck`` checking gradients against finite differences
"""
from minigan import backend
from minigan.autograd import Function, Tensor, enable_grad, grad, is_grad_enabled, no_grad
from minigan.backend import get_device, manual_seed, set_device
from minigan.creation import (arange, full, ones, ones_like, rand, randn, randn_like, tensor,
                              zeros, zeros_like)
from minigan.ops import (abs, clamp, clip, concatenate, exp, flatten, log, matmul, max, maximum,
                         mean, min, minimum, permute, reshape, sigmoid, sqrt, stack, sum, tanh,
                         transpose, var)

cat = concatenate   # PyTorch's name

backend.set_device_from_environment()
backend.keep_freed_memory_from_environment()

from minigan import nn, optim  # noqa: E402  (they build on everything above)
from minigan.gradcheck import GradcheckError, gradcheck, gradgradcheck  # noqa: E402

__version__ = "0.1.0"
