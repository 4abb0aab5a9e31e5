"""Testing the tester: gradcheck must pass correct gradients and catch planted bugs.

Every op test in this suite trusts ``minigan.gradcheck``. A checker that always said
"fine" would make all of them worthless, so here we hand it Functions with bugs
planted on purpose (a wrong sign, a wrong factor, one wrong Jacobian entry, a
backward that is right but not differentiable) and require it to object.
"""
import numpy
import pytest
from hypothesis import given, settings

import minigan
from minigan.gradcheck import GradcheckError
from tests.strategies import anywhere, away_from_zero, leaf, shapes

pytestmark = pytest.mark.ch00


class Square(minigan.Function):
    """y = x^2 with a correct backward, dy/dx = 2 x, written with Tensor operations."""

    def forward(self, xp, x):
        return x * x

    def backward(self, grad, needs_input_grad):
        (x,) = self.inputs
        return grad * (2 * x)


class SquareWrongSign(Square):
    """Planted bug: dy/dx = -2 x."""

    def backward(self, grad, needs_input_grad):
        (x,) = self.inputs
        return grad * (-2 * x)


class SquareWrongFactor(Square):
    """Planted bug: forgets the 2 of the power rule, dy/dx = x."""

    def backward(self, grad, needs_input_grad):
        (x,) = self.inputs
        return grad * x


class SquareOneWrongEntry(Square):
    """Planted bug: right everywhere except the first element, which gets 0."""

    def backward(self, grad, needs_input_grad):
        (x,) = self.inputs
        mask = numpy.ones(x.shape)
        mask.reshape(-1)[0] = 0.0
        return grad * (2 * x) * minigan.tensor(mask)


class SquareFrozenBackward(Square):
    """Planted bug for second order only: the backward uses the *array* 2 x.

    The first derivative is exactly right, but the array is a constant to the
    engine, so d/dx of this gradient is 0 instead of 2 (the DeZero batch-norm pitfall).
    """

    def backward(self, grad, needs_input_grad):
        (x,) = self.inputs
        return grad * minigan.Tensor(2 * x.data)


class MultiplyWrongSecondInput(minigan.Function):
    """y = a * b with a planted bug in the gradient for b only (it returns b, not a)."""

    def forward(self, xp, a, b):
        return a * b

    def backward(self, grad, needs_input_grad):
        a, b = self.inputs
        return grad * b, grad * b


@settings(max_examples=10)
@given(array=shapes().flatmap(anywhere))
def test_gradcheck_passes_a_correct_function(array):
    """A correct backward passes, at every shape (0-d included): the check has no false alarms."""
    assert minigan.gradcheck(Square.apply, [leaf(array)])
    assert minigan.gradgradcheck(Square.apply, [leaf(array)])


@pytest.mark.parametrize("planted", [SquareWrongSign, SquareWrongFactor, SquareOneWrongEntry],
                         ids=["wrong sign", "wrong factor", "one wrong entry"])
@settings(max_examples=10)
@given(array=shapes().flatmap(away_from_zero))
def test_gradcheck_catches_a_wrong_backward(planted, array):
    """A wrong backward raises GradcheckError naming the input, the element and both values.

    The elements are drawn away from 0, where 2 x, -2 x, x and 0 differ (at x = 0
    every one of these bugs happens to give the right answer). One wrong entry is
    caught because the check projects the output on a random direction, so no
    single Jacobian entry can hide.
    """
    with pytest.raises(GradcheckError, match=r"input 0 \(shape .*\) element .*analytic .* vs "
                                             r"numerical"):
        minigan.gradcheck(planted.apply, [leaf(array)])


def test_gradcheck_names_the_input_whose_gradient_is_wrong():
    """With several inputs, the message says which one disagrees (here input 1, b)."""
    a, b = leaf([1.0, 2.0]), leaf([3.0, -1.0])
    with pytest.raises(GradcheckError, match=r"input 1 \(shape \(2,\)\)"):
        minigan.gradcheck(MultiplyWrongSecondInput.apply, [a, b])


def test_gradcheck_can_return_false_instead_of_raising():
    """raise_exception=False turns a failure into a False result (and success into True)."""
    x = leaf([1.0, -2.0])
    assert minigan.gradcheck(SquareWrongSign.apply, [x], raise_exception=False) is False
    assert minigan.gradcheck(Square.apply, [x], raise_exception=False) is True


def test_gradgradcheck_catches_a_backward_that_is_not_differentiable():
    """A backward built from raw arrays passes gradcheck but fails gradgradcheck.

    This is the bug that would make a gradient penalty silently wrong: the first
    derivative is right, so only a second-order check can see it.
    """
    x = leaf([1.0, -2.0, 0.5])
    assert minigan.gradcheck(SquareFrozenBackward.apply, [x])
    with pytest.raises(GradcheckError):
        minigan.gradgradcheck(SquareFrozenBackward.apply, [x])


def test_gradcheck_of_a_constant_function_expects_zero_gradient():
    """If the output does not depend on x at all, the right gradient is 0, and it passes."""
    x = leaf([1.0, 2.0])
    assert minigan.gradcheck(lambda x: minigan.tensor(numpy.ones(3)), [x])


def test_gradcheck_leaves_its_inputs_unchanged():
    """gradcheck perturbs each element by +-eps and must put every value back exactly."""
    array = numpy.array([[0.1, -0.7], [1.3, 2.9]])
    x = leaf(array)
    minigan.gradcheck(lambda x: minigan.tanh(x) * x, [x])
    numpy.testing.assert_array_equal(x.numpy(), array)
    assert x.grad is None


@pytest.mark.parametrize("check", [minigan.gradcheck, minigan.gradgradcheck])
def test_gradcheck_refuses_float32_inputs(check):
    """float32 has about 7 digits, too few for a difference quotient with eps = 1e-6:
    the check refuses it with a message that says to use float64."""
    x = leaf([1.0], dtype=numpy.float32)
    with pytest.raises(TypeError, match=r"input 0 has dtype float32.*float64"):
        check(Square.apply, [x])


@pytest.mark.parametrize("check", [minigan.gradcheck, minigan.gradgradcheck])
def test_gradcheck_refuses_inputs_that_do_not_require_grad(check):
    """An input without requires_grad has no analytic gradient to compare."""
    x = leaf([1.0], requires_grad=False)
    with pytest.raises(TypeError, match=r"input 0 must be a Tensor with requires_grad=True"):
        check(Square.apply, [x])
