"""The tools of chapter 04 against mode collapse: packing, unrolling, stacking and averaging.

* ``pacgan.pack`` must be a pure rearrangement: pack i is samples i m .. i m + m - 1 side
  by side, and each pack's gradient goes back to its own samples only.
* ``unrolled``: ``functional_call`` runs a module with stand-in parameters and then puts
  its own back; ``sgd_step`` is theta - lr grad *and stays differentiable*; the unrolled
  generator loss is the generator loss against D after K explicit SGD steps, and its
  gradient (which includes D's response through the second derivatives) matches finite
  differences of exactly that function.
* ``stacked``: S copies in one batched matmul compute S independent networks: no value
  and no gradient crosses the copies axis, and each copy is the network its own seed makes.
* ``ema``: the average follows its closed-form recursion with TensorFlow's ramp, and is
  used without ever touching the module's trained weights.

Gradient checks run in float64 on tiny networks (a few dozen parameters).
"""
import copy
import math
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigan
from minigan import nn
from minigan.gan import losses
from minigan.gan.ema import ExponentialMovingAverage
from minigan.gan.pacgan import pack
from minigan.gan.stacked import StackedLinear, stacked_mlp
from minigan.gan.unrolled import functional_call, sgd_step, unrolled_generator_loss
from tests.strategies import leaf

pytestmark = pytest.mark.ch04


def double(module):
    """``module`` with every parameter in float64, for finite differences."""
    for p in module.parameters():
        p.data = p.data.astype(np.float64)
    return module


def on_device(array):
    """A float32 host array moved to the suite's device (CuPy will not mix in NumPy arrays)."""
    return minigan.backend.asarray(array, dtype=np.float32)


def tiny_discriminator():
    """D: R^2 -> R, Linear(2, 3), Tanh, Linear(3, 1), in float64: smooth, 13 parameters."""
    return double(nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1)))


def snapshot(module):
    """(name, Parameter object, copy of its array) for every parameter."""
    return [(name, p, p.numpy().copy()) for name, p in module.named_parameters()]


def assert_unchanged(module, before):
    """The module holds the same Parameter objects as in ``before``, with the same values."""
    after = list(module.named_parameters())
    assert [name for name, _ in after] == [name for name, _, _ in before]
    for (_, p, values), (_, q) in zip(before, after):
        assert q is p
        np.testing.assert_array_equal(q.numpy(), values)


# --- PacGAN: pack --------------------------------------------------------------------------
@given(st.integers(1, 4), st.integers(1, 4), st.integers(1, 3), st.booleans())
def test_pack_puts_m_consecutive_samples_side_by_side(n, m, dim, as_tensor):
    """pack(x, m)[i] = concatenate(x[i m], ..., x[i m + m - 1]): shape (n, m dim), on
    Tensors and on arrays alike."""
    x = np.arange(n * m * dim, dtype=np.float64).reshape(n * m, dim)
    packed = pack(minigan.tensor(x) if as_tensor else x, m)
    packed = packed.numpy() if as_tensor else packed
    assert packed.shape == (n, m * dim)
    for i in range(n):
        np.testing.assert_array_equal(packed[i], np.concatenate(x[i * m:(i + 1) * m]))


def test_pack_packs_each_copy_of_a_stack_on_its_own():
    """Leading axes are kept: (S, m n, dim) -> (S, n, m dim), copy s = pack(x[s], m)."""
    x = minigan.randn(3, 8, 2)
    packed = pack(x, 4)
    assert packed.shape == (3, 2, 8)
    for s in range(3):
        np.testing.assert_array_equal(packed[s].numpy(), pack(x[s], 4).numpy())


def test_pack_with_m_1_is_a_plain_gan():
    """m = 1 leaves the samples as they are."""
    x = minigan.randn(5, 2)
    np.testing.assert_array_equal(pack(x, 1).numpy(), x.numpy())
    np.testing.assert_array_equal(pack(x.numpy(), 1), x.numpy())


def test_pack_takes_a_whole_number_given_as_a_float_on_arrays_too():
    """m = 2.0 passes the "positive integer" check, so it must work for NumPy arrays as
    well as Tensors (NumPy's reshape refuses float sides)."""
    x = np.arange(8.0).reshape(4, 2)
    np.testing.assert_array_equal(pack(x, 2.0), pack(x, 2))


