"""Chapter 01's exercises: im2col, conv_transpose2d as an adjoint, batch norm's statistics, Adam.

Each ``check_*`` states the property an answer must have and asserts it. The tests
run them on the chosen solutions and on planted wrong answers (mutants).
"""
import numpy as np
import pytest

import minigan
import minigan.nn.functional as F
from minigan import optim
from tests.exercises.harness import assert_close, make_tests

pytestmark = pytest.mark.ch01

# (N, C, H, W), kernel, stride, padding: odd and even sizes, H != W, overlapping and not
CONV_CASES = [((2, 3, 7, 6), 3, 1, 0), ((2, 2, 8, 8), 4, 2, 1), ((1, 3, 9, 7), 3, 2, 1),
              ((2, 1, 10, 9), 5, 3, 2), ((1, 2, 5, 5), 1, 2, 0), ((3, 2, 6, 6), 2, 2, 0)]


def _tensor(array):
    return minigan.tensor(np.asarray(array, dtype=np.float64))


def _conv2d(x, w, stride, padding):
    """minigan's conv2d on NumPy arrays (float64)."""
    return F.conv2d(_tensor(x), _tensor(w), stride=stride, padding=padding).numpy()


def _unchanged(before, after, what):
    """The arrays passed in (``after``) still hold the values they had (``before``)."""
    for name, old in before.items():
        assert np.array_equal(after[name], old), (
            f"{what} changed its argument {name} in place; return new arrays instead")


def _assert_close(got, expected, what, rtol=1e-10, atol=1e-12):
    """As ``harness.assert_close``, to 1e-10 by default: the kernels sum many products."""
    assert_close(got, expected, what, rtol=rtol, atol=atol)


def check_im2col(im2col):
    """cols[(c, i, j), (n, a, b)] = xpad[n, c, s a + i, s b + j] for every entry, and
    W.reshape(O, -1) @ cols is minigan's conv2d: the convolution became one matrix product."""
    rng = np.random.default_rng(10)
    for shape, k, s, p in CONV_CASES:
        x = rng.standard_normal(shape)
        before = x.copy()
        n, c, h, w = shape
        ho, wo = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
        what = f"im2col of x {shape} with kernel {k}, stride {s}, padding {p}"
        cols = np.asarray(im2col(x, k, s, p))
        _unchanged({"x": before}, {"x": x}, "im2col")
        assert cols.shape == (c * k * k, n * ho * wo), (
            f"{what}: expected shape {(c * k * k, n * ho * wo)}, got {cols.shape}")
        assert cols.dtype == np.float64, f"{what}: expected float64 values, got {cols.dtype}"
        xpad = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
        for row, (ci, i, j) in enumerate(np.ndindex(c, k, k)):
            for column, (ni, a, b) in enumerate(np.ndindex(n, ho, wo)):
                expected = xpad[ni, ci, s * a + i, s * b + j]
                assert cols[row, column] == expected, (
                    f"{what}: row (c, i, j) = {(ci, i, j)}, column (n, a, b) = {(ni, a, b)} "
                    f"must hold xpad[{ni}, {ci}, {s * a + i}, {s * b + j}] = {expected:.6g}, "
                    f"got {cols[row, column]:.6g}")
        weight = rng.standard_normal((4, c, k, k))
        y = (weight.reshape(4, -1) @ cols).reshape(4, n, ho, wo).transpose(1, 0, 2, 3)
        _assert_close(y, _conv2d(x, weight, s, p),
                      f"{what}: W.reshape(O, -1) @ cols against conv2d")


