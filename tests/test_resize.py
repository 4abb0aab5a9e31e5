"""Bicubic upsampling (Keys, a = -0.5) and block averaging (minigan.data.resize): the kernel's
defining values, Pillow's BICUBIC (the same kernel) away from the border, a hand-computed
border, and the exactness properties of the interpolation."""
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigan
from minigan import backend
from minigan.data.resize import bicubic_upsample, bicubic_weights, box_downsample, keys_kernel

pytestmark = pytest.mark.ch17


def test_keys_kernel_values():
    """k(0) = 1, zero at the other integers and beyond 2; k(1/2) = (a + 2)/8 - (a + 3)/4 + 1
    = 0.5625 and k(3/2) = -0.0625 at a = -0.5; continuous at 1 and 2."""
    assert keys_kernel(0.0) == 1
    np.testing.assert_array_equal(keys_kernel([1.0, 2.0, -1.0, -2.0, 2.5, -7.0]), 0)
    np.testing.assert_allclose(keys_kernel([0.5, -0.5, 1.5, -1.5]),
                               [0.5625, 0.5625, -0.0625, -0.0625], rtol=1e-15)
    np.testing.assert_allclose(keys_kernel([1 - 1e-9, 1 + 1e-9, 2 - 1e-9]), 0, atol=1e-8)


def test_bicubic_matches_pillow_away_from_the_border():
    """Pillow's BICUBIC is Keys' kernel with a = -0.5 and half-pixel centres; it handles the
    border by renormalising the weights, so only the interior is compared."""
    Image = pytest.importorskip("PIL.Image")
    x = np.random.default_rng(0).standard_normal((7, 9)).astype(np.float32)
    ours = backend.to_numpy(bicubic_upsample(x[None, None], 4))[0, 0]
    pillow = np.asarray(Image.fromarray(x, mode="F").resize((36, 28), Image.BICUBIC))
    np.testing.assert_allclose(ours[6:-6, 6:-6], pillow[6:-6, 6:-6], atol=1e-5)


def test_bicubic_border_by_hand():
    """Factor 2, one row [x0, x1, x2]: output 0 sits at u = -0.25, its taps j = -2..1 at
    distances 1.75, 0.75, 0.25, 1.25, the mirrored samples x[-2] = x1, x[-1] = x0."""
    k = keys_kernel
    row = np.array([1.0, 4.0, -2.0])
    w = k(np.array([1.75, 0.75, 0.25, 1.25]))
    expected = w[0] * row[1] + w[1] * row[0] + w[2] * row[0] + w[3] * row[1]
    y = backend.to_numpy(bicubic_upsample(row[None, None, None], 2))
    assert y[0, 0, 0, 0] == pytest.approx(expected, rel=1e-14)
    np.testing.assert_allclose(bicubic_weights(3, 2).sum(axis=1), 1, rtol=1e-14)


@settings(max_examples=20)
@given(size=st.integers(1, 6), factor=st.integers(1, 5), seed=st.integers(0, 1000))
def test_bicubic_keeps_constants_and_odd_factors_keep_the_samples(size, factor, seed):
    """Each row of weights sums to 1, so a constant image stays constant; for odd factors
    output r k + (r - 1)/2 sits on input k, where k(0) = 1 and k(+-1) = 0 return it exactly."""
    rng = np.random.default_rng(seed)
    constant = np.full((1, 2, size, size + 1), rng.standard_normal())
    np.testing.assert_allclose(backend.to_numpy(bicubic_upsample(constant, factor)),
                               constant[0, 0, 0, 0], rtol=1e-13)
    if factor % 2:
        x = rng.standard_normal((2, 1, size, size + 2))
        y = backend.to_numpy(bicubic_upsample(x, factor))
        middle = (factor - 1) // 2
        np.testing.assert_allclose(y[:, :, middle::factor, middle::factor], x, rtol=1e-12,
                                   atol=1e-13)


def test_bicubic_reproduces_quadratics_in_the_interior():
    """Keys' a = -0.5 is the third-order case: a quadratic ramp is interpolated exactly."""
    u = np.arange(8.0)
    x = np.tile(0.3 * u ** 2 - u + 2, (1, 1, 3, 1))
    y = backend.to_numpy(bicubic_upsample(x, 4))[0, 0, 0]
    positions = (np.arange(32) + 0.5) / 4 - 0.5
    np.testing.assert_allclose(y[6:-6], (0.3 * positions ** 2 - positions + 2)[6:-6],
                               rtol=1e-12)


def test_box_downsample_averages_blocks_and_upsampling_keeps_the_dtype():
    x = np.arange(16.0, dtype=np.float32).reshape(1, 1, 4, 4)
    small = backend.to_numpy(box_downsample(minigan.tensor(x), 2))
    np.testing.assert_array_equal(small[0, 0], [[2.5, 4.5], [10.5, 12.5]])
    assert small.dtype == np.float32
    assert bicubic_upsample(small, 4).dtype == np.float32


@pytest.mark.parametrize("call, error, message", [
    (lambda: bicubic_upsample(np.zeros((2, 3, 3)), 2), ValueError,
     "bicubic_upsample: images must be a non-empty batch (N, C, H, W), got shape (2, 3, 3)"),
    (lambda: bicubic_upsample(np.zeros((1, 1, 3, 3), dtype=np.int64), 2), TypeError,
     "bicubic_upsample: images must be floating point"),
    (lambda: bicubic_upsample(np.zeros((1, 1, 3, 3)), 1.5), ValueError,
     "bicubic_upsample: factor must be an int >= 1, got 1.5"),
    (lambda: box_downsample(np.zeros((1, 1, 6, 7)), 2), ValueError,
     "box_downsample: the height and width must be multiples of factor 2, got shape "
     "(1, 1, 6, 7)"),
])
def test_resize_refuses_bad_input(call, error, message):
    with pytest.raises(error, match=re.escape(message)):
        call()
