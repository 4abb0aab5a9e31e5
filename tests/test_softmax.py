"""log_softmax, softmax and cross_entropy: the classifier's kernels (the feature network of the metrics).

They are compositions of primitives, so their gradients of every order follow from the
pieces; these tests check the values against SciPy, the gradients against finite
differences, the stability at huge logits, and the errors.
"""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.special import log_softmax as scipy_log_softmax

import minigan
import minigan.nn.functional as F


def logits(rows, columns, scale=3.0, seed=0):
    values = np.random.default_rng(seed).standard_normal((rows, columns)) * scale
    return minigan.tensor(values, dtype="float64", requires_grad=True)


@given(st.integers(1, 5), st.integers(1, 6), st.integers(0, 1), st.integers(0, 10_000))
def test_log_softmax_matches_scipy(rows, columns, axis, seed):
    """log softmax(x)_i = x_i - logsumexp(x) along the axis, as scipy.special computes it."""
    x = logits(rows, columns, seed=seed)
    np.testing.assert_allclose(F.log_softmax(x, axis=axis).numpy(),
                               scipy_log_softmax(x.numpy(), axis=axis), rtol=1e-12, atol=1e-12)


def test_softmax_rows_are_distributions():
    """softmax gives positive numbers summing to 1 along the axis."""
    p = F.softmax(logits(4, 7)).numpy()
    assert np.all(p > 0)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-12)


def test_log_softmax_is_exact_at_huge_logits():
    """Logits of +-1e4 in float32: exp(1e4) overflows, the shifted form does not."""
    x = minigan.tensor([[1e4, 0.0, -1e4]], dtype="float32")
    np.testing.assert_array_equal(F.log_softmax(x).numpy(), [[0.0, -1e4, -2e4]])
    assert F.log_softmax(x).dtype == np.float32


def test_cross_entropy_is_the_mean_negative_log_probability_of_the_label():
    """loss = mean_n -log softmax(logits_n)[y_n]; 'sum' and 'none' reduce accordingly."""
    x, y = logits(5, 4), np.array([0, 3, 1, 1, 2])
    expected = -scipy_log_softmax(x.numpy(), axis=1)[np.arange(5), y]
    assert F.cross_entropy(x, y).item() == pytest.approx(expected.mean(), rel=1e-12)
    assert F.cross_entropy(x, y, reduction="sum").item() == pytest.approx(expected.sum(), rel=1e-12)
    np.testing.assert_allclose(F.cross_entropy(x, y, reduction="none").numpy(), expected, rtol=1e-12)


def test_cross_entropy_gradient_is_softmax_minus_onehot():
    """d mean_n loss_n / d logits = (softmax(logits) - onehot(y)) / N."""
    x, y = logits(3, 4), np.array([2, 0, 3])
    (gradient,) = minigan.grad(F.cross_entropy(x, y), x)
    expected = (F.softmax(x).numpy() - np.eye(4)[y]) / 3
    np.testing.assert_allclose(gradient.numpy(), expected, rtol=1e-10, atol=1e-12)


def test_cross_entropy_and_log_softmax_pass_first_and_second_order_gradcheck():
    """Compositions of primitives are differentiable to any order: check the first two."""
    x, y = logits(3, 5, scale=1.0), np.array([4, 0, 2])
    assert minigan.gradcheck(lambda a: F.cross_entropy(a, y), [x])
    assert minigan.gradgradcheck(lambda a: F.cross_entropy(a, y), [x])
    assert minigan.gradcheck(lambda a: F.log_softmax(a, axis=0), [x])
    assert minigan.gradgradcheck(lambda a: F.log_softmax(a, axis=1), [x])


@pytest.mark.parametrize("shape, labels, message", [
    ((4,), [0, 1, 2, 3], r"cross_entropy: expected logits \(N, C\) and labels \(N,\), got shapes \(4,\)"),
    ((3, 4), [0, 1], r"got shapes \(3, 4\) and \(2,\)"),
    ((2, 4), [0, 4], r"labels must lie in 0\.\.3, got 0\.\.4"),
    ((2, 4), [-1, 0], r"labels must lie in 0\.\.3, got -1\.\.0"),
])
def test_cross_entropy_names_its_shapes_and_label_range(shape, labels, message):
    """A mismatch names the op and both shapes; a label outside the classes says the range."""
    x = minigan.tensor(np.zeros(shape))
    with pytest.raises(ValueError, match=message):
        F.cross_entropy(x, np.array(labels))