@pytest.mark.parametrize("shape, m, message", [
    pytest.param((6, 2), 4, "a batch of 6 samples cannot be cut into packs of 4", id="6_by_4"),
    pytest.param((2, 5, 2), 2, "a batch of 5 samples cannot be cut into packs of 2",
                 id="stack_5_by_2"),
    pytest.param((6, 2), 0, "m must be a positive integer, got 0", id="m_0"),
    pytest.param((6, 2), -2, "m must be a positive integer", id="m_negative"),
    pytest.param((6, 2), 1.5, "m must be a positive integer, got 1.5", id="m_1.5"),
    pytest.param((6,), 2, r"expected samples of shape \(\.\.\., batch, dim\), got \(6,\)",
                 id="one_axis")])
def test_pack_refuses_what_it_cannot_pack(shape, m, message):
    """A batch that is not a multiple of m, an m that is not a positive integer, and
    samples without a feature axis are refused, each with a message that says why."""
    with pytest.raises(ValueError, match=message):
        pack(minigan.zeros(*shape), m)


def test_pack_sends_each_packs_gradient_to_its_own_samples():
    """pack is one reshape, so d/dx sum(W * pack(x)) is W reshaped back to x's shape: the
    gradient of pack i reaches samples i m .. i m + m - 1 and no others."""
    x = leaf(np.random.default_rng(0).standard_normal((6, 2)))
    weights = np.arange(12.0).reshape(2, 6)
    (pack(x, 3) * minigan.tensor(weights, dtype="float64")).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), weights.reshape(6, 2))
    y = leaf(np.zeros((6, 2)))
    pack(y, 3)[1].sum().backward()
    np.testing.assert_array_equal(y.grad.numpy(), [[0, 0]] * 3 + [[1, 1]] * 3)


# --- functional_call -----------------------------------------------------------------------
def test_functional_call_with_the_modules_own_parameters_is_the_module():
    """Given its own parameters (all or some), the module computes what it computes anyway."""
    net = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1))
    x = minigan.randn(4, 2)
    expected = net(x).numpy()
    own = dict(net.named_parameters())
    np.testing.assert_array_equal(functional_call(net, own, x).numpy(), expected)
    np.testing.assert_array_equal(functional_call(net, {"2.bias": own["2.bias"]}, x).numpy(),
                                  expected)
    np.testing.assert_array_equal(functional_call(net, {}, x).numpy(), expected)


def test_functional_call_uses_the_given_tensors():
    """The docstring's example: Linear with 2 W and 2 b computes 2 (x W^T + b); and a
    replaced weight is what the layer uses (compare x W'^T + b in NumPy)."""
    net = nn.Linear(2, 1)
    x = minigan.randn(4, 2)
    doubled = {name: 2 * p for name, p in net.named_parameters()}
    np.testing.assert_allclose(functional_call(net, doubled, x).numpy(), 2 * net(x).numpy(),
                               rtol=1e-6)
    w = np.array([[3.0, -1.0]], dtype=np.float32)
    np.testing.assert_allclose(functional_call(net, {"weight": minigan.tensor(w)}, x).numpy(),
                               x.numpy() @ w.T + net.bias.numpy(), rtol=1e-6)


def test_functional_call_is_differentiable_in_the_replacements():
    """The output depends on the stand-ins as on parameters: gradcheck in float64 over
    the weights and biases of both layers, and the module's own parameters get no gradient."""
    net = tiny_discriminator()
    x = leaf(np.random.default_rng(1).standard_normal((4, 2)), requires_grad=False)
    names = [name for name, _ in net.named_parameters()]
    stand_ins = [leaf(np.random.default_rng(2 + i).standard_normal(p.shape))
                 for i, (_, p) in enumerate(net.named_parameters())]

    def run(*tensors):
        return functional_call(net, dict(zip(names, tensors)), x)

    assert minigan.gradcheck(run, stand_ins)
    run(*stand_ins).sum().backward()
    assert all(p.grad is None for p in net.parameters())


