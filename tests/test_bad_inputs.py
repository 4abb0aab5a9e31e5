"""Bad input gets a clear error: the public API and the command line, used carelessly.

Each row of the tables below is one mistake a user can make: an integer image into a
convolution, a probability of 1.5, a negative learning rate, a truncated checkpoint.
The rule for every one of them:

* an exception whose message names the operation (or layer, or argument) and the bad
  shape, dtype or value, so the mistake can be fixed without a debugger;
* never a silent wrong result (NaN from a probability of 1.5, a convolution computed
  in float64 behind the caller's back, an axis wrapped around to another one);
* on the command line, a non-zero exit status and one line on stderr, no traceback.

Where minigan converts instead of refusing, the conversion is documented and correct,
and the tests at the end check it (an integer tensor next to a float32 one becomes
float32, as in PyTorch).

The tables hold (what the user did, the call, the exception, a regex of the message).
A regex names the operation and the offending value, so a message that lost either
fails the test.
"""
import math
import pathlib
import re
import subprocess
import sys
import zipfile

import numpy
import pytest

import minigan
from minigan import models, nn, optim
from minigan.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from minigan.data import datasets
from minigan.gan import losses, penalties
from minigan.metrics import classifier, fid, kid, modes, parzen, precision_recall
from minigan.nn import functional as F
from tests.strategies import leaf

ROOT = pathlib.Path(__file__).resolve().parents[1]
T = minigan.tensor


def ints(*shape):
    """An integer tensor, such as raw pixels or labels."""
    return T(numpy.ones(shape, dtype=numpy.int64))


def check(call, error, pattern):
    """``call()`` raises ``error`` with a message matching ``pattern``."""
    with pytest.raises(error, match=pattern):
        call()


def table(rows):
    """pytest parameters from (what, call, error, pattern) rows, with ``what`` as the id."""
    return pytest.mark.parametrize("call, error, pattern",
                                   [pytest.param(*row[1:], id=row[0]) for row in rows])


# --- making tensors ------------------------------------------------------------------------
TENSORS = [
    ("tensor of strings", lambda: T(["a", "b"]), TypeError, r"tensor: dtype <U1 \(strings\)"),
    ("tensor of None", lambda: T(None), TypeError, r"tensor: dtype object \(Python objects\)"),
    ("tensor of a dict", lambda: T({"a": 1.0}), TypeError, r"tensor: dtype object"),
    ("tensor of complex numbers", lambda: T(numpy.array([1j])), TypeError,
     r"tensor: dtype complex128 \(complex numbers\)"),
    ("tensor of a ragged list", lambda: T([[1.0, 2.0], [3.0]]), TypeError,
     r"tensor: cannot make a tensor of list data"),
    ("tensor of text converted by dtype=", lambda: T(numpy.array(["1.5"]), dtype="float32"),
     TypeError, r"tensor: dtype <U3 \(strings\)"),
    ("tensor with dtype=str", lambda: T([1.0], dtype=str), TypeError, r"tensor: dtype <U"),
    ("tensor with an unknown dtype", lambda: T([1.0], dtype="float33"), TypeError,
     r"tensor: dtype 'float33' is not a NumPy dtype"),
    ("Tensor() of a list", lambda: minigan.Tensor([1.0]), TypeError,
     r"Tensor: data must be a NumPy or CuPy array, got list; .*minigan\.tensor\(data\)"),
    ("randn(-1)", lambda: minigan.randn(-1), ValueError, r"randn: sizes must be >= 0.*\(-1,\)"),
    ("zeros(2, -3)", lambda: minigan.zeros(2, -3), ValueError,
     r"zeros: sizes must be >= 0.*\(2, -3\)"),
    ("rand((3, -1))", lambda: minigan.rand((3, -1)), ValueError, r"rand: sizes must be >= 0"),
    ("ones(2.5)", lambda: minigan.ones(2.5), TypeError, r"ones: sizes must be ints, got \(2\.5,\)"),
    ("full with a negative size", lambda: minigan.full((-1,), 0.0), ValueError,
     r"full: sizes must be >= 0"),
    ("full with a text value", lambda: minigan.full((2,), "a"), TypeError,
     r"full: value must be a real number, got 'a'"),
    ("randn of integers", lambda: minigan.randn(2, dtype="int64"), TypeError,
     r"randn: draws are float32 or float64, got dtype=int64"),
    ("zeros of strings", lambda: minigan.zeros(2, dtype=str), TypeError,
     r"zeros: dtype <U0 \(strings\)"),
    ("arange with step 0", lambda: minigan.arange(0, 5, 0), ValueError,
     r"arange: step must not be 0"),
    ("zeros_like of an array", lambda: minigan.zeros_like(numpy.ones(3)), TypeError,
     r"zeros_like: expected a Tensor, got ndarray"),
    ("randn_like of a list", lambda: minigan.randn_like([1.0]), TypeError,
     r"randn_like: expected a Tensor, got list"),
    ("requires_grad on integers", lambda: T([1, 2], requires_grad=True), TypeError,
     r"only float32 and float64 tensors can require gradients, got dtype int64"),
]


@table(TENSORS)
def test_making_a_tensor_from_bad_data_or_sizes(call, error, pattern):
    """Tensors hold numbers: text, objects and complex numbers are refused by dtype, and
    negative or fractional sizes by the function's name (NumPy's own message does not
    say which call was wrong)."""
    check(call, error, pattern)


def test_zero_sizes_make_empty_tensors():
    """A size of 0 is not a mistake: zeros(0) is an empty tensor, and so is an empty batch
    through a layer. Only reductions with no values to reduce are refused."""
    assert minigan.zeros(0).shape == (0,) and minigan.randn(0, 3).shape == (0, 3)
    assert minigan.zeros(0).sum().item() == 0
    assert nn.Conv2d(1, 2, 3)(minigan.ones(0, 1, 5, 5)).shape == (0, 2, 3, 3)
    assert nn.Linear(3, 2)(minigan.ones(0, 3)).shape == (0, 2)


