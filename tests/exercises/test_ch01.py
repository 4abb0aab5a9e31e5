"""Chapter 01's exercises: im2col, conv_transpose2d as an adjoint, batch norm's statistics, Adam.

Each ``check_*`` states the property an answer must have and asserts it. The tests
run them on the chosen solutions and on planted wrong answers (mutants).
"""
import numpy as np
import pytest

import minigan
import minigan.nn.functional as F
from minigan import optim
from tests.exercises.harness import make_tests

pytestmark = pytest.mark.ch01

# (N, C, H, W), kernel, stride, padding: odd and even sizes, H != W, overlapping and not
CONV_CASES = [((2, 3, 7, 6), 3, 1, 0), ((2, 2, 8, 8), 4, 2, 1), ((1, 3, 9, 7), 3, 2, 1),
              ((2, 1, 10, 9), 5, 3, 2), ((1, 2, 5, 5), 1, 2, 0), ((3, 2, 6, 6), 2, 2, 0)]


def _tensor(array):
    return minigan.tensor(np.asarray(array, dtype=np.float64))


def _conv2d(x, w, stride, padding):
    """minigan's conv2d on NumPy arrays (float64)."""
    return F.conv2d(_tensor(x), _tensor(w), stride=stride, padding=padding).numpy()


def check_im2col(im2col):
    """cols[(c, i, j), (n, a, b)] = xpad[n, c, s a + i, s b + j] for every entry, and
    W.reshape(O, -1) @ cols is minigan's conv2d: the convolution became one matrix product."""
    rng = np.random.default_rng(10)
    for shape, k, s, p in CONV_CASES:
        x = rng.standard_normal(shape)
        n, c, h, w = shape
        ho, wo = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
        cols = np.asarray(im2col(x.copy(), k, s, p))
        assert cols.shape == (c * k * k, n * ho * wo), (
            f"im2col of {shape} with kernel {k}, stride {s}, padding {p}: expected shape "
            f"{(c * k * k, n * ho * wo)}, got {cols.shape}")
        xpad = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
        expected = np.empty_like(cols)
        for row, (ci, i, j) in enumerate(np.ndindex(c, k, k)):
            for column, (ni, a, b) in enumerate(np.ndindex(n, ho, wo)):
                expected[row, column] = xpad[ni, ci, s * a + i, s * b + j]
        np.testing.assert_array_equal(cols, expected, err_msg=f"case {shape}, k={k}, s={s}, p={p}")
        weight = rng.standard_normal((4, c, k, k))
        y = (weight.reshape(4, -1) @ cols).reshape(4, n, ho, wo).transpose(1, 0, 2, 3)
        np.testing.assert_allclose(y, _conv2d(x, weight, s, p), rtol=1e-10, atol=1e-10)


def check_conv_transpose2d(conv_transpose2d):
    """<conv2d(z, W), y> = <z, conv_transpose2d(y, W)> for random z, y, W (the adjoint
    identity that defines the transpose), with the output shape (Ho - 1) s - 2p + k."""
    rng = np.random.default_rng(11)
    for shape, k, s, p in CONV_CASES:
        n, c, _, _ = shape
        out_channels = 3
        ho, wo = (shape[2] + 2 * p - k) // s + 1, (shape[3] + 2 * p - k) // s + 1
        size = ((ho - 1) * s - 2 * p + k, (wo - 1) * s - 2 * p + k)
        weight = rng.standard_normal((out_channels, c, k, k))
        y = rng.standard_normal((n, out_channels, ho, wo))
        x = np.asarray(conv_transpose2d(y.copy(), weight.copy(), s, p))
        assert x.shape == (n, c) + size, (
            f"conv_transpose2d of y {y.shape} with kernel {k}, stride {s}, padding {p}: "
            f"expected shape {(n, c) + size}, got {x.shape}")
        for _ in range(3):
            z = rng.standard_normal(x.shape)
            left, right = np.sum(_conv2d(z, weight, s, p) * y), np.sum(z * x)
            assert left == pytest.approx(right, rel=1e-10, abs=1e-10), (
                f"<conv2d(z), y> = {left:.10g} but <z, conv_transpose2d(y)> = {right:.10g} "
                f"(kernel {k}, stride {s}, padding {p})")


