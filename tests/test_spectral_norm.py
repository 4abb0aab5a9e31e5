"""minigan.nn.utils.spectral_norm: a layer run with W / sigma(W), sigma by power iteration.

The tests check what the layer promises: its sigma converges to the largest singular
value (numpy.linalg.svd as the oracle) for Linear, Conv2d and ConvTranspose2d weights
(the last reshaped along its output axis, dim=1); the normalised layer is 1-Lipschitz,
and not less; u and v are state, not parameters, saved and loaded, and left alone in
evaluation mode; the gradient treats u and v as constants; and the forward is
differentiable twice (gradcheck and gradgradcheck in float64).
"""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigan
from minigan import nn
from minigan.nn import functional as F
from minigan.nn import utils
from minigan.nn.utils import spectral_norm, weight_matrix
from tests.strategies import double_, leaf


def largest_singular_value(matrix):
    return np.linalg.svd(matrix, compute_uv=False)[0]


def sample_input(layer, n=2, side=5):
    if isinstance(layer, nn.Linear):
        return minigan.randn(n, layer.in_features)
    return minigan.randn(n, layer.in_channels, side, side)


LAYERS = {
    "linear": lambda out, inp, k: nn.Linear(inp, out),
    "conv2d": lambda out, inp, k: nn.Conv2d(inp, out, k),
    "conv_transpose2d": lambda out, inp, k: nn.ConvTranspose2d(inp, out, k),
}


def output_rows(layer):
    """The weight as the matrix whose spectral norm is meant: (out, in * kh * kw)."""
    w = layer.weight.numpy()
    if isinstance(layer, nn.ConvTranspose2d):
        w = w.transpose(1, 0, 2, 3)
    return w.reshape(w.shape[0], -1)


# --- power iteration -----------------------------------------------------------------------------
# Each step of the power method shrinks the error of sigma^2 by about (sigma_2 / sigma_1)^4,
# so how many steps reach 1% depends on the gap between the two largest singular values,
# and on how far the random start is from the top singular vector. Measured on 3,000
# random uniform weights (shapes as below): 4% are still more than 1% off after 20 steps,
# 0.03% after 200; with sigma_2 / sigma_1 <= 0.8 none is more than 1e-4 off after 20.
def weight_with_gap(layer, ratio, rng):
    """A random weight for ``layer`` whose matrix (out, in kh kw) has sigma_2 / sigma_1 = ratio."""
    rows = output_rows(layer)
    out, cols = rows.shape
    u, _ = np.linalg.qr(rng.standard_normal((out, out)))
    v, _ = np.linalg.qr(rng.standard_normal((cols, cols)))
    s = np.sort(rng.uniform(0.1, 1.0, min(out, cols)))[::-1]
    s[0] = s[1] / ratio
    matrix = (u[:, :len(s)] * s) @ v[:len(s)]
    if isinstance(layer, nn.ConvTranspose2d):
        o, i, kh, kw = layer.weight.shape[1], layer.weight.shape[0], *layer.weight.shape[2:]
        return matrix.reshape(o, i, kh, kw).transpose(1, 0, 2, 3), s[0]
    return matrix.reshape(layer.weight.shape), s[0]


@settings(max_examples=30)
@given(kind=st.sampled_from(sorted(LAYERS)), out=st.integers(2, 12), inp=st.integers(2, 12),
       k=st.sampled_from([1, 3]), ratio=st.floats(0.3, 0.8), seed=st.integers(0, 10_000))
def test_sigma_is_within_1_percent_after_20_steps(kind, out, inp, k, ratio, seed):
    """With a spectral gap (sigma_2 / sigma_1 <= 0.8), 20 training calls with one power step
    each bring sigma within 1% of the largest singular value of the weight as an
    (out, in kh kw) matrix, for Linear, Conv2d and ConvTranspose2d."""
    minigan.manual_seed(seed)
    layer = double_(LAYERS[kind](out, inp, k))
    weight, exact = weight_with_gap(layer, ratio, np.random.default_rng(seed))
    layer.weight.data[...] = minigan.backend.asarray(weight)
    sn = double_(spectral_norm(layer))
    for _ in range(20):
        sn(sample_input(layer).double())
    assert sn.sigma() == pytest.approx(exact, rel=1e-2)