# --- operations ----------------------------------------------------------------------------
OPS = [
    ("mean of an empty tensor", lambda: minigan.zeros(0).mean(), ValueError,
     r"mean: the mean of no values is undefined \(tensor of shape \(0,\)"),
    ("mean over an empty axis", lambda: minigan.zeros(0, 3).mean(axis=0), ValueError,
     r"mean: .*shape \(0, 3\), reduced over axes \(0,\)"),
    ("max of an empty tensor", lambda: minigan.zeros(0).max(), ValueError,
     r"max: the maximum of no values"),
    ("min of an empty tensor", lambda: minigan.min(minigan.zeros(2, 0), axis=1), ValueError,
     r"min: the minimum of no values .*\(2, 0\)"),
    ("sum over a fractional axis", lambda: minigan.ones(2, 3).sum(axis=1.5), TypeError,
     r"sum: axis must be an int, a tuple of ints or None, got 1\.5"),
    ("mean over one axis twice", lambda: minigan.ones(2, 3).mean(axis=(1, -1)), ValueError,
     r"mean: axis \(1, -1\) names the same axis twice"),
    ("mean of a list", lambda: minigan.mean([1.0, 2.0]), TypeError,
     r"mean: expected a Tensor, got list"),
    ("exp of an array", lambda: minigan.exp(numpy.ones(3)), TypeError,
     r"exp: expected Tensor inputs, got ndarray; .*minigan\.tensor"),
    ("tanh of a list", lambda: minigan.tanh([0.5]), TypeError,
     r"tanh: expected Tensor inputs, got list"),
    ("adding None", lambda: minigan.ones(2) + None, TypeError, r"add: cannot compute with None"),
    ("multiplying by text", lambda: minigan.ones(2) * "2", TypeError,
     r"mul: cannot compute with '2' \(str\)"),
    ("subtracting a complex number", lambda: minigan.ones(2) - 1j, TypeError,
     r"sub: cannot compute with 1j"),
    ("maximum of two arrays", lambda: minigan.maximum(numpy.ones(2), numpy.ones(2)), TypeError,
     r"maximum: at least one operand must be a Tensor"),
    ("a text exponent", lambda: minigan.ones(2) ** "2", TypeError,
     r"pow: exponent must be a real number, got '2'"),
    ("a negative base c ** x", lambda: (-2.0) ** minigan.ones(2), ValueError,
     r"pow: .*needs a base c > 0, got -2\.0"),
    ("clip with min above max", lambda: minigan.clip(minigan.ones(2), 1.0, 0.0), ValueError,
     r"clip: min 1\.0 is greater than max 0\.0"),
    ("clip at NaN", lambda: minigan.clip(minigan.ones(2), float("nan")), ValueError,
     r"clip: min must be a number, got nan"),
    ("reshape to a fractional size", lambda: minigan.ones(2, 3).reshape(2.5, 2), TypeError,
     r"reshape: the new shape must be ints, got \(2\.5, 2\)"),
    ("transpose with text axes", lambda: minigan.ones(2, 3).transpose("a", 0), TypeError,
     r"transpose: axes must be ints, got \('a', 0\)"),
    ("flatten from after its end", lambda: minigan.ones(2, 3, 4).flatten(2, 1), ValueError,
     r"flatten: start_dim 2 comes after end_dim 1 .*\(2, 3, 4\)"),
    ("broadcast to an impossible shape", lambda: minigan.ones(2, 3).broadcast_to((4, 4)),
     ValueError, r"broadcast_to: .*\(input shapes \(2, 3\)\)"),
    ("concatenate along a missing axis",
     lambda: minigan.concatenate([minigan.ones(2, 3)] * 2, axis=2), ValueError,
     r"concatenate: axis 2 is out of range for a tensor of shape \(2, 3\)"),
    ("stack along a missing axis", lambda: minigan.stack([minigan.ones(2, 3)] * 2, axis=3),
     ValueError, r"stack: axis 3 is out of range"),
    ("concatenate nothing", lambda: minigan.concatenate([]), ValueError,
     r"concatenate: expected a non-empty sequence of Tensors"),
    ("concatenate an array", lambda: minigan.concatenate([minigan.ones(2), numpy.ones(2)]),
     TypeError, r"concatenate: every item must be a Tensor, got 1: ndarray"),
    ("concatenate one tensor", lambda: minigan.concatenate(minigan.ones(2)), TypeError,
     r"concatenate: expected a sequence of Tensors, got one Tensor of shape \(2,\)"),
    ("astype to text", lambda: minigan.ones(2).astype(str), TypeError, r"astype: dtype <U"),
    ("leaky_relu with a NaN slope", lambda: F.leaky_relu(minigan.ones(2), float("nan")),
     ValueError, r"leaky_relu: negative_slope must be a number, got nan"),
    ("leaky_relu with a text slope", lambda: F.leaky_relu(minigan.ones(2), "0.2"), TypeError,
     r"leaky_relu: negative_slope must be a real number, got '0\.2'"),
    ("backward with a text gradient", lambda: (leaf([1.0, 2.0]) * 2).backward("1"), TypeError,
     r"backward: gradient must be a tensor of numbers of the output's shape \(2,\)"),
    ("grad of a number", lambda: minigan.grad(3.0, leaf([1.0])), TypeError,
     r"grad: outputs must be a Tensor or a non-empty sequence of Tensors, got 0: float"),
    ("grad with respect to an array", lambda: minigan.grad((leaf([1.0]) * 2).sum(),
                                                           [numpy.ones(1)]),
     TypeError, r"grad: inputs must be .*got 0: ndarray"),
]


@table(OPS)
def test_operations_refuse_bad_arguments_by_name(call, error, pattern):
    """Each operation names itself and the bad argument; none returns NaN for None, or
    wraps an axis that does not exist around to one that does."""
    check(call, error, pattern)


# --- layers: dtypes ------------------------------------------------------------------------
LAYER_DTYPES = [
    ("integers into Linear", lambda: nn.Linear(3, 2)(ints(4, 3)), TypeError,
     r"Linear: input has dtype int64 but the weight has dtype float32; convert the input "
     r"with x\.float\(\)"),
    ("bools into Linear", lambda: nn.Linear(3, 2)(T(numpy.ones((4, 3), dtype=bool))), TypeError,
     r"Linear: input has dtype bool .*x\.float\(\)"),
    ("float64 into Linear", lambda: nn.Linear(3, 2)(minigan.ones(4, 3, dtype="float64")),
     TypeError, r"Linear: input has dtype float64 but the weight has dtype float32"),
    ("an array into Linear", lambda: nn.Linear(3, 2)(numpy.ones((4, 3), dtype=numpy.float32)),
     TypeError, r"Linear: expected a Tensor as input, got ndarray; .*minigan\.tensor"),
    ("integers into Conv2d", lambda: nn.Conv2d(1, 2, 3)(ints(1, 1, 5, 5)), TypeError,
     r"Conv2d: input has dtype int64 but the weight has dtype float32; convert the input "
     r"with x\.float\(\)"),
    ("raw uint8 pixels into Conv2d",
     lambda: nn.Conv2d(1, 2, 3)(T(numpy.zeros((1, 1, 5, 5), dtype=numpy.uint8))), TypeError,
     r"Conv2d: input has dtype uint8"),
    ("float64 into Conv2d", lambda: nn.Conv2d(1, 2, 3)(minigan.ones(1, 1, 5, 5, dtype="float64")),
     TypeError, r"Conv2d: input has dtype float64 but the weight has dtype float32"),
    ("an array into Conv2d",
     lambda: nn.Conv2d(1, 2, 3)(numpy.ones((1, 1, 5, 5), dtype=numpy.float32)), TypeError,
     r"Conv2d: expected a Tensor as input, got ndarray"),
    ("integers into reflect-padded Conv2d",
     lambda: nn.Conv2d(1, 2, 3, padding=1, padding_mode="reflect")(ints(1, 1, 5, 5)), TypeError,
     r"Conv2d: input has dtype int64"),
    ("integers into ConvTranspose2d", lambda: nn.ConvTranspose2d(1, 2, 3)(ints(1, 1, 5, 5)),
     TypeError, r"ConvTranspose2d: input has dtype int64 .*x\.float\(\)"),
    ("integers into Maxout", lambda: nn.Maxout(3, 2, 2)(ints(4, 3)), TypeError,
     r"Maxout: input has dtype int64"),
    ("integers into BatchNorm1d", lambda: nn.BatchNorm1d(3)(ints(4, 3)), TypeError,
     r"BatchNorm1d: input has dtype int64 .*x\.float\(\)"),
    ("float64 into BatchNorm2d (training)",
     lambda: nn.BatchNorm2d(3)(minigan.ones(2, 3, 2, 2, dtype="float64")), TypeError,
     r"BatchNorm2d: input has dtype float64 but the weight has dtype float32"),
    ("float64 into BatchNorm2d (evaluation)",
     lambda: nn.BatchNorm2d(3).eval()(minigan.ones(2, 3, 2, 2, dtype="float64")), TypeError,
     r"BatchNorm2d: input has dtype float64"),
    ("integers into LayerNorm", lambda: nn.LayerNorm(3)(ints(2, 3)), TypeError,
     r"LayerNorm: input has dtype int64"),
    ("integers into InstanceNorm2d", lambda: nn.InstanceNorm2d(3)(ints(2, 3, 4, 4)), TypeError,
     r"InstanceNorm2d: input must be float32 or float64, got dtype int64"),
    ("a float64 style into AdaIN",
     lambda: nn.AdaIN(5, 3)(minigan.randn(2, 3, 4, 4), minigan.randn(2, 5, dtype="float64")),
     TypeError, r"AdaIN: w has dtype float64 but x has dtype float32"),
    ("integers into AvgPool2d", lambda: nn.AvgPool2d(2)(ints(1, 1, 4, 4)), TypeError,
     r"avg_pool2d: input must be float32 or float64, got dtype int64"),
    ("integers into dropout", lambda: F.dropout(ints(4), 0.5), TypeError,
     r"dropout: input must be float32 or float64, got dtype int64"),
    ("F.linear with integers", lambda: F.linear(ints(4, 3), minigan.ones(2, 3)), TypeError,
     r"linear: input has dtype int64 but the weight has dtype float32"),
    ("F.conv2d with a float64 weight",
     lambda: F.conv2d(minigan.ones(1, 1, 5, 5), minigan.ones(2, 1, 3, 3, dtype="float64")),
     TypeError, r"conv2d: input has dtype float32 but the weight has dtype float64; convert "
                r"the input with x\.double\(\)"),
    ("F.conv2d with a float64 bias",
     lambda: F.conv2d(minigan.ones(1, 1, 5, 5), minigan.ones(2, 1, 3, 3),
                      bias=minigan.ones(2, dtype="float64")),
     TypeError, r"conv2d: bias has dtype float64 but the weight has dtype float32"),
]


