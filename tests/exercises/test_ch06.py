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
# Every layer up to kernel 7 and stride 4, padding at most half the kernel (as PyTorch allows),
# on every side from 1 to 20 where the kernel fits: every remainder of the division by the
# stride, so a formula right only where the stride divides, or only for DCGAN's layers, fails.
LAYERS = [(kernel, stride, padding) for kernel in range(1, 8) for stride in range(1, 5)
          for padding in range(kernel // 2 + 1)]
GRID = [(size, kernel, stride, padding) for size in range(1, 21)
        for kernel, stride, padding in LAYERS if kernel <= size + 2 * padding]


def _windows(size, kernel, stride, padding):
    """Conv2d's output side, counted: the starts 0, s, 2s, ... of the windows that fit."""
    return len(range(0, size + 2 * padding - kernel + 1, stride))


def _layer(kernel, stride, padding, output_padding=None):
    extra = "" if output_padding is None else f", output_padding={output_padding}"
    return f"(kernel={kernel}, stride={stride}, padding={padding}{extra})"


def check_conv2d_output_size(conv2d_output_size):
    """floor((size + 2 padding - kernel) / stride) + 1: as minigan's conv2d measures it, and as
    many windows as fit, counted one by one, on every layer of GRID; D takes 28 to 14 to 7."""
    for size, kernel, stride, padding in CASES:
        x = minigan.zeros(1, 1, size, size)
        expected = F.conv2d(x, minigan.zeros(1, 1, kernel, kernel), stride=stride,
                            padding=padding).shape[-1]
        got = conv2d_output_size(size, kernel, stride, padding)
        assert got == expected, (f"Conv2d{_layer(kernel, stride, padding)} on a side of {size}: "
                                 f"minigan's conv2d gives {expected}, you gave {got}")
    for size, kernel, stride, padding in GRID:
        expected = _windows(size, kernel, stride, padding)
        got = conv2d_output_size(size, kernel, stride, padding)
        assert got == expected, (f"Conv2d{_layer(kernel, stride, padding)} on a side of {size}: "
                                 f"the windows that fit: {expected}, you gave {got}")


def check_conv_transpose2d_output_size(conv_transpose2d_output_size):
    """(size - 1) stride - 2 padding + kernel + output_padding: as minigan's conv_transpose2d
    measures it; and, on every layer of LAYERS, the sides that Conv2d maps to ``size`` are
    ``stride`` consecutive sides, of which output_padding picks the first, second, ...
    (it is below the stride). The default output_padding is 0; G takes 1 to 7 to 14 to 28."""
    for size, kernel, stride, padding in CASES:
        for extra in range(stride):
            x = minigan.zeros(1, 1, size, size)
            expected = F.conv_transpose2d(x, minigan.zeros(1, 1, kernel, kernel), stride=stride,
                                          padding=padding, output_padding=extra).shape[-1]
            got = conv_transpose2d_output_size(size, kernel, stride, padding, extra)
            assert got == expected, (f"ConvTranspose2d{_layer(kernel, stride, padding, extra)} "
                                     f"on a side of {size}: minigan gives {expected}, "
                                     f"you gave {got}")
    for size in range(1, 13):
        for kernel, stride, padding in LAYERS:
            sides = [n for n in range(1, size * stride + kernel + 1)
                     if _windows(n, kernel, stride, padding) == size]
            if len(sides) < stride:    # the smallest such side would be 0 or less: no layer
                continue
            for extra in range(stride):
                got = conv_transpose2d_output_size(size, kernel, stride, padding, extra)
                assert got == sides[extra], (
                    f"ConvTranspose2d{_layer(kernel, stride, padding, extra)} on a side of "
                    f"{size}: Conv2d takes the sides {sides} to {size}, so expected "
                    f"{sides[extra]}, you gave {got}")
    got = [conv_transpose2d_output_size(s, k, st, p) for s, k, st, p in
           [(1, 7, 1, 0), (7, 4, 2, 1), (14, 4, 2, 1)]]
    assert got == [7, 14, 28], f"without output_padding, G's sides 1 -> 7 -> 14 -> 28: got {got}"


def _unchanged(exercise, **inputs):
    """Each input (array, copy taken before the call) is as it was: nothing wrote into it."""
    for name, (array, copy) in inputs.items():
        assert np.array_equal(array, copy), f"{exercise} changed its input {name}: leave it be"


def _in_the_plane(z0, z1, t):
    """slerp computed in an orthonormal basis (e0, e1) of the plane of z0 and z1, with the
    angle from atan2: z0 = a e0, z1 = b (cos w e0 + sin w e1). Assumes z0, z1 not parallel."""
    a0, a1 = np.ravel(z0), np.ravel(z1)
    a, b = np.linalg.norm(a0), np.linalg.norm(a1)
    e0 = a0 / a
    across = a1 - (a1 @ e0) * e0
    e1 = across / np.linalg.norm(across)
    omega = math.atan2(a1 @ e1, a1 @ e0)
    # sin((1 - t) w) / sin w z0 + sin(t w) / sin w z1, gathered on e0 and on e1:
    on_e0 = (a * math.sin((1 - t) * omega)
             + b * math.cos(omega) * math.sin(t * omega)) / math.sin(omega)
    on_e1 = b * math.sin(t * omega)
    return (on_e0 * e0 + on_e1 * e1).reshape(np.shape(z0))


def _assert_slerp(got, expected, what):
    got = np.asarray(got, dtype=np.float64)
    assert got.shape == expected.shape, f"{what}: expected shape {expected.shape}, got {got.shape}"
    assert np.all(np.isfinite(got)), f"{what}: got nan or inf"
    error = np.max(np.abs(got - expected)) / np.max(np.abs(expected))
    assert error < 1e-6, f"{what}: off the expected point by {error:.2g} (relative)"


def check_slerp(slerp):
    """The ends are z0 and z1; between two vectors of one length every point keeps that length
    and makes the angle t omega with z0; for any lengths and angles (0.02 to 2.5 rad) it equals
    the formula, computed here in a basis of the plane; arrays of any shape are one vector
    each; parallel vectors give the straight line; the inputs are left unchanged."""
    rng = np.random.default_rng(6)
    z0, z1 = rng.standard_normal(100), rng.standard_normal(100)
    z1 *= np.linalg.norm(z0) / np.linalg.norm(z1)
    kept = z0.copy(), z1.copy()
    _assert_slerp(slerp(z0, z1, 0.0), z0, "slerp(z0, z1, 0) must be z0")
    _assert_slerp(slerp(z0, z1, 1.0), z1, "slerp(z0, z1, 1) must be z1")
    omega = math.acos(np.dot(z0, z1) / np.dot(z0, z0))
    for t in (0.25, 0.5, 0.8):
        z = np.asarray(slerp(z0, z1, t), dtype=np.float64)
        radius, length = np.linalg.norm(z0), np.linalg.norm(z)
        assert length == pytest.approx(radius, rel=1e-6), \
            f"t = {t}: z0 and z1 have length {radius:.4g}, so must slerp; got {length:.4g}"
        angle = math.acos(np.clip(np.dot(z, z0) / (np.linalg.norm(z) * np.linalg.norm(z0)), -1, 1))
        assert angle == pytest.approx(t * omega, rel=1e-6), \
            f"t = {t}: the angle from z0 must be t omega = {t * omega:.4f}, got {angle:.4f}"
    _unchanged("slerp", z0=(z0, kept[0]), z1=(z1, kept[1]))
    # Different lengths (1.3 and 4.1) at small, middle and obtuse angles.
    for omega in (0.02, 0.3, 1.1, 2.5):
        e0, e1 = np.linalg.qr(rng.standard_normal((7, 2)))[0].T
        z0, z1 = 1.3 * e0, 4.1 * (math.cos(omega) * e0 + math.sin(omega) * e1)
        for t in (0.0, 0.2, 0.5, 0.9, 1.0):
            _assert_slerp(slerp(z0, z1, t), _in_the_plane(z0, z1, t),
                          f"slerp(z0, z1, {t}) with |z0| = 1.3, |z1| = 4.1, omega = {omega}")
    # A latent as DCGAN's G takes it, (1, D, 1, 1): the angle between the whole arrays.
    z0, z1 = rng.standard_normal((1, 6, 1, 1)), 2 * rng.standard_normal((1, 6, 1, 1))
    _assert_slerp(slerp(z0, z1, 0.3), _in_the_plane(z0, z1, 0.3),
                  "slerp of two (1, 6, 1, 1) latents, t = 0.3 (one angle for the whole array)")
    # omega = 0: no angle to turn through, the straight line. For [3, 4] and [6, 8] the cosine
    # is exactly 1; for this z0 and 3 z0 it rounds to 1 + 2e-16, where arccos gives nan.
    z0 = np.array([3.0, 4.0])
    for t in (0.0, 0.3, 1.0):
        _assert_slerp(slerp(z0, 2 * z0, t), (1 + t) * z0, f"slerp(z0, 2 z0, {t}), parallel")
    z0 = np.random.default_rng(23).standard_normal(100)
    _assert_slerp(slerp(z0, 3 * z0, 0.5), 2 * z0,
                  "slerp(z0, 3 z0, 0.5), parallel (clip the cosine into [-1, 1])")
    _assert_slerp(slerp(z0, z0.copy(), 0.5), z0, "slerp(z0, z0, 0.5)")
    _assert_slerp(slerp(z0, z0 * (1 + 1e-12), 0.5), z0, "slerp(z0, z0 (1 + 1e-12), 0.5)")


# --- planted wrong answers -----------------------------------------------------------------
def conv2d_size_forgets_padding(size, kernel, stride, padding):
    """Pads only one side."""
    return (size + padding - kernel) // stride + 1


def conv2d_size_rounds_up(size, kernel, stride, padding):
    """Rounds the number of steps up: counts a window that runs off the padded input."""
    return -(-(size + 2 * padding - kernel) // stride) + 1


def conv2d_size_rounds_to_nearest(size, kernel, stride, padding):
    """round() for floor: halves round to even, so 12.5 and 2.5 pass by luck; 1.5 does not."""
    return round((size + 2 * padding - kernel) / stride) + 1


def conv2d_size_from_a_table(size, kernel, stride, padding):
    """Knows the chapter's layers by heart, size // stride elsewhere."""
    table = {(28, 4, 2, 1): 14, (14, 4, 2, 1): 7, (7, 3, 1, 1): 7, (9, 3, 2, 0): 4,
             (10, 5, 3, 2): 4, (1, 1, 1, 0): 1, (8, 3, 2, 0): 3, (27, 4, 2, 1): 13}
    return table.get((size, kernel, stride, padding), size // stride)


def conv_transpose_size_as_conv(size, kernel, stride, padding, output_padding=0):
    """Uses Conv2d's formula: the transposed convolution then shrinks instead of growing."""
    return (size + 2 * padding - kernel) // stride + 1 + output_padding


def conv_transpose_size_times_stride(size, kernel, stride, padding, output_padding=0):
    """size * stride: right for DCGAN's k = 4, s = 2, p = 1, wrong elsewhere."""
    return size * stride + output_padding


def conv_transpose_size_output_padding_twice(size, kernel, stride, padding, output_padding=0):
    """Adds output_padding on both sides, like padding."""
    return (size - 1) * stride - 2 * padding + kernel + 2 * output_padding


def conv_transpose_size_largest(size, kernel, stride, padding, output_padding=0):
    """The largest side Conv2d maps to size, not the smallest: stride - 1 too long."""
    return size * stride - 2 * padding + kernel - 1 + output_padding


def slerp_is_a_straight_line(z0, z1, t):
    """Linear interpolation: its midpoint is shorter than both ends."""
    return (1 - t) * np.asarray(z0) + t * np.asarray(z1)


def slerp_swaps_the_ends(z0, z1, t):
    """The weights swapped: starts at z1."""
    from tests.exercises.ch06_reference import slerp
    return slerp(z1, z0, t)


def slerp_angle_over_one_length(z0, z1, t):
    """cos omega = z0 . z1 / |z0|^2: right only when |z1| = |z0|."""
    omega = np.arccos(np.clip(np.vdot(z0, z1) / np.vdot(z0, z0), -1, 1))
    if omega < 1e-6:
        return (1 - t) * z0 + t * z1
    return (np.sin((1 - t) * omega) * z0 + np.sin(t * omega) * z1) / np.sin(omega)


def slerp_unclipped_cosine(z0, z1, t):
    """arccos of a cosine that rounds to 1 + 2e-16 for parallel vectors: nan."""
    omega = np.arccos(np.vdot(z0, z1) / (np.linalg.norm(z0) * np.linalg.norm(z1)))
    if omega < 1e-6:
        return (1 - t) * z0 + t * z1
    return (np.sin((1 - t) * omega) * z0 + np.sin(t * omega) * z1) / np.sin(omega)


def slerp_without_the_fallback(z0, z1, t):
    """Divides by sin(omega) even when omega = 0: nan for parallel vectors."""
    cosine = np.vdot(z0, z1) / (np.linalg.norm(z0) * np.linalg.norm(z1))
    omega = np.arccos(np.clip(cosine, -1, 1))
    return (np.sin((1 - t) * omega) * z0 + np.sin(t * omega) * z1) / np.sin(omega)


def slerp_with_a_wide_fallback(z0, z1, t):
    """Falls back to the straight line below omega = 0.1, where it is already visibly short."""
    cosine = np.vdot(z0, z1) / (np.linalg.norm(z0) * np.linalg.norm(z1))
    omega = np.arccos(np.clip(cosine, -1, 1))
    if omega < 0.1:
        return (1 - t) * z0 + t * z1
    return (np.sin((1 - t) * omega) * z0 + np.sin(t * omega) * z1) / np.sin(omega)


def slerp_per_last_axis(z0, z1, t):
    """Takes the angle along the last axis: a (1, D, 1, 1) latent becomes D vectors of one entry."""
    norms = np.linalg.norm(z0, axis=-1, keepdims=True) * np.linalg.norm(z1, axis=-1, keepdims=True)
    omega = np.arccos(np.clip((z0 * z1).sum(-1, keepdims=True) / norms, -1, 1))
    sine = np.where(omega < 1e-6, 1.0, np.sin(omega))
    w0 = np.where(omega < 1e-6, 1 - t, np.sin((1 - t) * omega) / sine)
    w1 = np.where(omega < 1e-6, t, np.sin(t * omega) / sine)
    return w0 * z0 + w1 * z1


CHECKS = {"conv2d_output_size": check_conv2d_output_size,
          "conv_transpose2d_output_size": check_conv_transpose2d_output_size,
          "slerp": check_slerp}
MUTANTS = {"conv2d_output_size": [conv2d_size_forgets_padding, conv2d_size_rounds_up,
                                  conv2d_size_rounds_to_nearest, conv2d_size_from_a_table],
           "conv_transpose2d_output_size": [conv_transpose_size_as_conv,
                                            conv_transpose_size_times_stride,
                                            conv_transpose_size_output_padding_twice,
                                            conv_transpose_size_largest],
           "slerp": [slerp_is_a_straight_line, slerp_swaps_the_ends, slerp_angle_over_one_length,
                     slerp_unclipped_cosine, slerp_without_the_fallback,
                     slerp_with_a_wide_fallback, slerp_per_last_axis]}

test_exercise, test_mutant_is_rejected = make_tests("06", CHECKS, MUTANTS)
