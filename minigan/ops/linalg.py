"""Matrix multiplication, the workhorse of every layer, and the affine map of a Linear layer."""
from minigan import backend
from minigan.autograd import Function
from minigan.ops.shape import reshape, sum_to


class MatMul(Function):
    """Y = op(A) @ op(B) for op(A) (..., n, k) and op(B) (..., k, m), batch axes broadcast.

    op(X) is X, or X^T (its last two axes swapped) when ``transpose_a`` /
    ``transpose_b`` is set. For Y = A @ B,

        dL/dA = G @ B^T,      dL/dB = A^T @ G      (G = dL/dY),

    each summed over the batch axes its operand was broadcast along. With the flags,
    the same rule for op(A) and op(B) gives the four cases of ``backward``, each again
    a product of two operands that are used as they are or transposed: the gradient of
    a product never needs a transpose node of its own. (NumPy hands a transposed
    operand to BLAS as a flag, without a copy.) In a small network's step with
    gradients of gradients, such as the unrolled GAN's, the transposes had been about
    one operation in eight.

    When the inner dimension k is 1, Y is the outer product of op(A)'s column and
    op(B)'s row, which broadcasting computes as op(A) * op(B): the same numbers (one
    product each, no sum), without BLAS's overhead for a product with nothing to sum.
    That is the input gradient of a Linear(in, 1) layer such as a discriminator's last.
    """

    def __init__(self, transpose_a=False, transpose_b=False):
        self.transpose_a = transpose_a
        self.transpose_b = transpose_b

    def forward(self, xp, a, b):
        if self.transpose_a:
            a = a.swapaxes(-1, -2)   # a view: BLAS reads it transposed, without a copy
        if self.transpose_b:
            b = b.swapaxes(-1, -2)
        if a.shape[-1] == 1 and a.ndim >= 2 and b.ndim >= 2:
            return a * b
        return backend.matmul(a, b)   # xp.matmul; a small one on one BLAS thread

    def backward(self, grad, needs_input_grad):
        a, b = self.inputs
        ta, tb = self.transpose_a, self.transpose_b
        grad_a = grad_b = None
        if needs_input_grad[0]:
            if ta:   # d(A^T) = G op(B)^T, so dA = op(B) G^T
                grad_a = MatMul.apply(b, grad, transpose_a=tb, transpose_b=True)
            else:    # dA = G op(B)^T
                grad_a = MatMul.apply(grad, b, transpose_b=not tb)
            grad_a = sum_to(grad_a, a.shape)
        if needs_input_grad[1]:
            if tb:   # d(B^T) = op(A)^T G, so dB = G^T op(A)
                grad_b = MatMul.apply(grad, a, transpose_a=True, transpose_b=ta)
            else:    # dB = op(A)^T G
                grad_b = MatMul.apply(a, grad, transpose_a=not ta)
            grad_b = sum_to(grad_b, b.shape)
        return grad_a, grad_b


def matmul(a, b):
    """The matrix product ``a @ b`` with NumPy's rules for 1-D and batched operands."""
    from minigan.ops.elementwise import _operands
    a, b = _operands("matmul", a, b)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: both operands need at least one dimension, "
                         f"got shapes {a.shape} and {b.shape}")
    if a.shape[-1] != b.shape[-2 if b.ndim > 1 else 0]:
        expected = "(..., n, k) @ (..., k, m)"
        raise ValueError(f"matmul: shapes {a.shape} and {b.shape} do not match: the last "
                         f"dimension of the first ({a.shape[-1]}) must equal the "
                         f"{'second-to-last' if b.ndim > 1 else 'only'} dimension of the "
                         f"second; expected {expected}")
    # A vector is a one-row (left) or one-column (right) matrix whose extra axis is
    # removed from the result, as in NumPy.
    left_vector, right_vector = a.ndim == 1, b.ndim == 1
    if left_vector:
        a = reshape(a, (1, a.shape[0]))
    if right_vector:
        b = reshape(b, (b.shape[0], 1))
    out = MatMul.apply(a, b)
    shape = out.shape[:-2] + out.shape[-2:-1] * (not left_vector) + out.shape[-1:] * (not right_vector)
    return reshape(out, shape)


class Linear(Function):
    """Y = X W^T + b for X (n, in), W (out, in) and b (out,), as one node of the graph.

        dL/dX = G W,      dL/dW = G^T X,      dL/db[o] = sum_n G[n, o]      (G = dL/dY)

    The same map written as ``matmul(x, weight.T) + bias`` is three nodes, and their
    backward runs about eight operations (the transposes of W and of W's gradient, the
    un-broadcast of b); as one node it is one and four. In a small network the
    operations' bookkeeping, not their arithmetic, is much of the time (benchmarks/).
    """

    def forward(self, xp, x, weight, bias=None):
        y = backend.matmul(x, weight.T)
        if bias is not None:
            y += bias          # in place: y is a fresh array, and b broadcasts over the rows
        return y

    def backward(self, grad, needs_input_grad):
        x, weight = self.inputs[:2]
        grads = [None] * len(self.inputs)
        if needs_input_grad[0]:
            grads[0] = MatMul.apply(grad, weight)
        if needs_input_grad[1]:
            grads[1] = MatMul.apply(grad, x, transpose_a=True)
        if len(self.inputs) == 3 and needs_input_grad[2]:
            grads[2] = grad.sum(axis=0)
        return tuple(grads)


def linear(x, weight, bias=None):
    """y = x W^T + b with x (..., in), W (out, in), b (out,) or None -> y (..., out)."""
    from minigan.ops.elementwise import _operands
    x, weight = _operands("linear", x, weight)
    if weight.ndim != 2 or x.ndim == 0 or x.shape[-1] != weight.shape[1]:
        raise ValueError(f"linear: input of shape {x.shape} has "
                         f"{x.shape[-1] if x.ndim else 'no'} features, but weight of shape "
                         f"{weight.shape} (out, in) expects "
                         f"{weight.shape[1] if weight.ndim == 2 else 'a 2-D weight'}")
    if bias is not None:
        _, bias = _operands("linear", x, bias)
        if bias.shape != (weight.shape[0],):
            raise ValueError(f"linear: bias of shape {bias.shape} does not match weight of "
                             f"shape {weight.shape}: expected ({weight.shape[0]},)")
    # Any leading axes are rows: (..., in) -> (rows, in) -> (rows, out) -> (..., out).
    rows = reshape(x, (-1, x.shape[-1])) if x.ndim != 2 else x
    y = Linear.apply(rows, weight) if bias is None else Linear.apply(rows, weight, bias)
    return y if x.ndim == 2 else reshape(y, x.shape[:-1] + (weight.shape[0],))