@table(LAYER_DTYPES)
def test_layers_refuse_inputs_of_another_dtype(call, error, pattern):
    """As in PyTorch ("expected scalar type Float"), a layer computes in its weight's dtype
    and refuses anything else, naming the layer, the dtype and the conversion to write.
    Before, integers went through Linear in float64, silently, and into Conv2d as far as
    an "add dtype mismatch" deep inside."""
    check(call, error, pattern)


# --- layers: sizes and hyperparameters -----------------------------------------------------
LAYER_SETTINGS = [
    ("Linear(0, 4)", lambda: nn.Linear(0, 4), ValueError,
     r"Linear: in_features must be >= 1, got 0"),
    ("Linear(-1, 4)", lambda: nn.Linear(-1, 4), ValueError, r"Linear: in_features must be >= 1"),
    ("Linear(4, 0)", lambda: nn.Linear(4, 0), ValueError, r"Linear: out_features must be >= 1"),
    ("Linear(3.5, 4)", lambda: nn.Linear(3.5, 4), TypeError,
     r"Linear: in_features must be an int, got 3\.5"),
    ("Linear('3', 4)", lambda: nn.Linear("3", 4), TypeError,
     r"Linear: in_features must be an int, got '3'"),
    ("Conv2d kernel_size 0", lambda: nn.Conv2d(1, 2, 0), ValueError,
     r"Conv2d: kernel_size must be >= 1, got 0"),
    ("Conv2d kernel_size -1", lambda: nn.Conv2d(1, 2, -1), ValueError,
     r"Conv2d: kernel_size must be >= 1, got -1"),
    ("Conv2d kernel_size 2.5", lambda: nn.Conv2d(1, 2, 2.5), ValueError,
     r"Conv2d: kernel_size must be an int or a pair of ints, got 2\.5"),
    ("Conv2d kernel_size of three", lambda: nn.Conv2d(1, 2, (3, 3, 3)), ValueError,
     r"Conv2d: kernel_size must be an int or a pair of ints, got \(3, 3, 3\)"),
    ("Conv2d stride 0", lambda: nn.Conv2d(1, 2, 3, stride=0), ValueError,
     r"Conv2d: stride must be >= 1, got 0"),
    ("Conv2d stride -2", lambda: nn.Conv2d(1, 2, 3, stride=-2), ValueError,
     r"Conv2d: stride must be >= 1, got -2"),
    ("Conv2d padding -1", lambda: nn.Conv2d(1, 2, 3, padding=-1), ValueError,
     r"Conv2d: padding must be >= 0, got -1"),
    ("Conv2d in_channels 0", lambda: nn.Conv2d(0, 2, 3), ValueError,
     r"Conv2d: in_channels must be >= 1, got 0"),
    ("Conv2d out_channels -2", lambda: nn.Conv2d(1, -2, 3), ValueError,
     r"Conv2d: out_channels must be >= 1, got -2"),
    ("ConvTranspose2d stride 0", lambda: nn.ConvTranspose2d(1, 2, 3, stride=0), ValueError,
     r"ConvTranspose2d: stride must be >= 1, got 0"),
    ("ConvTranspose2d padding -1", lambda: nn.ConvTranspose2d(1, 2, 3, padding=-1), ValueError,
     r"ConvTranspose2d: padding must be >= 0"),
    ("ConvTranspose2d output_padding >= stride",
     lambda: nn.ConvTranspose2d(1, 2, 3, stride=2, output_padding=2), ValueError,
     r"ConvTranspose2d: output_padding \(2, 2\) must be smaller than the stride \(2, 2\)"),
    ("F.conv2d stride 0", lambda: F.conv2d(minigan.ones(1, 1, 5, 5), minigan.ones(2, 1, 3, 3),
                                           stride=0),
     ValueError, r"conv2d: stride must be >= 1, got 0"),
    ("F.conv2d padding -1", lambda: F.conv2d(minigan.ones(1, 1, 5, 5), minigan.ones(2, 1, 3, 3),
                                             padding=-1),
     ValueError, r"conv2d: padding must be >= 0, got -1"),
    ("F.conv_transpose2d stride 0",
     lambda: F.conv_transpose2d(minigan.ones(1, 1, 5, 5), minigan.ones(1, 2, 3, 3), stride=0),
     ValueError, r"conv_transpose2d: stride must be >= 1, got 0"),
    ("F.conv2d bias of the wrong size",
     lambda: F.conv2d(minigan.ones(1, 1, 5, 5), minigan.ones(2, 1, 3, 3), bias=minigan.ones(3)),
     ValueError, r"conv2d: bias of shape \(3,\) does not match weight of shape \(2, 1, 3, 3\): "
                 r"expected \(2,\)"),
    ("in_channels not the input's", lambda: nn.Conv2d(3, 8, 3)(minigan.ones(1, 1, 8, 8)),
     ValueError, r"conv2d: input of shape \(1, 1, 8, 8\) has 1 channels, but weight of shape "
                 r"\(8, 3, 3, 3\) .*expects 3"),
    ("in_channels not the input's (transposed)",
     lambda: nn.ConvTranspose2d(4, 2, 3)(minigan.ones(1, 1, 5, 5)), ValueError,
     r"conv_transpose2d: input of shape \(1, 1, 5, 5\) has 1 channels, but weight of shape "
     r"\(4, 2, 3, 3\)"),
    ("Embedding(0, 4)", lambda: nn.Embedding(0, 4), ValueError,
     r"Embedding: num_embeddings must be >= 1, got 0"),
    ("Embedding of fractional indices", lambda: nn.Embedding(10, 4)(T([1.0])), TypeError,
     r"embedding: indices must be integers, got dtype float32"),
    ("Maxout with 0 pieces", lambda: nn.Maxout(4, 2, 0), ValueError,
     r"Maxout: pieces must be >= 1, got 0"),
    ("Dropout(1.5)", lambda: nn.Dropout(1.5), ValueError,
     r"Dropout: p must be in \[0, 1\), got 1\.5"),
    ("Dropout(-0.1)", lambda: nn.Dropout(-0.1), ValueError, r"Dropout: p must be in \[0, 1\)"),
    ("Dropout(nan)", lambda: nn.Dropout(float("nan")), ValueError,
     r"Dropout: p must be a number, got nan"),
    ("Dropout('0.5')", lambda: nn.Dropout("0.5"), TypeError,
     r"Dropout: p must be a real number, got '0\.5'"),
    ("F.dropout(p=1)", lambda: F.dropout(minigan.ones(3), 1.0), ValueError,
     r"dropout: p must be in \[0, 1\), got 1\.0"),
    ("LeakyReLU(nan)", lambda: nn.LeakyReLU(float("nan")), ValueError,
     r"LeakyReLU: negative_slope must be a number, got nan"),
    ("LeakyReLU(inf)", lambda: nn.LeakyReLU(float("inf")), ValueError,
     r"LeakyReLU: negative_slope must be finite, got inf"),
    ("LeakyReLU('0.2')", lambda: nn.LeakyReLU("0.2"), TypeError,
     r"LeakyReLU: negative_slope must be a real number, got '0\.2'"),
    ("Upsample by 0", lambda: nn.Upsample(scale_factor=0), ValueError,
     r"Upsample: scale_factor must be >= 1, got 0"),
    ("Upsample by 1.5", lambda: nn.Upsample(scale_factor=1.5), ValueError,
     r"Upsample: scale_factor must be an int or a pair of ints, got 1\.5"),
    ("Upsample with no size", lambda: nn.Upsample(), ValueError,
     r"Upsample: give exactly one of size and scale_factor"),
    ("AvgPool2d(0)", lambda: nn.AvgPool2d(0), ValueError, r"AvgPool2d: kernel_size must be >= 1"),
    ("Unflatten into the wrong sizes", lambda: nn.Unflatten(1, (2, 2))(minigan.ones(2, 3)),
     ValueError, r"Unflatten: dimension 1 of the input \(2, 3\) has size 3, which cannot be "
                 r"split into \(2, 2\)"),
    ("Unflatten a missing dimension", lambda: nn.Unflatten(5, (3,))(minigan.ones(2, 3)),
     ValueError, r"Unflatten: dim 5 is out of range for input of shape \(2, 3\)"),
    ("spectral_norm along a missing axis", lambda: nn.utils.spectral_norm(nn.Linear(3, 2), dim=2),
     ValueError, r"spectral_norm: dim must be an axis of the weight, 0\.\.1"),
    ("spectral_norm with eps 0", lambda: nn.utils.spectral_norm(nn.Linear(3, 2), eps=0),
     ValueError, r"spectral_norm: eps must be a number > 0, got 0"),
    ("normal_ with a negative std", lambda: nn.init.normal_(nn.Linear(3, 2).weight, 0.0, -1.0),
     ValueError, r"normal_: std must be >= 0, got -1\.0"),
    ("uniform_ from above its end", lambda: nn.init.uniform_(nn.Linear(3, 2).weight, 1.0, 0.0),
     ValueError, r"uniform_: expected a <= b, got a=1\.0, b=0\.0"),
]