def test_functional_call_puts_the_parameters_back_even_after_an_error():
    """Whether forward fails, a later name is bad or a shape is wrong, the module ends
    holding its own Parameter objects, unchanged."""
    class Failing(nn.Module):
        def __init__(self):
            super().__init__()
            self.layer = nn.Linear(2, 2)

        def forward(self, x):
            raise RuntimeError("forward failed")

    failing = Failing()
    before = snapshot(failing)
    with pytest.raises(RuntimeError, match="forward failed"):
        functional_call(failing, {"layer.weight": minigan.zeros(2, 2)}, minigan.zeros(1, 2))
    assert_unchanged(failing, before)

    net = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1))
    before = snapshot(net)
    with pytest.raises(KeyError):
        functional_call(net, {"0.weight": minigan.zeros(3, 2), "0.bias": minigan.zeros(3),
                              "5.weight": minigan.zeros(1, 3)}, minigan.zeros(1, 2))
    assert_unchanged(net, before)
    with pytest.raises(ValueError):
        functional_call(net, {"0.weight": minigan.zeros(3, 2), "2.weight": minigan.zeros(3, 1)},
                        minigan.zeros(1, 2))
    assert_unchanged(net, before)


@pytest.mark.parametrize("name", ["3.weight", "0.scale", "weight", "0.in_features",
                                  "training", "0", "1.bias.x"])
def test_functional_call_refuses_names_that_are_not_parameters(name):
    """A name that is not a tensor of the module (a missing layer or attribute, a child
    module, a setting like 'in_features') is a KeyError naming it, not a failure later."""
    net = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1))
    with pytest.raises(KeyError, match=f"Sequential has no parameter '{name}'"):
        functional_call(net, {name: minigan.zeros(3, 2)}, minigan.zeros(1, 2))


def test_functional_call_refuses_a_tensor_of_the_wrong_shape():
    """A stand-in must have its parameter's shape (a transposed weight would broadcast or
    fail deep inside the layer otherwise)."""
    net = nn.Sequential(nn.Linear(2, 3))
    with pytest.raises(ValueError, match=r"'0.weight' has shape \(3, 2\), got a tensor of "
                                         r"shape \(2, 3\)"):
        functional_call(net, {"0.weight": minigan.zeros(2, 3)}, minigan.zeros(1, 2))


# --- sgd_step ------------------------------------------------------------------------------
def least_squares(theta, x, y):
    """L = 1/2 ||x theta - y||^2, whose gradient in theta is x^T (x theta - y)."""
    return 0.5 * ((x @ theta - y) ** 2).sum()


def test_sgd_step_is_theta_minus_lr_times_the_gradient():
    """theta_1 = theta - lr x^T (x theta - y) for least squares; theta itself is unchanged
    and the new parameters are new Tensors in the graph."""
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((5, 3)), rng.standard_normal((5, 2))
    theta = rng.standard_normal((3, 2))
    b = rng.standard_normal(2)
    t, bias = leaf(theta), leaf(b)
    loss = (least_squares(t, leaf(x, requires_grad=False), leaf(y, requires_grad=False))
            + (bias ** 2).sum())
    new_theta, new_bias = sgd_step(loss, [t, bias], lr=0.1)
    np.testing.assert_allclose(new_theta.numpy(), theta - 0.1 * x.T @ (x @ theta - y), rtol=1e-12)
    np.testing.assert_allclose(new_bias.numpy(), b - 0.1 * 2 * b, rtol=1e-12)
    np.testing.assert_array_equal(t.numpy(), theta)
    assert new_theta.requires_grad and new_theta is not t
    assert t.grad is None   # a step reads gradients, it never accumulates them into .grad


def test_sgd_step_is_differentiable_to_second_order():
    """theta_1(theta, x) = theta - lr x^T (x theta - y) depends on the data x through the
    gradient; d theta_1 / dx is a second derivative of L, which only exists because the
    step was built with create_graph=True. Checked against finite differences."""
    rng = np.random.default_rng(4)
    y = leaf(rng.standard_normal((4, 2)), requires_grad=False)

    def step(theta, x):
        return sgd_step(least_squares(theta, x, y), [theta], lr=0.3)[0]

    theta, x = leaf(rng.standard_normal((3, 2))), leaf(rng.standard_normal((4, 3)))
    assert minigan.gradcheck(step, [theta, x])
    assert minigan.gradgradcheck(step, [theta, x])


# --- the unrolled generator loss -------------------------------------------------------------
def batches(seed, shape=(4, 2)):
    """A real batch (constant) and a fake batch (requires grad), float64."""
    rng = np.random.default_rng(seed)
    real = leaf(rng.standard_normal(shape) + 1.0, requires_grad=False)
    return real, leaf(rng.standard_normal(shape))


