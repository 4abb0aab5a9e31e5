"""Error messages: a mistake must be reported where it happens, in the user's terms.

A shape error deep inside a backward pass, or a NumPy message about "operands
(2,3) (4,)", leaves a learner guessing which line of their model is wrong. Each test
here makes one common mistake and checks that the message names the operation and
the shapes (or dtypes) involved, so that it can be fixed without a debugger.
"""
import re
import traceback

import numpy
import pytest

import minigan
from tests.strategies import leaf

pytestmark = pytest.mark.ch00


def shapes_in_order(op, *shapes):
    """A regex: the op's name first, then each shape as Python prints a tuple, in order."""
    return re.escape(op) + "".join(".*" + re.escape(str(tuple(s))) for s in shapes)


# --- shapes ---------------------------------------------------------------------------------
BINARY_OPS = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "maximum": minigan.maximum,
    "minimum": minigan.minimum,
    "matmul": lambda a, b: a @ b,
    "concatenate": lambda a, b: minigan.concatenate([a, b]),
    "stack": lambda a, b: minigan.stack([a, b]),
}
ELEMENTWISE_OPS = ["add", "sub", "mul", "div", "maximum", "minimum"]


@pytest.mark.parametrize("name", ELEMENTWISE_OPS)
def test_elementwise_shape_mismatch_names_op_and_shapes(name):
    """(2, 3) and (4,) do not broadcast: the message names the op and both shapes.

    The name is the one the user called: minimum is computed as -maximum(-a, -b),
    but a message about "maximum" would send the reader to the wrong line.
    """
    a, b = minigan.ones(2, 3), minigan.ones(4)
    with pytest.raises(ValueError, match=shapes_in_order(name, (2, 3), (4,))):
        BINARY_OPS[name](a, b)


@pytest.mark.parametrize("shape_a, shape_b", [((2, 3), (4, 5)), ((3,), (2, 3)),
                                              ((2, 2, 3), (3, 3, 1))])
def test_matmul_shape_mismatch_names_both_shapes(shape_a, shape_b):
    """(2, 3) @ (4, 5): the inner dimensions 3 and 4 differ; the message says which
    dimensions must agree, with both shapes. Batch axes that do not broadcast
    ((2, ...) against (3, ...)) are reported the same way."""
    a, b = minigan.ones(*shape_a), minigan.ones(*shape_b)
    with pytest.raises(ValueError, match=shapes_in_order("matmul", shape_a, shape_b)):
        a @ b


def test_reshape_to_a_different_size_names_both_shapes():
    """Six elements cannot become a (4,): the message gives the shape, the element count
    and the requested shape."""
    with pytest.raises(ValueError, match=r"reshape: cannot reshape a tensor of shape "
                                         r"\(2, 3\) \(6 elements\) into shape \(4,\)"):
        minigan.ones(2, 3).reshape(4)


def test_reshape_with_an_impossible_minus_one_names_the_op():
    """-1 must leave a whole number of elements: (4, -1) from 6 elements is impossible."""
    with pytest.raises(ValueError, match=shapes_in_order("reshape", (2, 3))):
        minigan.ones(2, 3).reshape(4, -1)


def test_concatenate_mismatch_names_op_and_shapes():
    """Pieces must agree on every axis but the joined one: (2, 3) and (2, 2) along 0 do not."""
    with pytest.raises(ValueError, match=shapes_in_order("concatenate", (2, 3), (2, 2))):
        minigan.concatenate([minigan.ones(2, 3), minigan.ones(2, 2)], axis=0)


def test_concatenate_of_different_ranks_names_the_shapes():
    """A (2, 3) matrix and a (3,) vector cannot be concatenated: ranks differ."""
    with pytest.raises(ValueError, match=shapes_in_order("concatenate", (2, 3), (3,))):
        minigan.concatenate([minigan.ones(2, 3), minigan.ones(3)])


def test_stack_mismatch_names_op_and_shapes():
    """stack needs equal shapes: (2, 3) and (3, 2) are reported by name."""
    with pytest.raises(ValueError, match=shapes_in_order("stack", (2, 3), (3, 2))):
        minigan.stack([minigan.ones(2, 3), minigan.ones(3, 2)])


