"""The backward pass itself: how gradients are accumulated, returned, recorded and freed.

test_ops.py checks that each operation's backward is right; this file checks the
engine that chains them: the multivariate chain rule over a whole graph, PyTorch's
conventions for ``.grad``, higher-order gradients with ``create_graph=True``, and the
bookkeeping (``no_grad``, ``detach``, ``retain_graph``, freeing memory).
"""
import gc
import weakref

import numpy
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigan
from tests.strategies import anywhere, leaf, positive, shapes, values

pytestmark = pytest.mark.ch00


def graph_nodes(output):
    """Every Function node that ``output`` was computed through (walked without recursion)."""
    nodes, stack, seen = [], [output.creator], set()
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        nodes.append(node)
        stack.extend(x.creator for x in node.inputs)
    return nodes


# --- the chain rule over a graph -------------------------------------------------------------
@given(array=shapes().flatmap(anywhere))
def test_diamond_graph_sums_both_paths(array):
    """When x feeds two branches that meet again, dL/dx is the sum over both paths.

    For h = tanh(x) and y = h * h + h (h is used twice, once in each branch),
    dy/dx = (2 h + 1)(1 - h^2). An engine that lets the second path overwrite the
    first, or that runs tanh's backward before both contributions to dL/dh have
    arrived, gets a different number.
    """
    x = leaf(array)
    h = minigan.tanh(x)
    (h * h + h).sum().backward()
    t = numpy.tanh(array)
    numpy.testing.assert_allclose(x.grad.numpy(), (2 * t + 1) * (1 - t * t), rtol=1e-12)


def test_input_used_twice_in_one_op_gets_both_gradients():
    """x * x has two inputs that are the same tensor: d(x^2)/dx = x + x, not x."""
    x = leaf([3.0, -2.0])
    (x * x).sum().backward()
    numpy.testing.assert_array_equal(x.grad.numpy(), [6.0, -4.0])


def test_deep_chain_does_not_overflow_the_stack():
    """A chain of 5000 operations backpropagates, with the exact gradient.

    A recursive topological sort (micrograd's) needs one Python stack frame per
    node and raises RecursionError long before 5000. The engine's heap-ordered loop
    needs none. Here y = x * c^5000, so dy/dx = c^5000.
    """
    x = leaf([1.0])
    y, c = x, 1.0001
    for _ in range(5000):
        y = y * c
    y.sum().backward()
    numpy.testing.assert_allclose(x.grad.numpy(), [c ** 5000], rtol=1e-10)
    (g,) = minigan.grad(x.exp().sum() + sum_of_chain(x, 5000), x)
    numpy.testing.assert_allclose(g.numpy(), numpy.exp([1.0]) + 5000, rtol=1e-10)


def sum_of_chain(x, length):
    """x + x + ... + x (length terms), built as a chain of ``length`` additions."""
    total = x.sum()
    for _ in range(length - 1):
        total = total + x.sum()
    return total


def test_backward_with_an_explicit_gradient_is_a_vector_jacobian_product():
    """y.backward(g) for a non-scalar y gives x.grad = g^T dy/dx.

    For y = 2 x elementwise the Jacobian is 2 I, so x.grad = 2 g.
    """
    x = leaf([1.0, 2.0, 3.0])
    (2 * x).backward(minigan.tensor(numpy.array([1.0, -1.0, 0.5])))
    numpy.testing.assert_array_equal(x.grad.numpy(), [2.0, -2.0, 1.0])


def test_gradient_of_an_intermediate_tensor():
    """minigan.grad can differentiate with respect to a tensor inside the graph.

    For h = 3 x and y = sum(h^2), dy/dh = 2 h, whatever h was computed from.
    """
    x = leaf([1.0, 2.0])
    h = 3 * x
    (dh,) = minigan.grad((h * h).sum(), h)
    numpy.testing.assert_array_equal(dh.numpy(), [6.0, 12.0])


# --- .grad, backward and minigan.grad ---------------------------------------------------
def test_gradients_accumulate_across_backward_calls():
    """Two backward calls add their gradients into .grad, as in PyTorch.

    Accumulation is what lets a batch be split into micro-batches; it is also why
    a training loop must reset .grad (optimizer.zero_grad()) before each step.
    """
    x = leaf([1.0, 2.0])
    (x * x).sum().backward()
    (x * x * x).sum().backward()
    numpy.testing.assert_allclose(x.grad.numpy(), [2 + 3, 4 + 12])