def explicit_unrolled_loss(discriminator, real, fake, steps, lr):
    """The reference: K steps of minigan.optim.SGD on a copy of D, with the discriminator
    loss of minigan.gan.losses (separate passes over real and fake), then the
    non-saturating generator loss against the copy. Plain numbers: no graph survives."""
    d = copy.deepcopy(discriminator)
    optimizer = minigan.optim.SGD(d.parameters(), lr=lr)
    fake = minigan.tensor(fake.numpy())
    for _ in range(steps):
        optimizer.zero_grad()
        losses.discriminator_loss(d(real), d(fake)).backward()
        optimizer.step()
    return losses.generator_loss_nonsaturating(d(fake)).item(), d


def central_differences(f, array, eps=1e-6):
    """df/darray by central differences, element by element."""
    estimate = np.zeros_like(array)
    for index in np.ndindex(*array.shape):
        plus, minus = array.copy(), array.copy()
        plus[index] += eps
        minus[index] -= eps
        estimate[index] = (f(plus) - f(minus)) / (2 * eps)
    return estimate


def test_zero_steps_is_the_plain_generator_loss():
    """K = 0 unrolls nothing: the value and the gradient in the fakes are those of the
    non-saturating loss -mean log D(G(z)) (or of the generator loss passed in)."""
    d = tiny_discriminator()
    real, fake = batches(5)
    unrolled = unrolled_generator_loss(d, real, fake, steps=0)
    plain = losses.generator_loss_nonsaturating(d(fake))
    assert unrolled.item() == pytest.approx(plain.item(), rel=1e-14)
    np.testing.assert_allclose(minigan.grad(unrolled, fake)[0].numpy(),
                               minigan.grad(plain, fake)[0].numpy(), rtol=1e-12)
    saturating = unrolled_generator_loss(d, real, fake, steps=0,
                                         generator_loss=losses.generator_loss_saturating)
    assert saturating.item() == pytest.approx(
        losses.generator_loss_saturating(d(fake)).item(), rel=1e-14)


@pytest.mark.parametrize("steps", [1, 3])
def test_unrolled_loss_is_the_loss_after_k_explicit_sgd_steps(steps):
    """L_G(theta_K): the same number as K steps of SGD on a copy of D, then L_G."""
    d = tiny_discriminator()
    real, fake = batches(6)
    expected, _ = explicit_unrolled_loss(d, real, fake, steps, lr=0.5)
    value = unrolled_generator_loss(d, real, fake, steps=steps, lr=0.5).item()
    assert value == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("steps", [1, 3])
def test_unrolled_gradient_matches_finite_differences_of_the_explicit_steps(steps):
    """d L_G(theta_K(x), x) / dx, by backward through the unrolled steps, equals central
    differences of the reference that *performs* K SGD steps for each perturbed x.

    It also differs from the gradient with D frozen at theta_K: the difference is the
    second term (dL_G/dtheta_K)(dtheta_K/dx), D's response to the move, which is what the
    unrolled GAN adds. Unrolling without create_graph would lose exactly that term.
    """
    d = tiny_discriminator()
    real, fake = batches(7)
    lr = 1.0
    (analytic,) = minigan.grad(unrolled_generator_loss(d, real, fake, steps=steps, lr=lr), fake)

    def reference(array):
        return explicit_unrolled_loss(d, real, minigan.tensor(array), steps, lr)[0]

    numerical = central_differences(reference, fake.numpy())
    np.testing.assert_allclose(analytic.numpy(), numerical, rtol=1e-5, atol=1e-8)

    _, d_k = explicit_unrolled_loss(d, real, fake, steps, lr)
    (frozen,) = minigan.grad(losses.generator_loss_nonsaturating(d_k(fake)), fake)
    # The response is 0.0035 (K = 1) and 0.035 (K = 3) here: hundreds of times the
    # tolerance above, so the match could not hold without it.
    assert np.abs(analytic.numpy() - frozen.numpy()).max() > 1e-3


def test_unrolled_gradient_reaches_the_generators_weights():
    """Through G(z) = z A^T + c, the unrolled loss is differentiable in G's parameters:
    gradcheck in float64 over A and c with K = 2 steps."""
    d = tiny_discriminator()
    g = double(nn.Linear(2, 2))
    rng = np.random.default_rng(8)
    real, z = leaf(rng.standard_normal((4, 2)), requires_grad=False), leaf(
        rng.standard_normal((4, 2)), requires_grad=False)

    def loss(weight, bias):
        fake = functional_call(g, {"weight": weight, "bias": bias}, z)
        return unrolled_generator_loss(d, real, fake, steps=2, lr=0.5)

    assert minigan.gradcheck(loss, [leaf(g.weight.numpy()), leaf(g.bias.numpy())])