@table(LAYER_SETTINGS)
def test_layers_refuse_impossible_sizes_and_settings(call, error, pattern):
    """Zero or negative sizes, kernels, strides and paddings, and probabilities outside
    [0, 1), are refused when the layer is made: before, a stride of 0 was a
    ZeroDivisionError at the first call, a padding of -1 a broadcasting error from NumPy,
    and Linear(0, 4) a ZeroDivisionError in the initialiser."""
    check(call, error, pattern)


# --- normalisation -------------------------------------------------------------------------
NORMS = [
    ("batch norm of a batch of one in training", lambda: nn.BatchNorm1d(3)(minigan.ones(1, 3)),
     ValueError, r"batch_norm: expected more than 1 value per channel when training, got input "
                 r"of shape \(1, 3\) .*\.eval\(\)"),
    ("batch norm of one pixel of one image", lambda: nn.BatchNorm2d(3)(minigan.ones(1, 3, 1, 1)),
     ValueError, r"batch_norm: expected more than 1 value per channel .*\(1, 3, 1, 1\)"),
    ("BatchNorm1d of the wrong width", lambda: nn.BatchNorm1d(4)(minigan.ones(8, 3)), ValueError,
     r"BatchNorm1d: input of shape \(8, 3\) has 3 channels, but this layer has num_features=4"),
    ("BatchNorm2d of the wrong width", lambda: nn.BatchNorm2d(4)(minigan.ones(2, 3, 2, 2)),
     ValueError, r"BatchNorm2d: input of shape \(2, 3, 2, 2\) has 3 channels, but this layer "
                 r"has num_features=4"),
    ("BatchNorm2d of a flat batch", lambda: nn.BatchNorm2d(3)(minigan.ones(4, 3)), ValueError,
     r"BatchNorm2d: expected input of shape \(N, C, H, W\), got shape \(4, 3\)"),
    ("BatchNorm1d(0)", lambda: nn.BatchNorm1d(0), ValueError,
     r"BatchNorm1d: num_features must be >= 1, got 0"),
    ("BatchNorm1d eps 0", lambda: nn.BatchNorm1d(3, eps=0), ValueError,
     r"BatchNorm1d: eps must be > 0, got 0"),
    ("BatchNorm2d eps -1", lambda: nn.BatchNorm2d(3, eps=-1), ValueError,
     r"BatchNorm2d: eps must be > 0, got -1"),
    ("BatchNorm1d momentum 1.5", lambda: nn.BatchNorm1d(3, momentum=1.5), ValueError,
     r"BatchNorm1d: momentum must be in \[0, 1\], got 1\.5"),
    ("BatchNorm1d momentum -0.1", lambda: nn.BatchNorm1d(3, momentum=-0.1), ValueError,
     r"BatchNorm1d: momentum must be in \[0, 1\]"),
    ("BatchNorm1d momentum None", lambda: nn.BatchNorm1d(3, momentum=None), ValueError,
     r"BatchNorm1d: momentum=None .* is not implemented"),
    ("F.batch_norm with a negative eps",
     lambda: F.batch_norm(minigan.randn(4, 3), minigan.zeros(3), minigan.ones(3), training=True,
                          eps=-1),
     ValueError, r"batch_norm: eps must be >= 0, got -1"),
    ("F.batch_norm with momentum 2",
     lambda: F.batch_norm(minigan.randn(4, 3), minigan.zeros(3), minigan.ones(3), training=True,
                          momentum=2),
     ValueError, r"batch_norm: momentum must be in \[0, 1\], got 2"),
    ("LayerNorm(0)", lambda: nn.LayerNorm(0), ValueError,
     r"LayerNorm: normalized_shape must be >= 1, got 0"),
    ("LayerNorm eps 0", lambda: nn.LayerNorm(3, eps=0.0), ValueError,
     r"LayerNorm: eps must be > 0"),
    ("LayerNorm of the wrong shape", lambda: nn.LayerNorm(4)(minigan.ones(2, 3)), ValueError,
     r"layer_norm: input of shape \(2, 3\) must end in normalized_shape \(4,\)"),
    ("InstanceNorm2d of the wrong width", lambda: nn.InstanceNorm2d(4)(minigan.randn(2, 3, 4, 4)),
     ValueError, r"InstanceNorm2d: input of shape \(2, 3, 4, 4\) has 3 channels, but this layer "
                 r"has num_features=4"),
    ("InstanceNorm2d of 1x1 maps", lambda: nn.InstanceNorm2d(3)(minigan.randn(2, 3, 1, 1)),
     ValueError, r"instance_norm: expected more than 1 spatial element per channel"),
    ("InstanceNorm2d momentum 2", lambda: nn.InstanceNorm2d(3, momentum=2), ValueError,
     r"InstanceNorm2d: momentum must be in \[0, 1\], got 2"),
    ("AdaIN with a style of the wrong size",
     lambda: nn.AdaIN(5, 3)(minigan.randn(2, 3, 4, 4), minigan.randn(2, 4)), ValueError,
     r"AdaIN: expected w of shape \(N, style_dim\) = \(2, 5\) for x of shape \(2, 3, 4, 4\), got "
     r"shape \(2, 4\)"),
    ("AdaIN eps 0", lambda: nn.AdaIN(5, 3, eps=0), ValueError, r"AdaIN: eps must be > 0, got 0"),
]


@table(NORMS)
def test_normalisation_refuses_bad_batches_and_settings(call, error, pattern):
    """Batch norm on one value per channel (its variance is 0: the output would be the
    bias, whatever the input), a layer built for another width, eps <= 0 and momentum
    outside [0, 1] are refused by the layer's name. Instance norm with the wrong
    num_features used to run anyway when it had no weights."""
    check(call, error, pattern)


# --- losses and penalties ------------------------------------------------------------------
def half():
    return minigan.full((4, 1), 0.5)