@settings(max_examples=30)
@given(kind=st.sampled_from(sorted(LAYERS)), out=st.integers(1, 12), inp=st.integers(1, 12),
       k=st.sampled_from([1, 3]), seed=st.integers(0, 10_000))
def test_sigma_rises_to_the_largest_singular_value(kind, out, inp, k, seed):
    """For the layers' own random weights, sigma never decreases from one power step to
    the next, never exceeds sigma_1 (it is a lower bound), and after 200 steps is
    within 2% of it."""
    minigan.manual_seed(seed)
    layer = double_(LAYERS[kind](out, inp, k))
    sn = double_(spectral_norm(layer, n_power_iterations=10))
    exact = largest_singular_value(output_rows(layer))
    estimates = [sn.sigma()]
    for _ in range(20):
        sn(sample_input(layer).double())
        estimates.append(sn.sigma())
    assert np.all(np.diff(estimates) >= -1e-12 * exact)
    assert max(estimates) <= exact * (1 + 1e-12)
    assert estimates[-1] == pytest.approx(exact, rel=2e-2)


def test_conv_transpose_is_normalised_along_its_output_axis():
    """ConvTranspose2d's weight is (in, out, kh, kw): its rows are the output channels only
    after swapping axes 0 and 1 (dim=1). The two reshapes have different spectral norms
    here, and sigma matches the dim=1 one."""
    minigan.manual_seed(1)
    layer = nn.ConvTranspose2d(2, 6, 3)
    sn = spectral_norm(layer, n_power_iterations=50)
    sn(sample_input(layer))
    w = layer.weight.numpy().astype(np.float64)
    along_out = largest_singular_value(w.transpose(1, 0, 2, 3).reshape(6, -1))
    along_in = largest_singular_value(w.reshape(2, -1))
    assert abs(along_out - along_in) > 0.05 * along_out
    assert sn.dim == 1
    assert sn.sigma() == pytest.approx(along_out, rel=1e-6)


def test_weight_matrix_shapes():
    w = np.zeros((4, 3, 5, 5))
    assert weight_matrix(w).shape == (4, 75)
    assert weight_matrix(w, dim=1).shape == (3, 100)
    assert weight_matrix(np.zeros((4, 3))).shape == (4, 3)


# --- the normalised layer is 1-Lipschitz ----------------------------------------------------------
def stretch(weight, rng):
    """For x -> x W^T: the largest stretch ||f(x) - f(y)|| / ||x - y|| over 500 random pairs,
    and the stretch along the top right singular vector (the largest of all)."""
    columns = weight.shape[1]
    x, y = rng.standard_normal((500, columns)), 3 * rng.standard_normal((500, columns))
    ratios = np.linalg.norm((x - y) @ weight.T, axis=1) / np.linalg.norm(x - y, axis=1)
    top = np.linalg.svd(weight)[2][0]
    return ratios.max(), np.linalg.norm(weight @ top)


@pytest.mark.parametrize("scale", [0.1, 1.0, 30.0])
def test_spectrally_normalised_linear_is_1_lipschitz(scale):
    """Whatever the scale of W, after enough power steps the layer stretches no random pair
    of inputs by more than 1 + 1e-3, and the pair along its top singular vector by at
    least 1 - 1e-3: its Lipschitz constant is 1. The same checks reject the raw weight
    (too steep) and W / ||W||_F (too flat: the Frobenius norm overestimates sigma)."""
    minigan.manual_seed(2)
    layer = nn.Linear(16, 8)
    layer.weight.data *= scale
    sn = double_(spectral_norm(layer, n_power_iterations=5))
    for _ in range(20):
        sn(minigan.randn(2, 16, dtype="float64"))
    sn.eval()
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((500, 16)), 3 * rng.standard_normal((500, 16))
    fx, fy = sn(leaf(x, requires_grad=False)).numpy(), sn(leaf(y, requires_grad=False)).numpy()
    assert (np.linalg.norm(fx - fy, axis=1) / np.linalg.norm(x - y, axis=1)).max() <= 1 + 1e-3
    effective = sn.normalized_weight().numpy()
    largest, along_top = stretch(effective, rng)
    assert largest <= 1 + 1e-3 and along_top >= 1 - 1e-3
    w = layer.weight.numpy().astype(np.float64)
    if scale > 1:
        assert stretch(w, rng)[0] > 1 + 1e-3
    assert stretch(w / np.linalg.norm(w), rng)[1] < 1 - 1e-3