def check_conv_transpose2d(conv_transpose2d):
    """<conv2d(z, W), y> = <z, conv_transpose2d(y, W)> for random z, y, W (the adjoint
    identity that defines the transpose), with the output shape (Ho - 1) s - 2p + k.
    So a single 1 in y at (n, o, a, b) stamps the kernel W[o] onto image n of x, with
    its corner at (s a - p, s b - p), cut off where it falls outside x."""
    weight = np.arange(2 * 2 * 3 * 3, dtype=np.float64).reshape(2, 2, 3, 3) + 1
    y = np.zeros((1, 2, 3, 3))
    y[0, 1, 1, 2] = 1.0
    x = np.asarray(conv_transpose2d(y, weight, 2, 1))
    expected = np.zeros((1, 2, 5, 5))
    expected[0, :, 1:4, 3:5] = weight[1, :, :, :2]        # corner (2 - 1, 4 - 1); one column cut
    assert x.shape == expected.shape, (
        f"conv_transpose2d of y {y.shape} with kernel 3, stride 2, padding 1: expected "
        f"shape {expected.shape}, got {x.shape}")
    if not np.allclose(x, expected, rtol=1e-12, atol=1e-12):
        raise AssertionError(
            "conv_transpose2d of y = 0 but for a 1 at y[0, 1, 1, 2] (kernel 3, stride 2, "
            "padding 1) must stamp W[1] (entries 19 to 36) with its corner at x[0, :, 1, 3], "
            f"cut at the right edge: expected x[0, 0] =\n{expected[0, 0]}\n"
            f"got\n{np.round(x[0, 0], 6)}")

    rng = np.random.default_rng(11)
    for shape, k, s, p in CONV_CASES:
        n, c, _, _ = shape
        out_channels = 3
        ho, wo = (shape[2] + 2 * p - k) // s + 1, (shape[3] + 2 * p - k) // s + 1
        size = ((ho - 1) * s - 2 * p + k, (wo - 1) * s - 2 * p + k)
        weight = rng.standard_normal((out_channels, c, k, k))
        y = rng.standard_normal((n, out_channels, ho, wo))
        before = {"y": y.copy(), "weight": weight.copy()}
        what = f"conv_transpose2d of y {y.shape} with kernel {k}, stride {s}, padding {p}"
        x = np.asarray(conv_transpose2d(y, weight, s, p))
        _unchanged(before, {"y": y, "weight": weight}, "conv_transpose2d")
        assert x.shape == (n, c) + size, f"{what}: expected shape {(n, c) + size}, got {x.shape}"
        assert x.dtype == np.float64, f"{what}: expected float64 values, got {x.dtype}"
        for _ in range(3):
            z = rng.standard_normal(x.shape)
            left, right = np.sum(_conv2d(z, weight, s, p) * y), np.sum(z * x)
            assert left == pytest.approx(right, rel=1e-10, abs=1e-10), (
                f"{what}: <conv2d(z), y> = {left:.10g} but <z, conv_transpose2d(y)> = {right:.10g}")


def check_batch_norm_statistics(batch_norm_statistics):
    """Per channel: the mean and the *biased* variance over every axis but C, and
    x_hat = (x - mean) / sqrt(var + eps) equal to minigan's training-mode batch_norm.
    For x = [[1, 10], [3, 14]] (two samples, two channels) and eps = 0: mean [2, 12],
    var [1, 4], x_hat [[-1, -1], [1, 1]]."""
    x = np.array([[1.0, 10.0], [3.0, 14.0]])
    mean, var, x_hat = (np.asarray(a) for a in batch_norm_statistics(x, 0.0))
    what = "batch_norm_statistics(x=[[1, 10], [3, 14]], eps=0)"
    for name, got, expected in [("mean", mean, [2.0, 12.0]), ("var", var, [1.0, 4.0]),
                                ("x_hat", x_hat, [[-1.0, -1.0], [1.0, 1.0]])]:
        assert got.shape == np.shape(expected) and np.allclose(got, expected, atol=1e-12), (
            f"{what}: expected {name} = {expected}, got {np.round(got, 6).tolist()}")

    rng = np.random.default_rng(12)
    # (3, 4, 2, 4) has W = C, where a per-channel array of shape (C,) broadcasts against
    # x's last axis without an error
    for shape in [(16, 3), (4, 3, 5, 6), (2, 4, 1, 1), (3, 4, 2, 4)]:
        channels = shape[1]
        extra = (1,) * (len(shape) - 2)
        x = (rng.standard_normal(shape) * rng.uniform(0.5, 3, (1, channels) + extra)
             + rng.uniform(-2, 2, (1, channels) + extra))
        axes = (0,) if x.ndim == 2 else (0, 2, 3)
        for eps in (1e-5, 0.5, None):
            before = x.copy()
            what = f"batch_norm_statistics for x of shape {shape}, eps={eps or 1e-5}"
            result = batch_norm_statistics(x) if eps is None else batch_norm_statistics(x, eps)
            mean, var, x_hat = (np.asarray(a) for a in result)
            _unchanged({"x": before}, {"x": x}, "batch_norm_statistics")
            assert mean.shape == (channels,) and var.shape == (channels,), (
                f"{what}: mean and var must have shape ({channels},), got {mean.shape} "
                f"and {var.shape}")
            _assert_close(mean, x.mean(axis=axes), f"{what}: the mean of each channel")
            _assert_close(var, x.var(axis=axes), f"{what}: the variance of each channel "
                                                 "(divide by the count, not count - 1)")
            expected = F.batch_norm(_tensor(x), None, None, training=True, eps=eps or 1e-5).numpy()
            _assert_close(x_hat, expected, f"{what}: x_hat = (x - mean) / sqrt(var + eps)")