LOSSES = [
    ("a probability of 1.5", lambda: F.binary_cross_entropy(T([0.5, 1.5]), T([1.0, 1.0])),
     ValueError, r"binary_cross_entropy: probabilities \(input\) must lie in \[0, 1\], got values "
                 r"from 0\.5 to 1\.5"),
    ("a negative probability", lambda: F.binary_cross_entropy(T([-0.1]), T([1.0])), ValueError,
     r"binary_cross_entropy: probabilities \(input\) must lie in \[0, 1\], got values from -0\.1"),
    ("a NaN probability", lambda: F.binary_cross_entropy(T([float("nan")]), T([1.0])), ValueError,
     r"binary_cross_entropy: probabilities .*NaN found"),
    ("a label of 2", lambda: F.binary_cross_entropy(half(), minigan.full((4, 1), 2.0)),
     ValueError, r"binary_cross_entropy: target must lie in \[0, 1\], got values from 2 to 2"),
    ("a label of 2 given as a number", lambda: F.binary_cross_entropy(half(), 2.0), ValueError,
     r"binary_cross_entropy: target must lie in \[0, 1\]"),
    ("a label of -1 with logits", lambda: F.binary_cross_entropy_with_logits(half(), -1.0),
     ValueError, r"binary_cross_entropy_with_logits: target must lie in \[0, 1\], got values "
                 r"from -1"),
    ("float64 labels for float32 logits",
     lambda: F.binary_cross_entropy_with_logits(half(), minigan.ones(4, 1, dtype="float64")),
     TypeError, r"binary_cross_entropy_with_logits: target has dtype float64 but the input has "
                r"dtype float32; convert the target with target\.float\(\)"),
    ("labels of the wrong shape", lambda: F.binary_cross_entropy(half(), minigan.ones(4)),
     ValueError, r"binary_cross_entropy: target of shape \(4,\) must have the input's shape "
                 r"\(4, 1\)"),
    ("an empty batch", lambda: F.binary_cross_entropy(minigan.zeros(0), minigan.zeros(0)),
     ValueError, r"binary_cross_entropy: got an empty input \(shape \(0,\)\); the mean of no "
                 r"losses is undefined"),
    ("integer probabilities", lambda: F.binary_cross_entropy(ints(4), 1.0), TypeError,
     r"binary_cross_entropy: input must be float32 or float64, got dtype int64"),
    ("a reduction that does not exist",
     lambda: F.mse_loss(half(), half(), reduction="avg"), ValueError,
     r"mse_loss: reduction must be 'mean', 'sum' or 'none', got 'avg'"),
    ("an integer input to mse_loss", lambda: F.mse_loss(ints(3), minigan.ones(3)), TypeError,
     r"mse_loss: input must be float32 or float64, got dtype int64"),
    ("a text target for mse_loss", lambda: F.mse_loss(half(), "1"), TypeError,
     r"mse_loss: target must be a real number, got '1'"),
    ("fractional class labels", lambda: F.cross_entropy(minigan.randn(2, 3), T([0.0, 1.0])),
     TypeError, r"cross_entropy: labels must be integers \(class indices\), got dtype float32"),
    ("a class label out of range", lambda: F.cross_entropy(minigan.randn(2, 3), T([0, 3])),
     ValueError, r"cross_entropy: labels must lie in 0\.\.2, got 0\.\.3"),
    ("integer logits", lambda: F.cross_entropy(ints(2, 3), T([0, 1])), TypeError,
     r"cross_entropy: logits must be float32 or float64, got dtype int64"),
    ("softmax along a missing axis", lambda: F.softmax(minigan.ones(2, 3), axis=2), ValueError,
     r"log_softmax: axis 2 is out of range for a tensor of shape \(2, 3\)"),
    ("discriminator logits as an array",
     lambda: losses.discriminator_loss(numpy.ones(4), minigan.ones(4)), TypeError,
     r"discriminator_loss: real_logits must be a Tensor \(the discriminator's output\), got "
     r"ndarray"),
    ("integer logits to the GAN loss",
     lambda: losses.generator_loss_nonsaturating(ints(4)), TypeError,
     r"generator_loss_nonsaturating: fake_logits must be float32 or float64, got dtype int64"),
    ("no scores at all", lambda: losses.critic_loss_wasserstein(minigan.zeros(0), minigan.ones(2)),
     ValueError, r"critic_loss_wasserstein: real_scores is empty \(shape \(0,\)\)"),
    ("scores of two dtypes",
     lambda: losses.discriminator_loss_hinge(minigan.ones(2, dtype="float64"), minigan.ones(2)),
     TypeError, r"discriminator_loss_hinge: the scores must share one dtype, got real_scores "
                r"float64, fake_scores float32"),
    ("a text target for LSGAN",
     lambda: losses.discriminator_loss_least_squares(half(), half(), a="0"), TypeError,
     r"discriminator_loss_least_squares: a must be a finite number, got '0'"),
    ("a NaN target for LSGAN", lambda: losses.generator_loss_least_squares(half(), c=math.nan),
     TypeError, r"generator_loss_least_squares: c must be a finite number, got nan"),
]


@table(LOSSES)
def test_losses_refuse_impossible_probabilities_labels_and_dtypes(call, error, pattern):
    """A probability outside [0, 1] is almost always a logit passed to the wrong loss:
    binary_cross_entropy used to answer -0.405 for p = 1.5. Labels outside [0, 1] make
    a loss with no minimum; an empty batch has no mean."""
    check(call, error, pattern)


def critic():
    return nn.Linear(3, 1)


PENALTIES = [
    ("a negative penalty weight",
     lambda: penalties.gradient_penalty(critic(), minigan.randn(2, 3), minigan.randn(2, 3),
                                        weight=-1),
     ValueError, r"gradient_penalty: weight must be >= 0, got -1"),
    ("interpolation beyond the segment",
     lambda: penalties.gradient_penalty(critic(), minigan.randn(2, 3), minigan.randn(2, 3),
                                        eps=T([0.5, 2.0])),
     ValueError, r"gradient_penalty: eps must lie in \[0, 1\], got values from 0\.5 to 2"),
    ("one eps too many",
     lambda: penalties.gradient_penalty(critic(), minigan.randn(2, 3), minigan.randn(2, 3),
                                        eps=T([0.5, 0.5, 0.5])),
     ValueError, r"gradient_penalty: eps of shape \(3,\) must be \(N,\) = \(2,\)"),
    ("real and fake of different sizes",
     lambda: penalties.gradient_penalty(critic(), minigan.randn(2, 3), minigan.randn(3, 3)),
     ValueError, r"gradient_penalty: real \(2, 3\) float32 and fake \(3, 3\) float32 must have "
                 r"the same shape"),
    ("integer images",
     lambda: penalties.gradient_penalty(critic(), ints(2, 3), ints(2, 3)), TypeError,
     r"gradient_penalty: real must be float32 or float64 .*got dtype int64"),
    ("an empty batch",
     lambda: penalties.gradient_penalty(critic(), minigan.zeros(0, 3), minigan.zeros(0, 3)),
     ValueError, r"gradient_penalty: real must be a non-empty batch \(N, \.\.\.\), got shape "
                 r"\(0, 3\)"),
    ("a negative R1 weight", lambda: penalties.r1_penalty(critic(), minigan.randn(2, 3), gamma=-1),
     ValueError, r"r1_penalty: gamma must be >= 0, got -1"),
    ("R1 on integer images", lambda: penalties.r1_penalty(critic(), ints(2, 3)), TypeError,
     r"r1_penalty: real must be float32 or float64"),
]


@table(PENALTIES)
def test_gradient_penalties_refuse_bad_batches_and_weights(call, error, pattern):
    """A negative weight would reward steep critics; eps outside [0, 1] leaves the segment
    between real and fake samples, where the penalty means nothing."""
    check(call, error, pattern)


# --- optimizers ----------------------------------------------------------------------------
def params():
    return [nn.Parameter(minigan.randn(3))]