def test_unrolling_leaves_the_discriminator_as_it_was():
    """D's own parameters are read, never changed: after the loss and its backward, D
    holds the same Parameter objects with the same values (only their .grad is filled)."""
    d = tiny_discriminator()
    real, fake = batches(9)
    before = snapshot(d)
    loss = unrolled_generator_loss(d, real, fake, steps=3, lr=0.5)
    assert_unchanged(d, before)
    loss.backward()
    assert_unchanged(d, before)
    assert fake.grad is not None and all(p.grad is not None for p in d.parameters())


def test_a_stack_of_discriminators_unrolls_each_copy_as_if_alone():
    """With a stack of S discriminators and batches (S, n, dim), copy s takes the SGD steps
    it would take alone: the stacked loss is the mean of the S single unrolled losses,
    and so are the gradients (times 1 / S). A step on the mean over the copies, which
    the plain losses compute, would shrink every copy's step to lr / S."""
    copies, steps, lr = 3, 3, 0.5
    d = double(stacked_mlp(copies, (2, 4, 1), generators=[np.random.default_rng(s)
                                                          for s in range(copies)]))
    real, fake = batches(10, shape=(copies, 4, 2))
    stacked_loss = unrolled_generator_loss(d, real, fake, steps=steps, lr=lr)
    (stacked_grad,) = minigan.grad(stacked_loss, fake)
    singles = []
    for s in range(copies):
        alone = double(stacked_mlp(1, (2, 4, 1), generators=[np.random.default_rng(s)]))
        fake_s = leaf(fake.numpy()[s:s + 1])
        loss_s = unrolled_generator_loss(alone, real[s:s + 1], fake_s, steps=steps, lr=lr)
        (grad_s,) = minigan.grad(loss_s, fake_s)
        np.testing.assert_allclose(stacked_grad.numpy()[s:s + 1] * copies, grad_s.numpy(),
                                   rtol=1e-10, atol=1e-14)
        singles.append(loss_s.item())
    assert stacked_loss.item() == pytest.approx(np.mean(singles), rel=1e-12)


def test_negative_steps_are_refused():
    """K < 0 has no meaning."""
    real, fake = batches(11)
    with pytest.raises(ValueError, match="steps must be >= 0, got -1"):
        unrolled_generator_loss(tiny_discriminator(), real, fake, steps=-1)


# --- StackedLinear and stacked_mlp ------------------------------------------------------------
def test_copy_s_is_a_plain_affine_map_with_its_own_weights():
    """y[s] = x[s] @ weight[s] + bias[s], checked against NumPy for every copy."""
    layer = StackedLinear(3, 4, 5)
    assert layer.weight.shape == (3, 4, 5) and layer.bias.shape == (3, 1, 5)
    x = minigan.randn(3, 6, 4)
    y = layer(x)
    assert y.shape == (3, 6, 5)
    w, b = layer.weight.numpy().astype(np.float64), layer.bias.numpy().astype(np.float64)
    for s in range(3):
        np.testing.assert_allclose(y.numpy()[s], x.numpy()[s] @ w[s] + b[s], rtol=1e-5, atol=1e-6)


def test_stacked_linear_gradients_agree_with_finite_differences():
    """gradcheck in float64 over the input, the weights and the biases of all copies."""
    layer = double(StackedLinear(2, 3, 2))
    rng = np.random.default_rng(12)
    x = leaf(rng.standard_normal((2, 4, 3)))

    def run(x, weight, bias):
        return functional_call(layer, {"weight": weight, "bias": bias}, x)

    assert minigan.gradcheck(run, [x, leaf(layer.weight.numpy()), leaf(layer.bias.numpy())])