# --- the layer: same as the plain layer with W / sigma --------------------------------------------
@pytest.mark.parametrize("kind", sorted(LAYERS))
def test_forward_is_the_layer_with_the_normalised_weight(kind):
    """sn(x) = layer(x) computed with weight W / (u^T W_mat v) and the same bias; the wrapped
    module gets its own Parameter back after the call."""
    minigan.manual_seed(4)
    layer = LAYERS[kind](3, 2, 3)
    sn = spectral_norm(layer)
    x = sample_input(layer)
    y = sn(x)
    u, v = sn.weight_u.numpy(), sn.weight_v.numpy()
    w = layer.weight.numpy()
    normalised = minigan.tensor(w / (u @ output_rows(layer) @ v))
    if kind == "linear":
        expected = F.linear(x, normalised, layer.bias)
    elif kind == "conv2d":
        expected = F.conv2d(x, normalised, layer.bias)
    else:
        expected = F.conv_transpose2d(x, normalised, layer.bias)
    np.testing.assert_allclose(y.numpy(), expected.numpy(), rtol=1e-5, atol=1e-6)
    assert isinstance(layer.weight, nn.Parameter)


def test_the_wrapped_weight_is_put_back_even_after_an_error():
    layer = nn.Linear(3, 2)
    sn = spectral_norm(layer)
    with pytest.raises(ValueError):
        sn(minigan.randn(4, 5))
    assert isinstance(layer.weight, nn.Parameter)


# --- state: u and v are buffers ------------------------------------------------------------------
def test_u_and_v_are_buffers_not_parameters():
    critic = nn.Sequential(spectral_norm(nn.Linear(2, 4)), nn.LeakyReLU(0.2),
                           spectral_norm(nn.Conv2d(1, 3, 3)))
    names = [name for name, _ in critic.named_parameters()]
    assert names == ["0.module.weight", "0.module.bias", "2.module.weight", "2.module.bias"]
    state = critic.state_dict()
    assert {"0.weight_u", "0.weight_v", "2.weight_u", "2.weight_v"} <= set(state)
    assert state["0.weight_u"].shape == (4,) and state["0.weight_v"].shape == (2,)
    assert state["2.weight_u"].shape == (3,) and state["2.weight_v"].shape == (9,)
    params = {id(p) for p in critic.parameters()}
    assert not any(id(b) in params for b in critic.buffers())


def test_training_updates_u_and_evaluation_does_not():
    minigan.manual_seed(5)
    sn = spectral_norm(nn.Linear(6, 5))
    x = minigan.randn(3, 6)
    before = sn.weight_u.numpy().copy()
    sn(x)
    after_training = sn.weight_u.numpy().copy()
    assert not np.allclose(before, after_training)
    sn.eval()
    first = sn(x).numpy()
    for _ in range(5):
        np.testing.assert_array_equal(sn(x).numpy(), first)
    np.testing.assert_array_equal(sn.weight_u.numpy(), after_training)


def test_state_dict_round_trip_reproduces_the_output():
    """A fresh layer loaded with the state_dict gives the same outputs, in evaluation and
    in the next training call (whose power step starts from the loaded u)."""
    minigan.manual_seed(6)
    sn = spectral_norm(nn.Conv2d(2, 4, 3))
    x = minigan.randn(2, 2, 5, 5)
    for _ in range(3):
        sn(x)
    minigan.manual_seed(7)
    other = spectral_norm(nn.Conv2d(2, 4, 3))
    assert not np.allclose(other(x).numpy(), sn(x).numpy())
    other.load_state_dict(sn.state_dict())
    np.testing.assert_array_equal(other(x).numpy(), sn(x).numpy())    # training mode
    sn.eval(), other.eval()
    np.testing.assert_array_equal(other(x).numpy(), sn(x).numpy())