OPTIMIZERS = [
    ("SGD lr -1", lambda: optim.SGD(params(), lr=-1), ValueError, r"SGD: lr must be >= 0, got -1"),
    ("SGD lr NaN", lambda: optim.SGD(params(), lr=math.nan), ValueError,
     r"SGD: lr must be a number, got nan"),
    ("SGD lr inf", lambda: optim.SGD(params(), lr=math.inf), ValueError,
     r"SGD: lr must be finite, got inf"),
    ("SGD lr as text", lambda: optim.SGD(params(), lr="0.1"), TypeError,
     r"SGD: lr must be a number, got '0\.1' \(str\)"),
    ("SGD lr None", lambda: optim.SGD(params(), lr=None), TypeError,
     r"SGD: lr must be a number, got None"),
    ("SGD momentum -1", lambda: optim.SGD(params(), lr=0.1, momentum=-1), ValueError,
     r"SGD: momentum must be >= 0, got -1"),
    ("SGD dampening 2", lambda: optim.SGD(params(), lr=0.1, momentum=0.9, dampening=2),
     ValueError, r"SGD: dampening must be in \[0, 1\], got 2"),
    ("SGD weight_decay -1", lambda: optim.SGD(params(), lr=0.1, weight_decay=-1), ValueError,
     r"SGD: weight_decay must be >= 0, got -1"),
    ("SGD of a model", lambda: optim.SGD(nn.Linear(2, 2), lr=0.1), TypeError,
     r"SGD: params must be an iterable of Tensors .*got Linear"),
    ("a group with lr -1", lambda: optim.SGD([{"params": params(), "lr": -1}], lr=0.1),
     ValueError, r"SGD: parameter group 0: lr must be >= 0, got -1"),
    ("a group without params", lambda: optim.SGD([{"lr": 0.1}], lr=0.1), TypeError,
     r"SGD: parameter group 0 must be a dict with a 'params' entry, got dict with keys \['lr'\]"),
    ("a group with a misspelt setting",
     lambda: optim.SGD([{"params": params(), "lrr": 0.1}], lr=0.1), ValueError,
     r"SGD: parameter group 0 has unknown setting\(s\) \['lrr'\]"),
    ("Adam lr -1", lambda: optim.Adam(params(), lr=-1), ValueError, r"Adam: lr must be >= 0"),
    ("Adam beta1 of 1", lambda: optim.Adam(params(), betas=(1.0, 0.9)), ValueError,
     r"Adam: betas must be in \[0, 1\), got \(1\.0, 0\.9\)"),
    ("Adam beta1 below 0", lambda: optim.Adam(params(), betas=(-0.1, 0.999)), ValueError,
     r"Adam: betas must be in \[0, 1\), got \(-0\.1, 0\.999\)"),
    ("Adam betas as one number", lambda: optim.Adam(params(), betas=0.9), ValueError,
     r"Adam: betas must be a pair \(beta1, beta2\), got 0\.9"),
    ("Adam betas of one", lambda: optim.Adam(params(), betas=(0.9,)), ValueError,
     r"Adam: betas must be a pair"),
    ("Adam eps 0", lambda: optim.Adam(params(), eps=0), ValueError,
     r"Adam: eps must be > 0, got 0"),
    ("Adam eps -1", lambda: optim.Adam(params(), eps=-1), ValueError, r"Adam: eps must be > 0"),
    ("Adam weight_decay -1", lambda: optim.Adam(params(), weight_decay=-1), ValueError,
     r"Adam: weight_decay must be >= 0"),
    ("RMSprop alpha 1.5", lambda: optim.RMSprop(params(), alpha=1.5), ValueError,
     r"RMSprop: alpha must be in \[0, 1\], got 1\.5"),
    ("RMSprop eps 0", lambda: optim.RMSprop(params(), eps=0), ValueError,
     r"RMSprop: eps must be > 0"),
    ("RMSprop momentum -1", lambda: optim.RMSprop(params(), momentum=-1), ValueError,
     r"RMSprop: momentum must be >= 0"),
    ("weight clipping at -1", lambda: optim.clip_weights_(params(), -1), ValueError,
     r"clip_weights_: c must be > 0, got -1"),
    ("weight clipping at text", lambda: optim.clip_weights_(params(), "0.01"), TypeError,
     r"clip_weights_: c must be a number, got '0\.01'"),
    ("a state that is not one", lambda: optim.Adam(params()).load_state_dict({"foo": 1}),
     ValueError, r"Adam\.load_state_dict: expected a dict with 'state' and 'param_groups'"),
    ("the state of another optimizer",
     lambda: optim.Adam(params()).load_state_dict(optim.SGD(params(), lr=0.1).state_dict()),
     ValueError, r"Adam\.load_state_dict: group 0 of the state has the settings .* was it saved "
                 r"from another optimizer\?"),
    ("a saved lr of -1",
     lambda: optim.Adam(params()).load_state_dict(
         {"state": {}, "param_groups": [{"lr": -1, "betas": [0.9, 0.999], "eps": 1e-8,
                                         "weight_decay": 0.0, "params": [0]}]}),
     ValueError, r"Adam\.load_state_dict: group 0: lr must be >= 0, got -1"),
    ("a saved state for a parameter that is not there",
     lambda: optim.Adam(params()).load_state_dict(
         {"state": {"5": {"step": 1}},
          "param_groups": [{"lr": 0.1, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.0,
                            "params": [0]}]}),
     ValueError, r"Adam\.load_state_dict: the state holds parameter number 5, but the groups "
                 r"number only \[0\]"),
]


@table(OPTIMIZERS)
def test_optimizers_refuse_settings_out_of_range(call, error, pattern):
    """Out-of-range settings are refused in the constructor (and in every parameter group,
    and in a loaded state), before a step can turn them into NaN weights: eps = 0 makes
    Adam divide 0 by 0 where a gradient is 0, a beta of 1 never forgets."""
    check(call, error, pattern)


def test_a_step_with_a_gradient_of_the_wrong_shape_names_both_shapes():
    """backward always gives .grad the parameter's shape; a .grad set by hand may not, and
    would broadcast into the weights."""
    (p,) = params()
    optimizer = optim.SGD([p], lr=0.1)
    p.grad = minigan.ones(4)
    check(optimizer.step, ValueError, r"SGD\.step: a parameter of shape \(3,\) has a \.grad of "
                                      r"shape \(4,\)")


# --- state dicts and checkpoints -----------------------------------------------------------
def test_load_state_dict_of_another_model_names_every_key_and_shape():
    """A checkpoint of another model: every missing key, every unexpected key and every
    shape mismatch (the key and both shapes) in one message, and nothing is loaded."""
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    other = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 1), nn.Linear(1, 1))
    state = other.state_dict()
    del state["2.bias"]
    before = model.state_dict()
    with pytest.raises(RuntimeError) as info:
        model.load_state_dict(state)
    message = str(info.value)
    assert "load_state_dict: error(s) loading into Sequential" in message
    assert "missing key(s): '2.bias'" in message
    assert "unexpected key(s): '3.weight', '3.bias'" in message
    assert ("shape mismatch for '0.weight': the state_dict has shape (5, 3), the module's "
            "tensor has shape (4, 3)") in message
    assert "shape mismatch for '2.weight': the state_dict has shape (1, 5)" in message
    for key, value in model.state_dict().items():
        numpy.testing.assert_array_equal(value, before[key], err_msg=key)


STATE_DICTS = [
    ("a model instead of its state", lambda: nn.Linear(3, 2).load_state_dict(nn.Linear(3, 2)),
     TypeError, r"load_state_dict: expected a dict from names to arrays .*got Linear; pass "
                r"model\.state_dict\(\)"),
    ("None", lambda: nn.Linear(3, 2).load_state_dict(None), TypeError,
     r"load_state_dict: expected a dict .*got NoneType"),
    ("text instead of numbers",
     lambda: nn.Linear(3, 2).load_state_dict({"weight": numpy.full((2, 3), "a"),
                                              "bias": numpy.ones(2)}),
     RuntimeError, r"'weight' holds ndarray of dtype <U1, not numbers"),
]


@table(STATE_DICTS)
def test_load_state_dict_refuses_what_is_not_a_state_dict(call, error, pattern):
    """Not a mapping, or values that are not numbers."""
    check(call, error, pattern)


@pytest.fixture
def checkpoint(tmp_path):
    """A good checkpoint, and its bytes."""
    path = save_checkpoint(tmp_path / "good.ckpt", step=3, G=nn.Linear(3, 2).state_dict())
    return path, path.read_bytes()


def _zip(path, **members):
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in members.items():
            archive.writestr(name, text)
    return path