def check_batch_norm_statistics(batch_norm_statistics):
    """Per channel: the mean and the *biased* variance over every axis but C, and
    x_hat = (x - mean) / sqrt(var + eps) equal to minigan's training-mode batch_norm."""
    rng = np.random.default_rng(12)
    for shape in [(16, 3), (4, 3, 5, 6), (2, 4, 1, 1)]:
        channels = shape[1]
        extra = (1,) * (len(shape) - 2)
        x = (rng.standard_normal(shape) * rng.uniform(0.5, 3, (1, channels) + extra)
             + rng.uniform(-2, 2, (1, channels) + extra))
        axes = (0,) if x.ndim == 2 else (0, 2, 3)
        for eps in (1e-5, 0.5):
            mean, var, x_hat = (np.asarray(a) for a in batch_norm_statistics(x.copy(), eps))
            assert mean.shape == (channels,) and var.shape == (channels,), (
                f"mean and var must have shape ({channels},) for x of shape {shape}, got "
                f"{mean.shape} and {var.shape}")
            np.testing.assert_allclose(mean, x.mean(axis=axes), rtol=1e-10, atol=1e-12)
            np.testing.assert_allclose(var, x.var(axis=axes), rtol=1e-10, atol=1e-12,
                                       err_msg="var must divide by the count, not count - 1")
            expected = F.batch_norm(_tensor(x), None, None, training=True, eps=eps).numpy()
            np.testing.assert_allclose(x_hat, expected, rtol=1e-10, atol=1e-12,
                                       err_msg=f"x_hat for x of shape {shape}, eps={eps}")


def check_adam_step(adam_step):
    """Every parameter's first step is lr against its gradient's sign, whatever the
    gradient's size (bias correction), and 30 steps follow minigan.optim.Adam exactly."""
    rng = np.random.default_rng(13)
    lr = 1e-3
    gradient = 10.0 ** np.arange(-4, 5) * np.where(np.arange(9) % 2 == 0, 1.0, -1.0)
    zeros = np.zeros(9)
    param, _, _ = adam_step(zeros.copy(), gradient, zeros.copy(), zeros.copy(), 1, lr=lr)
    np.testing.assert_allclose(param, -lr * np.sign(gradient), rtol=1e-3,
                               err_msg="the first step must be lr * sign(g) for every |g|")

    for lr, betas in [(1e-3, (0.9, 0.999)), (0.05, (0.5, 0.999))]:
        start = rng.standard_normal((3, 4))
        scales = 10.0 ** rng.uniform(-4, 2, (3, 4))
        gradients = [scales * rng.standard_normal((3, 4)) for _ in range(30)]
        p = minigan.tensor(start, requires_grad=True)
        opt = optim.Adam([p], lr=lr, betas=betas)
        param, m, v = start.copy(), np.zeros((3, 4)), np.zeros((3, 4))
        for t, g in enumerate(gradients, start=1):
            inputs = (param, g, m, v)
            passed = [a.copy() for a in inputs]
            result = adam_step(*passed, t, lr=lr, betas=betas)
            for name, before, after in zip(("param", "grad", "m", "v"), inputs, passed):
                np.testing.assert_array_equal(after, before, err_msg=f"adam_step changed {name}")
            param, m, v = (np.asarray(a) for a in result)
            p.grad = minigan.tensor(g)
            opt.step()
            state = opt.state[p]
            np.testing.assert_allclose(m, minigan.backend.to_numpy(state["exp_avg"]), rtol=1e-10,
                                       atol=1e-300, err_msg=f"m at step {t}")
            np.testing.assert_allclose(v, minigan.backend.to_numpy(state["exp_avg_sq"]),
                                       rtol=1e-10, atol=1e-300, err_msg=f"v at step {t}")
            np.testing.assert_allclose(param, p.numpy(), rtol=1e-10, atol=1e-12,
                                       err_msg=f"the parameter at step {t}, lr={lr}, betas={betas}")


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


def _col2im_transpose(y, weight, stride, padding, assign=False, flip=False, crop_start=True):
    n, o, ho, wo = y.shape
    _, c, k, _ = weight.shape
    if flip:
        weight = weight[:, :, ::-1, ::-1]
    h, w = (ho - 1) * stride - 2 * padding + k, (wo - 1) * stride - 2 * padding + k
    cols = (weight.reshape(o, -1).T @ y.transpose(1, 0, 2, 3).reshape(o, -1))
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


CHECKS = {"im2col": check_im2col, "conv_transpose2d": check_conv_transpose2d,
          "batch_norm_statistics": check_batch_norm_statistics, "adam_step": check_adam_step}
MUTANTS = {"im2col": [im2col_offsets_swapped, im2col_without_stride],
           "conv_transpose2d": [conv_transpose_overwrites_overlaps, conv_transpose_flips_kernel,
                                conv_transpose_crops_one_side],
           "batch_norm_statistics": [batch_norm_unbiased_variance, batch_norm_per_pixel,
                                     batch_norm_eps_outside_sqrt],
           "adam_step": [adam_without_bias_correction, adam_moments_after_step,
                         adam_eps_inside_sqrt]}

test_exercise, test_mutant_is_rejected = make_tests("01", CHECKS, MUTANTS)