def check_adam_step(adam_step):
    """Every parameter's first step is lr against its gradient's sign, whatever the
    gradient's size (bias correction), and 30 steps follow minigan.optim.Adam exactly."""
    rng = np.random.default_rng(13)
    lr = 1e-3
    gradient = 10.0 ** np.arange(-4, 5) * np.where(np.arange(9) % 2 == 0, 1.0, -1.0)
    zeros = np.zeros(9)
    param, _, _ = adam_step(zeros.copy(), gradient, zeros.copy(), zeros.copy(), 1, lr=lr)
    param = np.asarray(param)
    wrong = ~np.isclose(param, -lr * np.sign(gradient), rtol=1e-3, atol=0)
    if wrong.any():
        i = int(np.argmax(wrong))
        raise AssertionError(
            f"adam_step's first step (t = 1, m = v = 0, lr = {lr}) must move every parameter "
            f"by lr against its gradient's sign, whatever its size: for g = {gradient[i]:g}, "
            f"expected {-lr * np.sign(gradient[i]):g}, got {param[i]:.6g}")

    # the third setting's large eps changes every step of the small gradients: an answer
    # that ignores its eps argument shows there
    for lr, betas, eps in [(1e-3, (0.9, 0.999), 1e-8), (0.05, (0.5, 0.999), 1e-8),
                           (0.01, (0.8, 0.99), 1e-2)]:
        start = rng.standard_normal((3, 4))
        scales = 10.0 ** rng.uniform(-4, 2, (3, 4))
        gradients = [scales * rng.standard_normal((3, 4)) for _ in range(30)]
        p = minigan.tensor(start, requires_grad=True)
        opt = optim.Adam([p], lr=lr, betas=betas, eps=eps)
        param, m, v = start.copy(), np.zeros((3, 4)), np.zeros((3, 4))
        for t, g in enumerate(gradients, start=1):
            inputs = {"param": param, "grad": g, "m": m, "v": v}
            passed = {name: a.copy() for name, a in inputs.items()}
            result = adam_step(*passed.values(), t, lr=lr, betas=betas, eps=eps)
            _unchanged(inputs, passed, "adam_step")
            param, m, v = (np.asarray(a) for a in result)
            p.grad = minigan.tensor(g)
            opt.step()
            state = opt.state[p]
            what = f"adam_step at step t = {t} (lr={lr}, betas={betas}, eps={eps})"
            _assert_close(m, minigan.backend.to_numpy(state["exp_avg"]),
                          f"{what}: m = b1 m + (1 - b1) g", atol=1e-300)
            _assert_close(v, minigan.backend.to_numpy(state["exp_avg_sq"]),
                          f"{what}: v = b2 v + (1 - b2) g^2", atol=1e-300)
            _assert_close(param, p.numpy(), f"{what}: the parameter")


# --- planted wrong answers -----------------------------------------------------------------
def _im2col(x, kernel, stride, padding, swap_offsets=False, use_stride=True):
    n, c, h, w = x.shape
    ho, wo = (h + 2 * padding - kernel) // stride + 1, (w + 2 * padding - kernel) // stride + 1
    xpad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    step = stride if use_stride else 1
    cols = np.empty((c, kernel, kernel, n, ho, wo))
    for i in range(kernel):
        for j in range(kernel):
            window = xpad[:, :, i:i + step * ho:step, j:j + step * wo:step]
            row = (j, i) if swap_offsets else (i, j)
            cols[:, row[0], row[1]] = window.transpose(1, 0, 2, 3)
    return cols.reshape(c * kernel * kernel, -1)


def im2col_offsets_swapped(x, kernel, stride, padding):
    """Stores kernel offset (i, j) in row (j, i): the rows are the kernel transposed."""
    return _im2col(x, kernel, stride, padding, swap_offsets=True)