def test_damaged_and_foreign_files_are_not_checkpoints(checkpoint, tmp_path):
    """Truncated, empty, a text file, a plain .npz, a folder, a zip whose JSON is broken or
    names a missing array, a flipped byte inside an array: each is a CheckpointError naming
    the file (a missing file is FileNotFoundError)."""
    path, raw = checkpoint
    cases = {"truncated.ckpt": raw[: len(raw) // 2], "empty.ckpt": b"", "notes.ckpt": b"hello"}
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
        check(lambda: load_checkpoint(tmp_path / name), CheckpointError,
              rf"{re.escape(name)} is not a readable minigan checkpoint \(truncated or corrupt\?\)")
    numpy.savez(tmp_path / "plain.npz", a=numpy.ones(2))
    check(lambda: load_checkpoint(tmp_path / "plain.npz"), CheckpointError,
          r"plain\.npz is not a readable minigan checkpoint .*checkpoint\.json")
    _zip(tmp_path / "json.ckpt", **{"checkpoint.json": "{not json"})
    check(lambda: load_checkpoint(tmp_path / "json.ckpt"), CheckpointError,
          r"json\.ckpt is not a readable .*JSONDecodeError")
    _zip(tmp_path / "member.ckpt", **{"checkpoint.json": '{"format": "minigan-checkpoint", '
                                      '"version": 1, "parts": {"a": {"__array__": "a.npy"}}}'})
    check(lambda: load_checkpoint(tmp_path / "member.ckpt"), CheckpointError,
          r"member\.ckpt is not a readable .*a\.npy")
    _zip(tmp_path / "other.ckpt", **{"checkpoint.json": '{"format": "something else"}'})
    check(lambda: load_checkpoint(tmp_path / "other.ckpt"), CheckpointError,
          r"other\.ckpt is a zip archive but not a minigan checkpoint")
    _zip(tmp_path / "future.ckpt", **{"checkpoint.json": '{"format": "minigan-checkpoint", '
                                      '"version": 99, "parts": {}}'})
    check(lambda: load_checkpoint(tmp_path / "future.ckpt"), CheckpointError,
          r"future\.ckpt: checkpoint version 99, this minigan reads version 1")
    flipped = bytearray(raw)
    start = raw.index(b"\x93NUMPY") + 128 + 4   # inside the first array's values
    flipped[start] ^= 0xFF
    (tmp_path / "flipped.ckpt").write_bytes(bytes(flipped))
    check(lambda: load_checkpoint(tmp_path / "flipped.ckpt"), CheckpointError,
          r"flipped\.ckpt is not a readable minigan checkpoint .*CRC")
    check(lambda: load_checkpoint(tmp_path), CheckpointError, r"is a folder, not a checkpoint")
    check(lambda: load_checkpoint(tmp_path / "nothing.ckpt"), FileNotFoundError,
          r"load_checkpoint: no checkpoint file at .*nothing\.ckpt")


def test_saving_what_a_checkpoint_cannot_hold_names_the_part(tmp_path):
    """A Tensor, a set, an array of Python objects, a tuple as a key: refused before a byte
    is written, naming where in the parts it is; a missing folder is named too."""
    path = tmp_path / "run.ckpt"
    check(lambda: save_checkpoint(path, G={"w": minigan.ones(2)}), TypeError,
          r"save_checkpoint: 'G/w' is a Tensor, .*save module\.state_dict\(\) or "
          r"tensor\.numpy\(\)")
    check(lambda: save_checkpoint(path, seen={1, 2}), TypeError,
          r"save_checkpoint: 'seen' is a set")
    check(lambda: save_checkpoint(path, a=numpy.array([None], dtype=object)), TypeError,
          r"save_checkpoint: 'a' is an array of Python objects")
    check(lambda: save_checkpoint(path, a={(1, 2): 3}), TypeError,
          r"save_checkpoint: the key \(1, 2\) in a is a tuple")
    check(lambda: save_checkpoint(tmp_path / "missing" / "run.ckpt", step=1), FileNotFoundError,
          r"save_checkpoint: the folder .*missing does not exist")
    assert not path.exists() and list(tmp_path.iterdir()) == []


# --- the command line ----------------------------------------------------------------------
def _sample(argv, capsys):
    """``python -m minigan sample ...`` in this process: (exit status, stdout, stderr)."""
    from minigan.__main__ import main
    try:
        status = main(["sample", *argv])
    except SystemExit as stop:   # argparse exits for arguments it refuses
        status = stop.code
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture
def generator_checkpoint(tmp_path):
    """A checkpoint with a narrow DCGAN generator's spec and (untrained) weights."""
    spec = models.generator_spec(models.dcgan28_generator, z_dim=4, width=2)
    return save_checkpoint(tmp_path / "latest.ckpt", step=0, spec=spec,
                           G=models.build(spec).state_dict()), spec


@pytest.mark.parametrize("argv, status, pattern", [
    (["--n", "-3"], 2, r"argument --n: expected a whole number >= 1, got -3"),
    (["--n", "0"], 2, r"argument --n: expected a whole number >= 1, got 0"),
    (["--n", "many"], 2, r"argument --n: expected a whole number >= 1, got 'many'"),
    (["--columns", "0"], 2, r"argument --columns: expected a whole number >= 1, got 0"),
    (["--seed", "-1"], 2, r"argument --seed: expected a whole number >= 0, got -1"),
    (["--out", "missing/grid.png"], 1, r"cannot write missing/grid\.png: its folder does not "
                                       r"exist"),
], ids=["n negative", "n zero", "n not a number", "columns zero", "seed negative",
        "out in a missing folder"])
def test_sample_refuses_bad_arguments_in_one_line(argv, status, pattern, generator_checkpoint,
                                                  capsys, tmp_path, monkeypatch):
    """Each bad argument: a non-zero status and one line on stderr naming the argument and
    its value, no usage block, no traceback; nothing on stdout."""
    monkeypatch.chdir(tmp_path)
    path, _ = generator_checkpoint
    got, out, err = _sample([str(path), *argv], capsys)
    assert got == status and out == ""
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert re.search(pattern, err), err


def test_sample_refuses_bad_checkpoints_in_one_line(generator_checkpoint, capsys, tmp_path):
    """Missing, not a checkpoint, a checkpoint without a generator, a generator whose
    weights do not fit its spec: status 1 and one line naming the file and the cause."""
    path, spec = generator_checkpoint
    (tmp_path / "notes.txt").write_text("hello")
    save_checkpoint(tmp_path / "nospec.ckpt", step=1)
    wider = models.generator_spec(models.dcgan28_generator, z_dim=4, width=3)
    save_checkpoint(tmp_path / "misfit.ckpt", step=1, spec=spec,
                    G=models.build(wider).state_dict())
    cases = {"nothing.ckpt": r"no checkpoint file at .*nothing\.ckpt",
             "notes.txt": r"notes\.txt is not a readable minigan checkpoint",
             "nospec.ckpt": r"nospec\.ckpt holds no generator spec and weights",
             "misfit.ckpt": r"misfit\.ckpt: its weights 'G' do not fit the generator its spec "
                            r"builds: .*shape mismatch for"}
    for name, pattern in cases.items():
        status, out, err = _sample([str(tmp_path / name), "--out", str(tmp_path / "g.png")],
                                   capsys)
        assert status == 1 and out == "", (name, err)
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
        assert re.search(pattern, err), err
    assert not (tmp_path / "g.png").exists()


def test_the_real_command_exits_with_one_line_and_no_traceback(tmp_path):
    """The same, as a user types it: a separate process, its exit status and its stderr."""
    for argv, status in ((["--n", "-3"], 2), (["--columns", "0"], 2), ([], 1)):
        done = subprocess.run([sys.executable, "-m", "minigan", "sample",
                               str(tmp_path / "latest.ckpt"), *argv],
                              cwd=ROOT, capture_output=True, text=True)
        assert done.returncode == status, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert done.stderr.startswith("python -m minigan sample: ") and done.stdout == ""


# --- data ----------------------------------------------------------------------------------
DATA = [
    ("a flat value range", lambda: datasets.load("fashion-mnist", value_range=(1, 1)), ValueError,
     r"load: value_range must have low < high, got \(1, 1\)"),
    ("a value range of three", lambda: datasets.load("fashion-mnist", value_range=(0, 1, 2)),
     ValueError, r"load: value_range must be a pair of numbers \(low, high\), got \(0, 1, 2\)"),
    ("a root that does not exist", lambda: datasets.load("fashion-mnist", root="/no/such/place"),
     FileNotFoundError, r"load: root '/no/such/place' is not a folder"),
    ("padding to text", lambda: datasets.load("fashion-mnist", pad_to="32"), TypeError,
     r"load: pad_to must be an int"),
    ("an unknown split", lambda: datasets.load("fashion-mnist", "tset"), ValueError,
     r"load: unknown split 'tset'"),
    ("batches of 0", lambda: datasets.Batches(numpy.ones(5), batch_size=0), ValueError,
     r"Batches: batch_size must be >= 1, got 0"),
    ("batches of 2.5", lambda: datasets.Batches(numpy.ones(5), batch_size=2.5), TypeError,
     r"Batches: batch_size must be an int, got 2\.5"),
    ("a batch larger than the data",
     lambda: datasets.Batches(numpy.ones(5), batch_size=10), ValueError,
     r"Batches: 5 samples make no full batch of 10; with drop_last=True every pass would be "
     r"empty"),
    ("no arrays", lambda: datasets.Batches(), ValueError, r"Batches: give at least one array"),
    ("arrays of different lengths", lambda: datasets.Batches(numpy.ones(5), numpy.ones(4)),
     ValueError, r"Batches: arrays must have the same length, got \[4, 5\]"),
]


@table(DATA)
def test_data_loading_refuses_bad_arguments(call, error, pattern):
    """All refused before any file is read: a mistyped root used to fall back silently to
    the other places, and a batch larger than the data made every pass empty."""
    check(call, error, pattern)


def test_a_damaged_data_file_is_named(tmp_path):
    """A data file that is not the published one (here, a few bytes) fails its checksum,
    with the file's path and how to fetch it again."""
    from minigan.data.sources import ChecksumError
    (tmp_path / "train-images-idx3-ubyte").write_bytes(b"\x00\x00\x08\x03damaged")
    check(lambda: datasets.load("fashion-mnist", root=tmp_path), ChecksumError,
          r"train-images-idx3-ubyte does not match the published fashion-mnist file.*fetch")


# --- metrics -------------------------------------------------------------------------------
rng = numpy.random.default_rng(0)
FEATURES = rng.standard_normal((6, 2))
WITH_NAN = numpy.where(numpy.arange(12).reshape(6, 2) == 3, numpy.nan, FEATURES)

METRICS = [
    ("FID of features with NaN", lambda: fid.fid(WITH_NAN, FEATURES), ValueError,
     r"fid: features_a contains NaN or infinite values \(shape \(6, 2\)\)"),
    ("FID of text", lambda: fid.fid(numpy.full((3, 2), "a"), FEATURES), TypeError,
     r"fid: expected an array of numbers, got ndarray of dtype kind 'U'"),
    ("statistics of features with NaN", lambda: fid.feature_statistics(WITH_NAN), ValueError,
     r"feature_statistics: features contains NaN"),
    ("KID with no subsets", lambda: kid.kid(FEATURES, FEATURES, subsets=0), ValueError,
     r"kid: subsets must be >= 1, got 0"),
    ("KID with NaN", lambda: kid.kid(FEATURES, WITH_NAN, subsets=1), ValueError,
     r"kid: features_b contains NaN"),
    ("precision and recall in batches of 0",
     lambda: precision_recall.precision_recall(FEATURES, FEATURES, batch_size=0), ValueError,
     r"precision_recall: batch_size must be >= 1, got 0"),
    ("a Parzen window of width 0", lambda: parzen.parzen_log_likelihood(FEATURES, FEATURES, 0),
     ValueError, r"parzen_log_likelihood: sigma must be a finite number > 0, got 0"),
    ("a Parzen window of width -1", lambda: parzen.parzen_log_likelihood(FEATURES, FEATURES, -1),
     ValueError, r"parzen_log_likelihood: sigma must be a finite number > 0, got -1"),
    ("Parzen windows of other dimensions",
     lambda: parzen.parzen_log_likelihood(FEATURES, numpy.ones((2, 3)), 1.0), ValueError,
     r"parzen_log_likelihood: expected samples \(n, d\) .*got shapes \(6, 2\) and \(2, 3\)"),
    ("modes of width 0", lambda: modes.mode_counts(FEATURES, FEATURES[:2], 0), ValueError,
     r"mode_counts: std must be a number > 0, got 0"),
    ("no modes at all", lambda: modes.mode_statistics(FEATURES, numpy.ones((0, 2)), 0.1),
     ValueError, r"nearest_mode: got no centres \(shape \(0, 2\)\)"),
    ("a negative count", lambda: modes.reverse_kl([-1, 2]), ValueError,
     r"reverse_kl: counts must be a 1-D histogram of numbers >= 0"),
    ("class probabilities with NaN",
     lambda: classifier.classifier_score(numpy.full((2, 2), numpy.nan)), ValueError,
     r"classifier_score: expected probabilities .*row sums in \[nan, nan\]"),
    ("no classes", lambda: classifier.class_coverage(numpy.array([0]), 0), ValueError,
     r"class_coverage: num_classes must be an int >= 1, got 0"),
]


@table(METRICS)
def test_metrics_refuse_nan_and_impossible_settings(call, error, pattern):
    """A NaN feature (a diverged generator) used to give FID = nan and an Inception Score
    of exactly 1.0, which look like measurements; a Parzen window of width -1 was
    computed as if it were +1, a histogram with a negative count gave a KL."""
    check(call, error, pattern)


# --- what is converted instead: documented, and correct ------------------------------------
def test_an_integer_tensor_next_to_a_float_one_takes_the_float_dtype():
    """As in PyTorch: labels * x stays float32 (NumPy alone would make it float64). A bool
    mask keeps NumPy's rule, which already gives float32, without a copy."""
    labels, x = T([1, 2, 3]), T([0.5, 0.5, 0.5])
    for y in (labels * x, x + labels, minigan.maximum(labels, x), labels @ x):
        assert y.dtype == numpy.float32
    numpy.testing.assert_array_equal((labels * x).numpy(), [0.5, 1.0, 1.5])
    mask = x > 0.2
    assert mask.dtype == numpy.bool_ and (x * mask).dtype == numpy.float32
    assert (x + numpy.ones(3)).dtype == numpy.float32   # an array takes the tensor's dtype


def test_integer_labels_in_a_loss_are_converted_to_the_input_dtype():
    """Labels 0 and 1 as integers give the same binary cross-entropy as float labels."""
    logits = T([[2.0], [-1.0]])
    as_ints = F.binary_cross_entropy_with_logits(logits, T([[1], [0]]))
    as_floats = F.binary_cross_entropy_with_logits(logits, T([[1.0], [0.0]]))
    assert as_ints.dtype == numpy.float32 and as_ints.item() == as_floats.item()


def test_converting_to_integers_gives_a_constant_as_in_pytorch():
    """x.astype(int64) of a tensor that requires grad is a new constant tensor (PyTorch's
    x.long() has no gradient either), not an error about requires_grad."""
    x = leaf([1.7, -2.2])
    labels = x.astype("int64")
    assert labels.dtype == numpy.int64 and not labels.requires_grad
    numpy.testing.assert_array_equal(labels.numpy(), [1, -2])


def test_integer_arrays_load_into_float_weights_as_their_values():
    """load_state_dict copies into the dtype of the tensor it replaces."""
    model = nn.Linear(3, 2)
    model.load_state_dict({"weight": numpy.arange(6).reshape(2, 3), "bias": numpy.ones(2, int)})
    assert model.weight.dtype == numpy.float32
    numpy.testing.assert_array_equal(model.weight.numpy(), numpy.arange(6).reshape(2, 3))


def test_full_takes_one_int_as_its_shape():
    """full(3, v) means full((3,), v), as zeros(3) means zeros((3,))."""
    assert minigan.full(3, 1.5).shape == (3,)