@pytest.mark.parametrize("axes", [(0, 0), (0,), (1, 0, 2), (1, 2), (0, -3)],
                         ids=["repeated", "too few", "too many", "out of range",
                              "negative out of range"])
def test_transpose_with_a_bad_permutation_names_the_axes(axes):
    """The axes of a 2-D tensor must be a permutation of (0, 1) (or of (-2, -1)).

    An axis 2 or -3 does not exist: it must be an error, not be wrapped around
    modulo 2 into a valid-looking permutation.
    """
    with pytest.raises(ValueError, match=r"transpose: axes .* are not a permutation .* "
                                         r"shape \(2, 3\)"):
        minigan.ones(2, 3).transpose(*axes)


@pytest.mark.parametrize("name, call, axis", [
    ("unsqueeze", lambda x: x.unsqueeze(5), 5),
    ("unsqueeze", lambda x: x.unsqueeze(-4), -4),
    ("squeeze", lambda x: x.squeeze(7), 7),
    ("flatten", lambda x: x.flatten(0, 7), 7),
    ("swapaxes", lambda x: minigan.ops.swapaxes(x, 0, 5), 5),
], ids=["unsqueeze", "unsqueeze negative", "squeeze", "flatten", "swapaxes"])
def test_shape_ops_refuse_axes_that_do_not_exist(name, call, axis):
    """A (2, 3) tensor has axes 0 and 1 (or -2 and -1; unsqueeze may also insert at 2
    or -3). Any other axis is a mistake that must be reported, naming the op, the
    axis and the shape; wrapping it modulo the number of axes would silently pick a
    different axis (unsqueeze(5) acting as unsqueeze(2)).
    """
    with pytest.raises((ValueError, IndexError),
                       match=rf"{name}: .*{axis}.*{re.escape('(2, 3)')}"):
        call(minigan.ones(2, 3))


@pytest.mark.parametrize("name", ["sum", "mean", "max", "min", "var"])
def test_reduction_over_a_missing_axis_names_op_and_axis(name):
    """A (2, 3) tensor has no axis 2: the message names the reduction and the axis."""
    with pytest.raises(ValueError, match=rf"{name}: axis 2 is out of range for a tensor with "
                                         rf"2 dimensions"):
        getattr(minigan, name)(minigan.ones(2, 3), axis=2)


# --- dtypes ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", BINARY_OPS)
@pytest.mark.parametrize("order", ["float32 first", "float64 first"])
def test_mixing_float32_and_float64_names_the_op(name, order):
    """float32 with float64 raises TypeError naming the op and both dtypes.

    NumPy would silently promote to float64; in a float32 model that means one
    stray float64 tensor (numpy.random's default) quietly doubles memory and slows
    every later op, so minigan asks for an explicit .float() or .double().
    """
    a, b = minigan.ones(2, 2, dtype="float32"), minigan.ones(2, 2, dtype="float64")
    if order == "float64 first":
        a, b = b, a
    with pytest.raises(TypeError, match=rf"{name}: .*(float32.*float64|float64.*float32)"):
        BINARY_OPS[name](a, b)


def test_requires_grad_on_an_integer_tensor_is_refused():
    """Gradients are defined for real numbers only: integer labels cannot require grad."""
    with pytest.raises(TypeError, match=r"only float32 and float64 .* got dtype int"):
        minigan.tensor([1, 2, 3], requires_grad=True)
    with pytest.raises(TypeError, match=r"requires_grad_: only float .* got dtype int"):
        minigan.arange(3).requires_grad_()


def test_pow_with_two_tensors_suggests_exp_log():
    """x ** y with both tensors is not a primitive; the message says how to write it."""
    with pytest.raises(TypeError, match=r"pow: .* exp\(y \* log\(x\)\)"):
        minigan.ones(2) ** minigan.ones(2)


def test_clip_without_bounds_is_refused():
    """clip with neither bound would silently do nothing: almost certainly a mistake."""
    with pytest.raises(ValueError, match=r"clip: at least one of min and max"):
        minigan.clip(minigan.ones(2))