def im2col_without_stride(x, kernel, stride, padding):
    """Starts window (a, b) at (a + i, b + j): forgets the stride (right shape, wrong values)."""
    return _im2col(x, kernel, stride, padding, use_stride=False)


def im2col_columns_batch_last(x, kernel, stride, padding):
    """Orders the columns (a, b, n) instead of (n, a, b): right shape, columns shuffled."""
    n, c, h, w = x.shape
    ho, wo = (h + 2 * padding - kernel) // stride + 1, (w + 2 * padding - kernel) // stride + 1
    cols = _im2col(x, kernel, stride, padding).reshape(-1, n, ho, wo)
    return cols.transpose(0, 2, 3, 1).reshape(c * kernel * kernel, -1)


def im2col_zeroes_x(x, kernel, stride, padding):
    """Right columns, but clears x in place afterwards (a reused buffer)."""
    cols = _im2col(x, kernel, stride, padding)
    x[...] = 0.0
    return cols


def _col2im_transpose(y, weight, stride, padding, assign=False, flip=False, crop_start=True,
                      batch_first=False):
    n, o, ho, wo = y.shape
    _, c, k, _ = weight.shape
    if flip:
        weight = weight[:, :, ::-1, ::-1]
    h, w = (ho - 1) * stride - 2 * padding + k, (wo - 1) * stride - 2 * padding + k
    rows = y.reshape(o, -1) if batch_first else y.transpose(1, 0, 2, 3).reshape(o, -1)
    cols = weight.reshape(o, -1).T @ rows
    cols = cols.reshape(c, k, k, n, ho, wo)
    padded = np.zeros((n, c, h + 2 * padding, w + 2 * padding))
    for i in range(k):
        for j in range(k):
            rows = slice(i, i + stride * ho, stride)
            columns = slice(j, j + stride * wo, stride)
            if assign:
                padded[:, :, rows, columns] = cols[:, i, j].transpose(1, 0, 2, 3)
            else:
                padded[:, :, rows, columns] += cols[:, i, j].transpose(1, 0, 2, 3)
    start = padding if crop_start else 0
    return padded[:, :, start:start + h, start:start + w]


def conv_transpose_overwrites_overlaps(y, weight, stride, padding):
    """Writes each patch with = instead of +=: where patches overlap, only the last one survives."""
    return _col2im_transpose(y, weight, stride, padding, assign=True)


def conv_transpose_flips_kernel(y, weight, stride, padding):
    """Flips the kernel, as in the 'full convolution' formula; this adjoint needs no flip."""
    return _col2im_transpose(y, weight, stride, padding, flip=True)


def conv_transpose_crops_one_side(y, weight, stride, padding):
    """Removes all the padding from the bottom and right instead of p from every side."""
    return _col2im_transpose(y, weight, stride, padding, crop_start=False)


def conv_transpose_mixes_batch_and_channels(y, weight, stride, padding):
    """Reshapes y (N, O, Ho, Wo) to (O, -1) without moving O first: images get mixed."""
    return _col2im_transpose(y, weight, stride, padding, batch_first=True)


def conv_transpose_pytorch_weight_layout(y, weight, stride, padding):
    """Reads the weight as (C, O, k, k), PyTorch's layout for ConvTranspose2d's own weight."""
    n, o, ho, wo = y.shape
    swapped = weight.reshape(weight.shape[1], weight.shape[0], *weight.shape[2:])
    return _col2im_transpose(y, swapped.transpose(1, 0, 2, 3), stride, padding)


def _axes(x):
    return (0,) if x.ndim == 2 else (0, 2, 3)


def _as_channel(values, x):
    return values.reshape((1, -1) + (1,) * (x.ndim - 2))


def batch_norm_unbiased_variance(x, eps=1e-5):
    """Divides the variance by count - 1 (the running estimate's formula, not the batch's)."""
    mean, var = x.mean(axis=_axes(x)), x.var(axis=_axes(x), ddof=1)
    return mean, var, (x - _as_channel(mean, x)) / np.sqrt(_as_channel(var, x) + eps)


def batch_norm_per_pixel(x, eps=1e-5):
    """Averages over the batch axis only: one mean per (c, h, w) instead of per channel."""
    mean, var = x.mean(axis=0), x.var(axis=0)
    return mean, var, (x - mean) / np.sqrt(var + eps)


