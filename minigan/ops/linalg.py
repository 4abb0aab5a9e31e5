"""Matrix multiplication, the workhorse of every layer, and the affine map of a Linear layer."""
from minigan.autograd import Function
from minigan.ops.shape import reshape, sum_to, swapaxes, transpose


class MatMul(Function):
    """Y = A @ B for A (..., n, k) and B (..., k, m), batch axes broadcast.

    dL/dA = dL/dY @ B^T and dL/dB = A^T @ dL/dY (transposing the last two axes),
    each summed over the batch axes its operand was broadcast along.

    When the inner dimension k is 1, Y = A @ B is the outer product of A's column
    and B's row, which broadcasting computes as A * B: the same numbers (one
    product each, no sum). That is the input gradient of a Linear(in, 1) layer such as a
    discriminator's last, (64, 1) @ (1, 6272): 0.09 ms, against 0.83 ms through BLAS.
    """

    def forward(self, xp, a, b):
        if a.shape[-1] == 1 and a.ndim >= 2 and b.ndim >= 2:
            return a * b
        return xp.matmul(a, b)

    def backward(self, grad):
        a, b = self.inputs
        grad_a = grad_b = None
        if self.needs_input_grad[0]:
            grad_a = sum_to(matmul(grad, swapaxes(b, -1, -2)), a.shape)
        if self.needs_input_grad[1]:
            grad_b = sum_to(matmul(swapaxes(a, -1, -2), grad), b.shape)
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
        y = xp.matmul(x, weight.T)
        if bias is not None:
            y += bias          # in place: y is a fresh array, and b broadcasts over the rows
        return y

    def backward(self, grad):
        x, weight = self.inputs[:2]
        grads = [None] * len(self.inputs)
        if self.needs_input_grad[0]:
            grads[0] = MatMul.apply(grad, weight)
        if self.needs_input_grad[1]:
            grads[1] = MatMul.apply(transpose(grad), x)
        if len(self.inputs) == 3 and self.needs_input_grad[2]:
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