def test_no_gradient_crosses_the_copies_axis():
    """A loss on copy 0's output leaves exactly zero gradient in every other copy's
    weights, biases and inputs, and copy 0 gets x[0]^T 1 (its own gradient)."""
    layer = StackedLinear(3, 4, 2)
    x = minigan.tensor(np.random.default_rng(13).standard_normal((3, 5, 4)), dtype="float32",
                       requires_grad=True)
    layer(x)[0].sum().backward()
    for tensor in (layer.weight, layer.bias, x):
        assert np.all(tensor.grad.numpy()[1:] == 0)
        assert np.any(tensor.grad.numpy()[0] != 0)
    np.testing.assert_allclose(layer.weight.grad.numpy()[0],
                               x.numpy()[0].T @ np.ones((5, 2)), rtol=1e-6)
    np.testing.assert_allclose(layer.bias.grad.numpy()[0], [[5.0, 5.0]])


def test_copies_are_the_networks_their_seeds_make():
    """Copies drawn from generators seeded alike are identical, from other seeds they
    differ; and copy s of a stacked MLP is the stack of one built from seed s alone."""
    layer = StackedLinear(3, 4, 5, generators=[np.random.default_rng(s) for s in (7, 7, 8)])
    w, b = layer.weight.numpy(), layer.bias.numpy()
    np.testing.assert_array_equal(w[0], w[1])
    np.testing.assert_array_equal(b[0], b[1])
    assert not np.array_equal(w[0], w[2]) and not np.array_equal(b[0], b[2])
    sizes = (2, 6, 6, 1)
    stack = stacked_mlp(3, sizes, generators=[np.random.default_rng(s) for s in (1, 2, 3)])
    for s, seed in enumerate((1, 2, 3)):
        alone = stacked_mlp(1, sizes, generators=[np.random.default_rng(seed)])
        for (name, p), (_, q) in zip(stack.named_parameters(), alone.named_parameters()):
            np.testing.assert_array_equal(p.numpy()[s], q.numpy()[0], err_msg=name)


def test_without_generators_copies_differ_and_follow_manual_seed():
    """Without generators every copy draws from minigan's generator: the copies differ
    from one another, and the same manual_seed gives the same stack."""
    minigan.manual_seed(5)
    first = StackedLinear(2, 3, 4).weight.numpy()
    minigan.manual_seed(5)
    np.testing.assert_array_equal(StackedLinear(2, 3, 4).weight.numpy(), first)
    assert not np.array_equal(first[0], first[1])


def test_stacked_linear_initialises_like_pytorchs_linear():
    """weight and bias ~ U(-1/sqrt(in), 1/sqrt(in)): within the bound, and filling it
    (the largest of 6,400 uniform draws is within 2% of the bound unless p < 1e-28),
    with mean 0 and variance bound^2 / 3 (tolerances over 6 standard errors)."""
    layer = StackedLinear(2, 16, 200, generators=[np.random.default_rng(s) for s in (0, 1)])
    bound = 1 / math.sqrt(16)
    w = layer.weight.numpy().astype(np.float64).ravel()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.98 * bound
    assert np.abs(layer.bias.numpy()).max() <= bound
    assert abs(w.mean()) < 6 * bound / math.sqrt(3 * w.size)
    assert w.var() == pytest.approx(bound ** 2 / 3, rel=6 * math.sqrt(0.8 / w.size))


@pytest.mark.parametrize("shape", [(2, 5, 4), (3, 5, 3), (5, 4), (3, 1, 5, 4)])
def test_stacked_linear_refuses_inputs_of_the_wrong_shape(shape):
    """The input must be (S, N, in); the message says what was expected and what came."""
    layer = StackedLinear(3, 4, 2)
    expected = re.escape(f"expected input of shape (3, N, 4), got {shape}")
    with pytest.raises(ValueError, match=expected):
        layer(minigan.zeros(*shape))


def test_one_generator_per_copy():
    """Two generators for three copies is a mistake, not a silent reuse."""
    with pytest.raises(ValueError, match="got 2 generators for 3 copies"):
        StackedLinear(3, 4, 2, generators=[np.random.default_rng(0)] * 2)


@pytest.mark.parametrize("activation, kind, slope", [
    ("relu", nn.ReLU, None), ("leaky_relu", nn.LeakyReLU, 0.2)])
def test_stacked_mlp_alternates_layers_and_activations(activation, kind, slope):
    """(2, 8, 8, 1): three StackedLinear layers with the activation between them and none
    after the last, widths as listed, and the output (S, N, 1)."""
    net = stacked_mlp(4, (2, 8, 8, 1), activation=activation)
    layers = list(net.children())
    assert [type(m) for m in layers] == [StackedLinear, kind, StackedLinear, kind, StackedLinear]
    assert [(m.in_features, m.out_features) for m in layers[::2]] == [(2, 8), (8, 8), (8, 1)]
    if slope is not None:
        assert all(m.negative_slope == slope for m in layers[1::2])
    assert net(minigan.randn(4, 7, 2)).shape == (4, 7, 1)


