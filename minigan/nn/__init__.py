"""Neural-network building blocks, named as in PyTorch.

* ``minigan.nn.Module``, ``minigan.nn.Parameter``: how a model owns its weights
  (``module.py``).
* The layers: ``Linear``, ``Maxout``, ``Conv2d`` (zero or reflect padding), ``ConvTranspose2d``,
  ``Embedding``, ``Upsample``, ``PixelShuffle``, ``PixelUnshuffle``, ``AvgPool2d``,
  ``Flatten``, ``Unflatten``, ``Dropout``, ``Sequential`` (``layers.py``); ``BatchNorm1d``,
  ``BatchNorm2d``, ``LayerNorm``, ``InstanceNorm2d``, ``AdaIN`` (``normalization.py``);
  ``ReLU``, ``LeakyReLU``, ``Tanh``, ``Sigmoid`` (``activation.py``).
* ``minigan.nn.functional`` (as ``F``): the stateless kernels the layers call.
* ``minigan.nn.init``: initialisers (the DCGAN recipe built on them is
  ``minigan.models.dcgan_init_``).
* ``minigan.nn.utils``: ``spectral_norm``, which wraps a layer so that its weight is
  divided by its largest singular value (a 1-Lipschitz layer).
"""
from minigan.nn import functional, init, utils
from minigan.nn.activation import LeakyReLU, ReLU, Sigmoid, Tanh
from minigan.nn.layers import (AvgPool2d, Conv2d, ConvTranspose2d, Dropout, Embedding, Flatten,
                               Linear, Maxout, PixelShuffle, PixelUnshuffle, Sequential,
                               Unflatten, Upsample)
from minigan.nn.module import Module, Parameter
from minigan.nn.normalization import (AdaIN, BatchNorm1d, BatchNorm2d, InstanceNorm2d,
                                      LayerNorm)