def test_grad_returns_fresh_gradients_and_leaves_dot_grad_alone():
    """minigan.grad returns dL/dx and writes no .grad, neither on x nor on other leaves.

    A gradient penalty calls minigan.grad in the middle of a training step; if it
    also wrote into .grad, the critic's parameters would get the penalty's inner
    gradient added to their real one.
    """
    x, w = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    (w * x).sum().backward()              # x.grad = w, w.grad = x
    (gx, gw) = minigan.grad((w * x * x).sum(), [x, w])
    numpy.testing.assert_array_equal(gx.numpy(), [6.0, 16.0])
    numpy.testing.assert_array_equal(gw.numpy(), [1.0, 4.0])
    numpy.testing.assert_array_equal(x.grad.numpy(), [3.0, 4.0])
    numpy.testing.assert_array_equal(w.grad.numpy(), [1.0, 2.0])


def test_grad_on_a_fresh_leaf_leaves_grad_none():
    """After minigan.grad alone, a leaf's .grad is still None."""
    x = leaf([1.0, 2.0])
    minigan.grad((x * x).sum(), x)
    assert x.grad is None


def test_grad_with_allow_unused_returns_none_for_unused_inputs():
    """An input the output does not depend on gets None (not zeros) with allow_unused=True.

    None tells the caller "no path", which zeros would hide; without the flag the
    same call is an error (see test_errors.py), because it is usually a bug.
    """
    x, unused = leaf([1.0, 2.0]), leaf([5.0])
    gx, g_unused = minigan.grad((x * x).sum(), [x, unused], allow_unused=True)
    numpy.testing.assert_array_equal(gx.numpy(), [2.0, 4.0])
    assert g_unused is None


class Tripwire(minigan.Function):
    """The identity, with a backward that must never run."""

    def forward(self, xp, x):
        return x

    def backward(self, grad, needs_input_grad):
        raise AssertionError("backward ran for a branch that does not lead to the inputs")


def test_grad_skips_branches_that_do_not_lead_to_the_inputs():
    """minigan.grad with respect to x runs the backward of only those ops between the
    output and x: the gradient for another parameter is neither needed nor computed.

    A gradient penalty asks for d critic / d input only; computing (and, with
    create_graph, recording) the gradients of every weight as well would waste time
    and memory.
    """
    x, w = leaf([1.0, 2.0]), leaf([3.0])
    loss = (x * x).sum() + Tripwire.apply(w * w).sum()
    (gx,) = minigan.grad(loss, x)
    numpy.testing.assert_array_equal(gx.numpy(), [2.0, 4.0])


class Watched(minigan.Function):
    """The identity, whose recorded inputs must not be read while ``armed``."""

    armed = False

    def forward(self, xp, x):
        return x

    def backward(self, grad, needs_input_grad):
        return grad

    @property
    def inputs(self):
        if Watched.armed:
            raise AssertionError("the walk went into the graph below the targets")
        return self._inputs

    @inputs.setter
    def inputs(self, value):
        self._inputs = value


def test_grad_does_not_walk_the_graph_below_its_targets():
    """Asked for d loss / d theta, where theta was made by earlier operations, minigan.grad
    does not look at those operations: nothing below theta can lead to theta.

    The unrolled GAN asks this at every one of its K steps, for the parameters made by
    the step before; walking the whole history each time would cost K^2 node visits.
    """
    x = leaf([1.0, 2.0])
    theta = Watched.apply(x * x) * 3.0           # theta = 3 x^2 = [3, 12]
    loss = (theta * theta).sum()
    Watched.armed = True
    try:
        (g_theta,) = minigan.grad(loss, theta, retain_graph=True)
    finally:
        Watched.armed = False
    numpy.testing.assert_array_equal(g_theta.numpy(), [6.0, 24.0])
    (gx,) = minigan.grad(loss, x)                 # and through it, all the way: 36 x^3
    numpy.testing.assert_array_equal(gx.numpy(), [36.0, 288.0])


