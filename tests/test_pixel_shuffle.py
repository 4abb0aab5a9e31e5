"""Pixel shuffle (sub-pixel convolution's rearrangement) and its inverse, pixel unshuffle.

y[n, c, h r + i, w r + j] = x[n, c r^2 + i r + j, h, w]: checked against that definition
written as loops, as a permutation of the values (and of their positions), as the inverse of
pixel unshuffle both ways round, and by first- and second-order gradient checks. The
gradient is itself a rearrangement, so it must be pixel unshuffle of the incoming gradient.
"""
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigan
from minigan import nn
from minigan.nn import functional as F
from tests.strategies import leaf

pytestmark = pytest.mark.ch17


def constant(array):
    return leaf(array, requires_grad=False)


def loop_pixel_shuffle(x, r):
    """The definition, one output pixel at a time."""
    n, channels, h, w = x.shape
    c = channels // (r * r)
    y = np.zeros((n, c, h * r, w * r), dtype=x.dtype)
    for k in range(c):
        for i in range(r):
            for j in range(r):
                for a in range(h):
                    for b in range(w):
                        y[:, k, a * r + i, b * r + j] = x[:, k * r * r + i * r + j, a, b]
    return y


shuffle_problems = st.tuples(st.integers(1, 2), st.integers(1, 3), st.integers(1, 3),
                             st.integers(1, 3), st.integers(1, 3), st.integers(0, 1000))


@settings(max_examples=30)
@given(shuffle_problems)
def test_pixel_shuffle_matches_its_definition(problem):
    """PyTorch's channel order: channel c r^2 + i r + j fills offset (i, j) of each block."""
    n, c, r, h, w, seed = problem
    x = np.random.default_rng(seed).standard_normal((n, c * r * r, h, w))
    expected = loop_pixel_shuffle(x, r)
    np.testing.assert_array_equal(F.pixel_shuffle(constant(x), r).numpy(), expected)
    np.testing.assert_array_equal(nn.PixelShuffle(r)(constant(x)).numpy(), expected)


def test_pixel_shuffle_channel_order_on_a_small_case():
    """Four channels holding 0, 1, 2, 3 make each 2 x 2 block [[0, 1], [2, 3]]: the first
    index i (the row in the block) is the slower one. The order i r^2 + ... or j r + i
    would give [[0, 2], [1, 3]]."""
    x = np.arange(4.0).reshape(1, 4, 1, 1) * np.ones((1, 4, 2, 2))
    y = F.pixel_shuffle(constant(x), 2).numpy()[0, 0]
    np.testing.assert_array_equal(y, np.tile([[0.0, 1.0], [2.0, 3.0]], (2, 2)))


@settings(max_examples=30)
@given(shuffle_problems)
def test_pixel_shuffle_is_a_permutation_with_pixel_unshuffle_its_inverse(problem):
    """Distinct values come out as the same multiset; unshuffle(shuffle(x)) = x and
    shuffle(unshuffle(y)) = y exactly (nothing is computed, only moved)."""
    n, c, r, h, w, seed = problem
    x = np.random.default_rng(seed).permutation(n * c * r * r * h * w).astype(np.float64)
    x = x.reshape(n, c * r * r, h, w)
    y = F.pixel_shuffle(constant(x), r)
    assert y.shape == (n, c, h * r, w * r)
    np.testing.assert_array_equal(np.sort(y.numpy(), axis=None), np.sort(x, axis=None))
    np.testing.assert_array_equal(F.pixel_unshuffle(y, r).numpy(), x)
    image = np.random.default_rng(seed + 1).standard_normal((n, c, h * r, w * r))
    np.testing.assert_array_equal(
        F.pixel_shuffle(F.pixel_unshuffle(constant(image), r), r).numpy(), image)
    np.testing.assert_array_equal(nn.PixelUnshuffle(r)(constant(image)).numpy(),
                                  F.pixel_unshuffle(constant(image), r).numpy())