# --- gradients: u and v are constants; twice differentiable ---------------------------------------
def test_gradient_treats_u_and_v_as_constants():
    """With sigma = u^T W v and u, v constant, d<G, W/sigma>/dW = G/sigma - <G, W>/sigma^2 u v^T,
    in a training call too (with the u and v after that call's power step)."""
    minigan.manual_seed(8)
    layer = double_(nn.Linear(4, 3))
    sn = double_(spectral_norm(layer))
    x = minigan.randn(5, 4, dtype="float64")
    y = sn(x)
    (grad_w,) = minigan.grad((y * y).sum() / 2, layer.weight)
    u, v, w = sn.weight_u.numpy(), sn.weight_v.numpy(), layer.weight.numpy()
    sigma = u @ w @ v
    g = y.numpy().T @ x.numpy()               # dL/d(W / sigma) for L = |y|^2 / 2
    expected = g / sigma - np.sum(g * w) / sigma ** 2 * np.outer(u, v)
    np.testing.assert_allclose(grad_w.numpy(), expected, rtol=1e-9, atol=1e-12)
    assert not np.allclose(grad_w.numpy(), g / sigma)   # sigma's own term matters


@pytest.mark.parametrize("kind", ["linear", "conv2d", "conv_transpose2d"])
def test_forward_first_and_second_order_gradcheck(kind):
    """In evaluation mode (u, v fixed) the layer is a smooth function of x and W: its
    gradients, and their gradients, match finite differences."""
    minigan.manual_seed(9)
    layer = LAYERS[kind](2, 2, 2)
    sn = double_(spectral_norm(layer)).eval()
    x = leaf(sample_input(layer, n=2, side=3).numpy())
    inputs = [x, layer.weight, layer.bias]
    assert minigan.gradcheck(lambda *_: sn(x), inputs)
    assert minigan.gradgradcheck(lambda *_: F.leaky_relu(sn(x), 0.2) ** 2, inputs)


def test_refuses_a_module_without_the_weight_and_zero_iterations():
    with pytest.raises(ValueError, match="no weight 'kernel'"):
        spectral_norm(nn.Linear(2, 2), name="kernel")
    with pytest.raises(ValueError, match="n_power_iterations"):
        spectral_norm(nn.Linear(2, 2), n_power_iterations=0)


def _explicit_matrix(layer, shape):
    """The matrix of x -> layer(x) - layer(0), column by column (small shapes only)."""
    size = int(np.prod(shape))
    with minigan.no_grad():
        offset = layer(minigan.zeros((1,) + shape, dtype="float64")).numpy().ravel()
        columns = [layer(minigan.tensor(np.eye(size)[i].reshape((1,) + shape))).numpy().ravel()
                   - offset for i in range(size)]
    return np.stack(columns, axis=1)


@pytest.mark.parametrize("kernel, stride, padding, size", [(4, 2, 1, 6), (3, 1, 1, 5),
                                                           (4, 2, 1, 7), (2, 2, 0, 6)])
def test_operator_norm_is_the_largest_singular_value_of_the_layers_matrix(kernel, stride,
                                                                        padding, size):
    """operator_norm of a convolution (power method through autograd's adjoint) equals the
    largest singular value of the convolution written out as a matrix; it lies between
    sigma of the reshaped weight (what spectral normalisation divides by) and
    sqrt(ceil(k / s)^2) times it, and is larger than it in these cases."""
    minigan.manual_seed(kernel + size)
    conv = double_(nn.Conv2d(2, 3, kernel, stride, padding))
    shape = (2, size, size)
    exact = np.linalg.svd(_explicit_matrix(conv, shape), compute_uv=False)[0]
    assert utils.operator_norm(conv, shape, iterations=1000) == pytest.approx(exact, rel=1e-5)
    reshaped = np.linalg.svd(utils.weight_matrix(conv.weight.numpy()), compute_uv=False)[0]
    assert reshaped < exact <= math.ceil(kernel / stride) * reshaped + 1e-12


def test_operator_norm_of_a_linear_layer_is_sigma_and_modes_are_kept():
    minigan.manual_seed(0)
    layer = double_(utils.spectral_norm(nn.Linear(6, 4)))
    for _ in range(50):                        # power steps until sigma-hat has converged
        layer(minigan.randn(3, 6, dtype="float64"))
    u = layer.weight_u.numpy().copy()
    assert utils.operator_norm(layer, (6,), iterations=500) == pytest.approx(1.0, abs=1e-3)
    np.testing.assert_array_equal(layer.weight_u.numpy(), u)   # evaluation: u is kept
    assert layer.training
    plain = double_(nn.Linear(6, 4))
    sigma = np.linalg.svd(plain.weight.numpy(), compute_uv=False)[0]
    assert utils.operator_norm(plain, (6,), iterations=500) == pytest.approx(sigma, rel=1e-9)