def test_grad_with_targets_that_depend_on_each_other():
    """For targets x and b = x^2 of loss = b x, d loss / dx counts the path through b too
    (x^2 + 2 x^2 = 3 x^2), as in PyTorch, and d loss / db = x."""
    x = leaf([1.0, 2.0])
    b = x * x
    gx, gb = minigan.grad((b * x).sum(), [x, b])
    numpy.testing.assert_array_equal(gx.numpy(), [3.0, 12.0])
    numpy.testing.assert_array_equal(gb.numpy(), [1.0, 2.0])


def test_retain_graph_allows_a_second_backward():
    """With retain_graph=True the graph survives backward, and a second backward through
    it gives the same gradient again (so .grad doubles)."""
    x = leaf([1.0, 2.0])
    y = (minigan.exp(x) * x).sum()
    y.backward(retain_graph=True)
    first = x.grad.numpy().copy()
    y.backward()
    numpy.testing.assert_allclose(x.grad.numpy(), 2 * first, rtol=1e-12)


def test_backward_releases_the_inputs_of_every_node():
    """After backward without retain_graph, every Function node has dropped its inputs.

    Saved inputs are what keeps intermediate activations alive; a training loop
    that kept them after each step would run out of memory within a few steps.
    """
    x = leaf(numpy.ones((2, 3)))
    y = (minigan.tanh(x @ leaf(numpy.ones((3, 2)))) ** 2).mean()
    nodes = graph_nodes(y)
    assert len(nodes) >= 4
    y.backward()
    assert all(node.inputs is None for node in nodes)


def test_retain_graph_keeps_the_inputs_of_every_node():
    """With retain_graph=True nothing is released (the counterpart of the test above)."""
    x = leaf(numpy.ones(3))
    y = minigan.exp(x * 2).sum()
    nodes = graph_nodes(y)
    y.backward(retain_graph=True)
    assert all(node.inputs is not None for node in nodes)


def test_intermediate_activations_are_freed_after_backward():
    """Once backward has run and the loss is dropped, no intermediate tensor stays alive.

    A weak reference does not keep its target alive, so it goes dead exactly when
    nothing else refers to the intermediate tensor any more.
    """
    x = leaf(numpy.ones(3))
    hidden = minigan.tanh(x * 2)
    alive = weakref.ref(hidden)
    loss = (hidden * hidden).sum()
    del hidden
    loss.backward()
    del loss
    gc.collect()
    assert alive() is None


# --- higher-order gradients ------------------------------------------------------------------
@given(array=shapes().flatmap(anywhere))
def test_derivatives_of_a_cube_to_third_order(array):
    """For y = x^3: dy/dx = 3 x^2, d2y/dx2 = 6 x, d3y/dx3 = 6, all exact.

    create_graph=True records the backward pass, so each gradient is a Tensor in a
    graph that minigan.grad can differentiate again.
    """
    x = leaf(array)
    (d1,) = minigan.grad((x ** 3).sum(), x, create_graph=True)
    (d2,) = minigan.grad(d1.sum(), x, create_graph=True)
    (d3,) = minigan.grad(d2.sum(), x)
    numpy.testing.assert_allclose(d1.numpy(), 3 * array ** 2, rtol=1e-12)
    numpy.testing.assert_allclose(d2.numpy(), 6 * array, rtol=1e-12)
    numpy.testing.assert_allclose(d3.numpy(), numpy.full(array.shape, 6.0), rtol=1e-12)


def test_without_create_graph_the_gradient_is_a_constant():
    """Without create_graph the gradient is recorded by nothing: it does not require
    grad, so it costs no memory and cannot be differentiated by accident."""
    x = leaf([1.0, 2.0])
    (g,) = minigan.grad((x ** 3).sum(), x)
    assert not g.requires_grad and g.creator is None


def test_backward_with_create_graph_gives_a_differentiable_dot_grad():
    """x.backward(create_graph=True) leaves an x.grad that is still in a graph:
    differentiating it again gives the second derivative (here 6 x for x^3)."""
    x = leaf([1.0, -2.0])
    (x ** 3).sum().backward(create_graph=True)
    assert x.grad.requires_grad
    (second,) = minigan.grad(x.grad.sum(), x)
    numpy.testing.assert_allclose(second.numpy(), [6.0, -12.0], rtol=1e-12)


def scalar_function(x, w):
    """f(x) = sum(tanh(W x)^2) + sum(x^3) / 3: smooth, with a dense Hessian."""
    return (minigan.tanh(w @ x) ** 2).sum() + (x ** 3).sum() * (1 / 3)


