"""Chapter 06's exercises: the output sides of Conv2d and ConvTranspose2d, and slerp."""
import math

import numpy as np
import pytest

import minigan
import minigan.nn.functional as F
from tests.exercises.harness import make_tests

pytestmark = pytest.mark.ch06
CASES = [(28, 4, 2, 1), (14, 4, 2, 1), (7, 3, 1, 1), (9, 3, 2, 0), (10, 5, 3, 2), (1, 1, 1, 0),
         (8, 3, 2, 0), (27, 4, 2, 1)]   # the last two: the stride does not divide evenly


def check_conv2d_output_size(conv2d_output_size):
    """floor((size + 2 padding - kernel) / stride) + 1, as minigan's conv2d computes it,
    including the sizes where the stride does not divide evenly; DCGAN's D takes 28 to 14 to 7."""
    for size, kernel, stride, padding in CASES:
        x = minigan.zeros(1, 1, size, size)
        expected = F.conv2d(x, minigan.zeros(1, 1, kernel, kernel), stride=stride,
                            padding=padding).shape[-1]
        got = conv2d_output_size(size, kernel, stride, padding)
        assert got == expected, f"size {size}, k {kernel}, s {stride}, p {padding}: {got} != {expected}"
    assert conv2d_output_size(28, 4, 2, 1) == 14 and conv2d_output_size(14, 4, 2, 1) == 7


def check_conv_transpose2d_output_size(conv_transpose2d_output_size):
    """(size - 1) stride - 2 padding + kernel + output_padding, as minigan's conv_transpose2d
    gives it; DCGAN's G takes 1 to 7 to 14 to 28, and output_padding adds to the side."""
    for size, kernel, stride, padding in CASES:
        for extra in range(stride):   # output_padding must be below the stride
            x = minigan.zeros(1, 1, size, size)
            expected = F.conv_transpose2d(x, minigan.zeros(1, 1, kernel, kernel), stride=stride,
                                          padding=padding, output_padding=extra).shape[-1]
            got = conv_transpose2d_output_size(size, kernel, stride, padding, extra)
            assert got == expected, (f"size {size}, k {kernel}, s {stride}, p {padding}, "
                                     f"output_padding {extra}: {got} != {expected}")
    assert [conv_transpose2d_output_size(s, k, st, p) for s, k, st, p in
            [(1, 7, 1, 0), (7, 4, 2, 1), (14, 4, 2, 1)]] == [7, 14, 28]


def check_slerp(slerp):
    """The ends are z0 and z1; every point lies in their plane at the angle t omega from z0;
    between two vectors of one length it keeps that length (the straight line does not)."""
    rng = np.random.default_rng(6)
    z0, z1 = rng.standard_normal(100), rng.standard_normal(100)
    z1 *= np.linalg.norm(z0) / np.linalg.norm(z1)
    np.testing.assert_allclose(slerp(z0, z1, 0.0), z0, atol=1e-12)
    np.testing.assert_allclose(slerp(z0, z1, 1.0), z1, atol=1e-12)
    omega = math.acos(np.dot(z0, z1) / np.dot(z0, z0))
    for t in (0.25, 0.5, 0.8):
        z = np.asarray(slerp(z0, z1, t))
        assert np.linalg.norm(z) == pytest.approx(np.linalg.norm(z0), rel=1e-9)
        angle = math.acos(np.clip(np.dot(z, z0) / (np.linalg.norm(z) * np.linalg.norm(z0)), -1, 1))
        assert angle == pytest.approx(t * omega, rel=1e-7)
    np.testing.assert_allclose(slerp(z0, z0 * (1 + 1e-12), 0.5), z0, rtol=1e-9)   # omega ~ 0


# --- planted wrong answers -----------------------------------------------------------------
def conv2d_size_forgets_padding(size, kernel, stride, padding):
    """Pads only one side."""
    return (size + padding - kernel) // stride + 1


def conv2d_size_rounds_up(size, kernel, stride, padding):
    """Rounds the number of steps up: counts a window that runs off the padded input."""
    return -(-(size + 2 * padding - kernel) // stride) + 1


def conv_transpose_size_as_conv(size, kernel, stride, padding, output_padding=0):
    """Uses Conv2d's formula: the transposed convolution then shrinks instead of growing."""
    return (size + 2 * padding - kernel) // stride + 1 + output_padding


def conv_transpose_size_times_stride(size, kernel, stride, padding, output_padding=0):
    """size * stride: right for DCGAN's k = 4, s = 2, p = 1, wrong elsewhere."""
    return size * stride + output_padding


def slerp_is_a_straight_line(z0, z1, t):
    """Linear interpolation: its midpoint is shorter than both ends."""
    return (1 - t) * np.asarray(z0) + t * np.asarray(z1)


def slerp_swaps_the_ends(z0, z1, t):
    """The weights swapped: starts at z1."""
    from tests.exercises.ch06_reference import slerp
    return slerp(z1, z0, t)


CHECKS = {"conv2d_output_size": check_conv2d_output_size,
          "conv_transpose2d_output_size": check_conv_transpose2d_output_size,
          "slerp": check_slerp}
MUTANTS = {"conv2d_output_size": [conv2d_size_forgets_padding, conv2d_size_rounds_up],
           "conv_transpose2d_output_size": [conv_transpose_size_as_conv,
                                            conv_transpose_size_times_stride],
           "slerp": [slerp_is_a_straight_line, slerp_swaps_the_ends]}

test_exercise, test_mutant_is_rejected = make_tests("06", CHECKS, MUTANTS)