# --- backward ------------------------------------------------------------------------------
def test_backward_on_a_non_scalar_needs_a_gradient():
    """dL/dy can be implied (as 1) only when y has one element; otherwise the message
    gives y's shape and the two fixes."""
    y = leaf(numpy.ones((2, 3))) * 2
    with pytest.raises(RuntimeError, match=r"backward: .* one-element output, but this output "
                                           r"has shape \(2, 3\); pass gradient="):
        y.backward()


def test_backward_with_a_gradient_of_the_wrong_shape():
    """The gradient handed to backward must have the output's shape."""
    y = leaf(numpy.ones((2, 3))) * 2
    with pytest.raises(RuntimeError, match=r"gradient has shape \(3,\) but the output has shape "
                                           r"\(2, 3\)"):
        y.backward(minigan.ones(3, dtype="float64"))


def test_second_backward_through_a_released_graph_is_refused():
    """Without retain_graph, a second backward through the same graph is an error that
    says what happened and how to keep the graph, not a crash inside some op."""
    x = leaf([1.0, 2.0])
    y = minigan.exp(x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match=r"backward through the graph a second time.*"
                                           r"retain_graph=True"):
        y.backward()


def test_grad_through_a_released_graph_is_refused():
    """minigan.grad gives the same clear error, naming itself."""
    x = leaf([1.0, 2.0])
    y = (minigan.tanh(x) * 3).sum()
    minigan.grad(y, x)
    with pytest.raises(RuntimeError, match=r"grad: trying to go backward through the graph a "
                                           r"second time"):
        minigan.grad(y, x)


def test_backward_on_an_output_that_does_not_require_grad():
    """A loss computed under no_grad (or from constants only) has no graph to go back through."""
    x = leaf([1.0, 2.0])
    with minigan.no_grad():
        y = (x * x).sum()
    with pytest.raises(RuntimeError, match=r"backward: the output \(shape \(\)\) does not "
                                           r"require grad"):
        y.backward()


def test_grad_with_an_unused_input_explains_allow_unused():
    """Asking for the gradient of an input the output does not depend on is usually a
    bug (a detached tensor, a wrong variable), so it raises, naming the input and the
    escape hatch."""
    x, unused = leaf([1.0]), leaf([2.0, 3.0])
    with pytest.raises(RuntimeError, match=r"grad: input 1 \(shape \(2,\)\) was not used.*"
                                           r"allow_unused=True"):
        minigan.grad((x * x).sum(), [x, unused])


def test_grad_with_respect_to_a_constant_is_refused():
    """An input with requires_grad=False has no gradient to return."""
    x, constant = leaf([1.0]), leaf([1.0], requires_grad=False)
    with pytest.raises(RuntimeError, match=r"grad: input 1 \(shape \(1,\)\) does not require"):
        minigan.grad((x * constant).sum(), [x, constant])


def test_item_of_a_multi_element_tensor_names_the_shape():
    """item() turns exactly one element into a Python number; for more it names the shape."""
    with pytest.raises(ValueError, match=r"item: only one-element tensors .* shape \(2, 3\)"):
        minigan.ones(2, 3).item()


# --- the error's origin --------------------------------------------------------------------
def test_a_failed_operation_keeps_the_original_error_and_its_traceback():
    """An error inside an operation's forward is raised again with the op's name and the
    input shapes in front, and the original error stays attached as its cause
    (``raise ... from error``), so the traceback still shows the line that failed.

    With ``from None`` the message was clear but the origin was lost: a bug inside a
    kernel showed only Function.apply in its traceback.
    """
    with pytest.raises(IndexError, match=r"getitem: .*index 5 .*\(input shapes \(2, 3\)\)") as info:
        minigan.ones(2, 3)[5]
    cause = info.value.__cause__
    assert isinstance(cause, IndexError) and "index 5" in str(cause)
    frames = [frame.name for frame in traceback.extract_tb(cause.__traceback__)]
    assert "forward" in frames, frames   # GetItem.forward, where NumPy raised it