@settings(max_examples=20)
@given(data=st.data())
def test_hessian_vector_product_matches_finite_differences(data):
    """H v = d/dx <grad f(x), v> equals (grad f(x + eps v) - grad f(x - eps v)) / (2 eps).

    The left side is two backward passes (the second through the first); the right
    side only needs first derivatives, so it is an independent check.
    """
    n = data.draw(st.integers(1, 4))
    x0, v, w = data.draw(anywhere((n,))), data.draw(anywhere((n,))), data.draw(anywhere((3, n)))
    x, w = leaf(x0), leaf(w, requires_grad=False)
    (g,) = minigan.grad(scalar_function(x, w), x, create_graph=True)
    (hv,) = minigan.grad((g * minigan.tensor(v)).sum(), x)

    def gradient_at(point):
        p = leaf(point)
        return minigan.grad(scalar_function(p, w), p)[0].numpy()

    eps = 1e-5
    estimate = (gradient_at(x0 + eps * v) - gradient_at(x0 - eps * v)) / (2 * eps)
    numpy.testing.assert_allclose(hv.numpy(), estimate, rtol=1e-5, atol=1e-7)


def gradient_penalty(w1, b, w2, x):
    """WGAN-GP's term mean((||d critic(x) / dx|| - 1)^2) over the batch.

    critic(x) = sum(tanh(leaky_relu(x W1 + b) W2)): every op the issue lists for
    second order (matmul, a broadcast bias, leaky_relu, tanh, pow, sqrt, sum, mean)
    is on the path that gets differentiated twice.
    """
    hidden = minigan.ops.leaky_relu(x @ w1 + b, 0.2)
    critic = minigan.tanh(hidden @ w2).sum()
    (g,) = minigan.grad(critic, x, create_graph=True)
    norm = minigan.sqrt((g ** 2).sum(axis=1))
    return ((norm - 1) ** 2).mean()


@settings(max_examples=10)
@given(data=st.data())
def test_gradient_of_a_gradient_norm_matches_finite_differences(data):
    """d/dW of the gradient penalty (a function of d critic / dx) is exact.

    The critic's weights reach the penalty only through the input gradient, so
    every backward in the critic must be differentiable again for this to hold.
    """
    batch, features, hidden = (data.draw(st.integers(1, 3)) for _ in range(3))
    # Positive inputs, weight columns of alternating sign and a small bias keep every
    # hidden unit at least 0.01 from leaky_relu's kink (both sides are used once
    # hidden > 1), so finite differences never straddle it. Giving W2's rows the
    # same signs makes every path to the input gradient positive: its norm is never
    # 0, where sqrt is not differentiable.
    x = data.draw(values((batch, features), low=0.3, high=2.0))
    signs = numpy.where(numpy.arange(hidden) % 2 == 0, 1.0, -1.0)
    w1 = data.draw(values((features, hidden), low=0.2, high=1.0)) * signs
    b = data.draw(values((hidden,), low=-0.05, high=0.05))
    w2 = data.draw(values((hidden, 2), low=0.2, high=1.0)) * signs[:, None]
    assert minigan.gradcheck(lambda *params: gradient_penalty(*params, leaf(x)),
                             [leaf(w1), leaf(b), leaf(w2)])


# --- what is recorded ------------------------------------------------------------------------
def test_results_require_grad_exactly_when_an_input_does():
    """An op on constants is a constant; one input that requires grad makes a node."""
    constant, x = leaf([1.0], requires_grad=False), leaf([1.0])
    assert not (constant * 2).requires_grad and (constant * 2).creator is None
    assert (constant * x).requires_grad and not (constant * x).is_leaf


def test_no_grad_records_nothing():
    """Under no_grad results do not require grad and remember no creator.

    That is what makes sampling and optimizer updates cheap: no graph means no
    saved inputs, so every intermediate is freed as soon as it is unused.
    """
    x = leaf([1.0, 2.0])
    with minigan.no_grad():
        assert not minigan.is_grad_enabled()
        y = (minigan.exp(x) * x).sum()
    assert not y.requires_grad and y.creator is None
    assert minigan.is_grad_enabled()