def batch_norm_eps_outside_sqrt(x, eps=1e-5):
    """Divides by sqrt(var) + eps instead of sqrt(var + eps)."""
    mean, var = x.mean(axis=_axes(x)), x.var(axis=_axes(x))
    return mean, var, (x - _as_channel(mean, x)) / (np.sqrt(_as_channel(var, x)) + eps)


def batch_norm_mean_lines_up_with_width(x, eps=1e-5):
    """Subtracts the mean of shape (C,) from x (N, C, H, W): NumPy lines it up with W."""
    mean, var = x.mean(axis=_axes(x)), x.var(axis=_axes(x))
    return mean, var, (x - mean) / np.sqrt(var + eps)


def batch_norm_normalises_in_place(x, eps=1e-5):
    """Right values, but overwrites the batch x with x_hat and returns it."""
    mean, var = x.mean(axis=_axes(x)), x.var(axis=_axes(x))
    x -= _as_channel(mean, x)
    x /= np.sqrt(_as_channel(var, x) + eps)
    return mean, var, x


def adam_without_bias_correction(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    """Uses m and v directly: the first steps are (1 - b1) / sqrt(1 - b2) times too big."""
    b1, b2 = betas
    m = b1 * m + (1 - b1) * grad
    v = b2 * v + (1 - b2) * grad * grad
    return param - lr * m / (np.sqrt(v) + eps), m, v


def adam_moments_after_step(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    """Moves the parameter with the previous step's moments, then updates them."""
    b1, b2 = betas
    param = param - lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)
    return param, b1 * m + (1 - b1) * grad, b2 * v + (1 - b2) * grad * grad


def adam_eps_inside_sqrt(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    """Divides by sqrt(v_hat + eps): for gradients near 1e-4 the step shrinks by up to 1/sqrt(2)."""
    b1, b2 = betas
    m = b1 * m + (1 - b1) * grad
    v = b2 * v + (1 - b2) * grad * grad
    return param - lr * (m / (1 - b1 ** t)) / np.sqrt(v / (1 - b2 ** t) + eps), m, v


def adam_ignores_eps(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    """Writes the default 1e-8 into the update instead of using the eps passed in."""
    b1, b2 = betas
    m = b1 * m + (1 - b1) * grad
    v = b2 * v + (1 - b2) * grad * grad
    return param - lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + 1e-8), m, v


def adam_corrects_with_t_plus_one(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    """Counts steps from 0: the bias correction uses t + 1, the first step is about 0.74 lr."""
    b1, b2 = betas
    m = b1 * m + (1 - b1) * grad
    v = b2 * v + (1 - b2) * grad * grad
    return param - lr * (m / (1 - b1 ** (t + 1))) / (np.sqrt(v / (1 - b2 ** (t + 1))) + eps), m, v


def adam_updates_moments_in_place(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    """Right values, but updates the caller's m and v in place (m *= b1; m += ...)."""
    b1, b2 = betas
    m *= b1
    m += (1 - b1) * grad
    v *= b2
    v += (1 - b2) * grad * grad
    return param - lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps), m, v


CHECKS = {"im2col": check_im2col, "conv_transpose2d": check_conv_transpose2d,
          "batch_norm_statistics": check_batch_norm_statistics, "adam_step": check_adam_step}
MUTANTS = {"im2col": [im2col_offsets_swapped, im2col_without_stride, im2col_columns_batch_last,
                      im2col_zeroes_x],
           "conv_transpose2d": [conv_transpose_overwrites_overlaps, conv_transpose_flips_kernel,
                                conv_transpose_crops_one_side,
                                conv_transpose_mixes_batch_and_channels,
                                conv_transpose_pytorch_weight_layout],
           "batch_norm_statistics": [batch_norm_unbiased_variance, batch_norm_per_pixel,
                                     batch_norm_eps_outside_sqrt,
                                     batch_norm_mean_lines_up_with_width,
                                     batch_norm_normalises_in_place],
           "adam_step": [adam_without_bias_correction, adam_moments_after_step,
                         adam_eps_inside_sqrt, adam_ignores_eps, adam_corrects_with_t_plus_one,
                         adam_updates_moments_in_place]}

test_exercise, test_mutant_is_rejected = make_tests("01", CHECKS, MUTANTS)