def test_pixel_shuffle_keeps_batches_apart_and_the_dtype():
    """Image n's output depends on image n's input alone; float32 stays float32."""
    x = np.random.default_rng(0).standard_normal((3, 8, 2, 2)).astype(np.float32)
    y = F.pixel_shuffle(leaf(x, dtype=np.float32), 2)
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y.numpy()[1], loop_pixel_shuffle(x[1:2], 2)[0])


def test_pixel_shuffle_gradient_is_the_inverse_rearrangement():
    """dL/dx = pixel_unshuffle(dL/dy): a permutation's adjoint is its inverse."""
    rng = np.random.default_rng(0)
    x, g = leaf(rng.standard_normal((2, 12, 2, 3))), rng.standard_normal((2, 3, 4, 6))
    (grad_x,) = minigan.grad(F.pixel_shuffle(x, 2), x, constant(g))
    np.testing.assert_array_equal(grad_x.numpy(), F.pixel_unshuffle(constant(g), 2).numpy())


@pytest.mark.parametrize("factor", [1, 2, 3])
def test_pixel_shuffle_first_and_second_order_gradcheck(factor):
    """Squared, so that the second-order check differentiates the backward too (a linear
    op's second derivative is 0 however wrong its backward's backward is)."""
    rng = np.random.default_rng(factor)
    x = leaf(rng.standard_normal((2, 2 * factor * factor, 2, 2)))
    assert minigan.gradcheck(lambda x: F.pixel_shuffle(x, factor), [x])
    assert minigan.gradgradcheck(lambda x: F.pixel_shuffle(x, factor) ** 2, [x])
    image = leaf(rng.standard_normal((1, 2, 2 * factor, 2 * factor)))
    assert minigan.gradcheck(lambda x: F.pixel_unshuffle(x, factor), [image])
    assert minigan.gradgradcheck(lambda x: F.pixel_unshuffle(x, factor) ** 2, [image])


def test_sub_pixel_convolution_trains_end_to_end():
    """A convolution to C r^2 channels then PixelShuffle: gradients reach the conv's weights."""
    layer = nn.Sequential(nn.Conv2d(2, 3 * 4, 3, 1, 1), nn.PixelShuffle(2))
    y = layer(minigan.randn(2, 2, 5, 5))
    assert y.shape == (2, 3, 10, 10)
    (y ** 2).mean().backward()
    assert all(p.grad is not None and np.abs(p.grad.numpy()).sum() > 0
               for p in layer.parameters())


@pytest.mark.parametrize("call, message", [
    (lambda: F.pixel_shuffle(minigan.randn(2, 8, 3), 2), "pixel_shuffle: expected input of shape "
                                                         "(N, C, H, W), got shape (2, 8, 3)"),
    (lambda: F.pixel_shuffle(minigan.randn(1, 6, 2, 2), 2), "pixel_shuffle: the input's 6 "
                                                            "channels must be a multiple of "
                                                            "upscale_factor^2 = 4"),
    (lambda: F.pixel_shuffle(minigan.randn(1, 4, 2, 2), 0), "pixel_shuffle: the factor must be "
                                                            "an int >= 1, got 0"),
    (lambda: F.pixel_shuffle(minigan.randn(1, 4, 2, 2), 2.0), "pixel_shuffle: the factor must "
                                                              "be an int >= 1, got 2.0"),
    (lambda: F.pixel_unshuffle(minigan.randn(1, 1, 4, 5), 2), "pixel_unshuffle: the input's "
                                                              "height and width must be "
                                                              "multiples of downscale_factor "
                                                              "= 2 (input shape (1, 1, 4, 5))"),
    (lambda: nn.PixelShuffle(-1), "PixelShuffle: the factor must be an int >= 1, got -1"),
])
def test_pixel_shuffle_refuses_bad_input_naming_what_is_wrong(call, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        call()