def test_no_grad_works_as_a_decorator():
    """@minigan.no_grad() turns recording off for every call of the function, and only
    inside it."""
    @minigan.no_grad()
    def sample(x):
        return minigan.tanh(x * 3)

    x = leaf([0.5])
    for _ in range(2):   # a decorator must work on every call, not just the first
        assert not sample(x).requires_grad
        assert minigan.is_grad_enabled()
    assert minigan.tanh(x).requires_grad


def test_no_grad_restores_recording_after_an_exception():
    """An exception inside no_grad does not leave recording switched off."""
    with pytest.raises(ZeroDivisionError):
        with minigan.no_grad():
            1 / 0
    assert minigan.is_grad_enabled()


def test_enable_grad_records_inside_no_grad():
    """enable_grad re-enables recording inside no_grad, and no_grad wins again after it.

    A function that needs gradients (a gradient penalty) can then be called from
    code that runs under no_grad, such as an evaluation loop.
    """
    x = leaf([1.0])
    with minigan.no_grad():
        with minigan.enable_grad():
            assert (x * 2).requires_grad
        assert not (x * 2).requires_grad


def test_detach_cuts_the_graph():
    """x.detach() has the same values but is a constant leaf: no gradient flows through it.

    For y = x.detach() * x, only the second factor carries a gradient, so
    dy/dx = x (rather than 2 x for x * x).
    """
    x = leaf([3.0, -1.0])
    d = x.detach()
    assert not d.requires_grad and d.is_leaf
    numpy.testing.assert_array_equal(d.numpy(), x.numpy())
    (d * x).sum().backward()
    numpy.testing.assert_array_equal(x.grad.numpy(), [3.0, -1.0])


def test_detached_output_does_not_reach_the_leaves():
    """The GAN generator step trick: a detached sample trains the critic, not the generator."""
    w = leaf([2.0])
    sample = (w * 3).detach()
    loss = (sample * leaf([1.0])).sum()
    loss.backward()
    assert w.grad is None


# --- dtypes ---------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_whole_graph_keeps_its_dtype(dtype):
    """A small network in float32 (or float64) gives a loss and gradients of that dtype,
    at every order: the second derivative of a float32 graph is float32 too."""
    x = leaf(numpy.linspace(0.5, 1.5, 6).reshape(2, 3), dtype=dtype)
    w = leaf(numpy.linspace(-1, 1, 12).reshape(3, 4), dtype=dtype)
    loss = (minigan.sigmoid(x @ w) ** 2).mean() + minigan.log(x).sum() - minigan.sqrt(x).var()
    assert loss.dtype == dtype
    (gx,) = minigan.grad(loss, x, create_graph=True)
    (gw,) = minigan.grad((gx ** 2).sum(), w)
    assert (gx.dtype, gw.dtype) == (numpy.dtype(dtype),) * 2


@settings(max_examples=10)
@given(array=shapes().flatmap(positive))
def test_float32_gradients_agree_with_float64(array):
    """The same computation in float32 and float64 gives gradients equal to float32
    precision: float32 is the training dtype and must not be a different function."""
    results = []
    for dtype in ("float32", "float64"):
        x = leaf(array, dtype=dtype)
        (minigan.log(x) * minigan.sqrt(x) + minigan.tanh(x)).sum().backward()
        results.append(x.grad.numpy())
    numpy.testing.assert_allclose(results[0], results[1], rtol=1e-5, atol=1e-6)


def test_each_leaf_grad_is_a_private_writable_array():
    """Two leaves never share one .grad array, and every .grad can be updated in place.

    x + y hands the same upstream gradient to both operands, and a broadcast bias's
    gradient starts as a read-only view; gradient clipping done in place would otherwise
    scale one array twice or fail.
    """
    x = minigan.ones(3, requires_grad=True)
    y = minigan.ones(3, requires_grad=True)
    bias = minigan.ones(3, requires_grad=True)
    ((x + y) + minigan.ones(2, 3) * bias).sum().backward()
    assert x.grad.data is not y.grad.data
    for leaf in (x, y, bias):
        leaf.grad.data *= 0.5          # must not raise on a read-only view
    numpy.testing.assert_allclose(x.grad.numpy(), [1.0, 1.0, 1.0])
    numpy.testing.assert_allclose(y.grad.numpy(), [1.0, 1.0, 1.0])
    numpy.testing.assert_allclose(bias.grad.numpy(), [1.0, 1.0, 1.0])