def test_stacked_mlp_refuses_an_unknown_activation():
    """Only 'relu' and 'leaky_relu' are offered; the message lists them."""
    with pytest.raises(ValueError, match=r"activation must be one of \['leaky_relu', 'relu'\], "
                                         r"got 'tanh'"):
        stacked_mlp(2, (2, 4, 1), activation="tanh")


# --- the exponential moving average -----------------------------------------------------------
@pytest.mark.parametrize("decay", [0.0, 0.5, 0.9, 0.999])
def test_ema_follows_its_recursion_with_the_ramp(decay):
    """After updates t = 0, 1, ..., T - 1 the average is the recursion
    a <- beta_t a + (1 - beta_t) theta_t with beta_t = min(decay, (1 + t) / (10 + t)),
    starting from the initial weights, computed here in NumPy for 25 random weight sequences."""
    net = nn.Linear(3, 2)
    ema = ExponentialMovingAverage(net, decay=decay)
    rng = np.random.default_rng(14)
    expected = {name: p.numpy().astype(np.float64) for name, p in net.named_parameters()}
    for t in range(25):
        beta = min(decay, (1 + t) / (10 + t))
        for name, p in net.named_parameters():
            p.data[...] = on_device(rng.standard_normal(p.shape))
            expected[name] = beta * expected[name] + (1 - beta) * p.numpy()
        ema.update()
    for name, average in ema.parameters().items():
        np.testing.assert_allclose(average.numpy(), expected[name], rtol=1e-5, atol=1e-6)


def test_ema_first_steps_by_hand():
    """The ramp in numbers: the first update keeps 1/10 of the start (beta_0 = 0.1), the
    second 2/11; a weight held constant stays its own average."""
    net = nn.Linear(1, 1)
    net.weight.data[...] = 0.0
    net.bias.data[...] = 3.0
    ema = ExponentialMovingAverage(net, decay=0.999)
    net.weight.data[...] = 1.0
    ema.update()
    assert ema.parameters()["weight"].item() == pytest.approx(0.9, rel=1e-6)
    net.weight.data[...] = 2.0
    ema.update()
    assert ema.parameters()["weight"].item() == pytest.approx(2 / 11 * 0.9 + 9 / 11 * 2.0,
                                                              rel=1e-6)
    assert ema.parameters()["bias"].item() == pytest.approx(3.0, rel=1e-7)


def test_ema_keeps_its_own_copy_of_the_weights():
    """An optimizer changes weights in place; the average must not move with them until
    update() is called."""
    net = nn.Linear(2, 2)
    start = net.weight.numpy().copy()
    ema = ExponentialMovingAverage(net)
    net.weight.data += 1.0
    np.testing.assert_array_equal(ema.parameters()["weight"].numpy(), start)


@pytest.mark.parametrize("decay", [-0.1, 1.0, 1.5, float("nan")])
def test_ema_refuses_a_decay_outside_0_1(decay):
    """decay = 1 would never move; negative or NaN decays are not averages."""
    with pytest.raises(ValueError, match="decay must be in"):
        ExponentialMovingAverage(nn.Linear(2, 2), decay=decay)


def test_ema_call_is_the_module_with_the_averaged_weights():
    """ema(z) equals the module after loading the averages into a copy of it; the
    module's own weights are untouched and get no gradient from ema(z)."""
    net = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 2))
    ema = ExponentialMovingAverage(net, decay=0.9)
    rng = np.random.default_rng(15)
    for _ in range(5):
        for p in net.parameters():
            p.data += on_device(rng.standard_normal(p.shape))
        ema.update()
    before = snapshot(net)
    z = minigan.randn(6, 2)
    averaged = copy.deepcopy(net)
    averaged.load_state_dict({name: a.numpy() for name, a in ema.parameters().items()})
    out = ema(z)
    np.testing.assert_allclose(out.numpy(), averaged(z).numpy(), rtol=1e-6)
    assert not np.allclose(out.numpy(), net(z).numpy(), atol=1e-3)
    assert not out.requires_grad
    assert_unchanged(net, before)
