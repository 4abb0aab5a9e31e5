"""Elementwise operations: arithmetic, exp/log, and the activation functions.

For y = f(a, b) applied element by element, the chain rule gives
dL/da = dL/dy * df/da. When an operand was broadcast (a bias of shape (C,)
added to (N, C)), its gradient is summed back to its own shape with ``sum_to``.
"""
import numpy

from minigan.autograd import Function, Tensor
from minigan.backend import array_module
from minigan.ops.shape import sum_to

_FLOATS = (numpy.dtype(numpy.float32), numpy.dtype(numpy.float64))


def as_tensor(value, like, op="as_tensor"):
    """Wrap a number or array as a constant Tensor with the dtype and device of ``like``.

    Using ``like``'s dtype keeps float32 computations in float32: a NumPy float64
    scalar would otherwise silently promote the result. Values that are not real
    numbers (None, text, complex numbers) are refused with a TypeError naming ``op``:
    NumPy would turn None into NaN, and the string "0" into the number 0.
    """
    if isinstance(value, Tensor):
        return value
    if type(value) is not float and type(value) is not int:   # Python numbers: nothing to check
        kind = getattr(value, "dtype", None)
        kind = numpy.asarray(value).dtype.kind if kind is None else kind.kind
        if kind not in "biuf":
            raise TypeError(f"{op}: cannot compute with {value!r:.60} ({type(value).__name__}); "
                            f"operands must be tensors, arrays or real numbers")
    dtype = like.dtype if like.dtype in _FLOATS else None
    return Tensor(array_module(like.data).asarray(value, dtype=dtype))


def _operands(name, a, b):
    """Both operands as Tensors of one dtype, for the binary operation ``name``.

    The rules, PyTorch's:

    * a number or array next to a tensor takes the tensor's float dtype (``x * 2``;
      next to an integer tensor, NumPy's rules apply: ``labels * 0.5`` is float64);
    * float32 with float64 is refused: NumPy would silently compute in float64,
      doubling the memory and the time of every later operation;
    * an integer tensor next to a float tensor is converted to the float dtype, so
      ``labels * x`` stays float32 (NumPy would make int64 and float32 into float64).
      Integer tensors never require gradients, so nothing is lost by the conversion.
      Bools are left alone: NumPy already gives the float's dtype, without a copy.
    """
    if not isinstance(a, Tensor):
        if not isinstance(b, Tensor):
            raise TypeError(f"{name}: at least one operand must be a Tensor, got "
                            f"{type(a).__name__} and {type(b).__name__}")
        return as_tensor(a, b, name), b
    if not isinstance(b, Tensor):
        return a, as_tensor(b, a, name)
    if a.dtype != b.dtype:
        a_float, b_float = a.dtype in _FLOATS, b.dtype in _FLOATS
        if a_float and b_float:
            raise TypeError(f"{name}: dtype mismatch, {a.dtype} and {b.dtype}; convert one "
                            f"operand with .float() or .double() first")
        if a_float and b.dtype.kind in "iuf":
            b = Tensor(b.data.astype(a.dtype))
        elif b_float and a.dtype.kind in "iuf":
            a = Tensor(a.data.astype(b.dtype))
    return a, b


def _mask(array, dtype):
    """A constant (gradient-free) Tensor from a piecewise-constant array such as x > 0."""
    return Tensor(array.astype(dtype, copy=False))


def _real_number(op, name, value):
    """``value`` as a Python float, refusing text, None, bools and arrays by name."""
    if isinstance(value, (bool, numpy.bool_)) or not isinstance(value, (int, float, numpy.number)):
        raise TypeError(f"{op}: {name} must be a real number, got {value!r:.60} "
                        f"({type(value).__name__})")
    value = float(value)
    if value != value:
        raise ValueError(f"{op}: {name} must be a number, got nan")
    return value


# --- arithmetic --------------------------------------------------------------------------
class Add(Function):
    """y = a + b."""

    def forward(self, xp, a, b):
        return a + b

    def backward(self, grad, needs_input_grad):
        a, b = self.inputs
        grad_a = sum_to(grad, a.shape) if needs_input_grad[0] else None
        grad_b = sum_to(grad, b.shape) if needs_input_grad[1] else None
        return grad_a, grad_b


def add(a, b):
    """a + b with broadcasting."""
    return Add.apply(*_operands("add", a, b))


class Sub(Function):
    """y = a - b."""

    def forward(self, xp, a, b):
        return a - b

    def backward(self, grad, needs_input_grad):
        a, b = self.inputs
        grad_a = sum_to(grad, a.shape) if needs_input_grad[0] else None
        grad_b = sum_to(-grad, b.shape) if needs_input_grad[1] else None
        return grad_a, grad_b


def sub(a, b):
    """a - b with broadcasting."""
    return Sub.apply(*_operands("sub", a, b))


class Mul(Function):
    """y = a * b; dy/da = b and dy/db = a."""

    def forward(self, xp, a, b):
        return a * b

    def backward(self, grad, needs_input_grad):
        a, b = self.inputs
        grad_a = sum_to(grad * b, a.shape) if needs_input_grad[0] else None
        grad_b = sum_to(grad * a, b.shape) if needs_input_grad[1] else None
        return grad_a, grad_b


def mul(a, b):
    """a * b elementwise with broadcasting."""
    return Mul.apply(*_operands("mul", a, b))


class Div(Function):
    """y = a / b; dy/da = 1 / b and dy/db = -a / b^2."""

    def forward(self, xp, a, b):
        return a / b

    def backward(self, grad, needs_input_grad):
        a, b = self.inputs
        grad_a = sum_to(grad / b, a.shape) if needs_input_grad[0] else None
        grad_b = sum_to(-grad * a / (b * b), b.shape) if needs_input_grad[1] else None
        return grad_a, grad_b


def div(a, b):
    """a / b elementwise with broadcasting."""
    return Div.apply(*_operands("div", a, b))


class Neg(Function):
    """y = -x."""

    def forward(self, xp, x):
        return -x

    def backward(self, grad, needs_input_grad):
        return -grad


def neg(x):
    """-x."""
    return Neg.apply(x)


class Pow(Function):
    """y = x ** p for a constant number p; dy/dx = p x^(p-1)."""

    def __init__(self, exponent):
        self.exponent = exponent

    def forward(self, xp, x):
        return x ** self.exponent

    def backward(self, grad, needs_input_grad):
        (x,) = self.inputs
        p = self.exponent
        if p == 2:
            return grad * (2 * x)
        return grad * (p * x ** (p - 1))


def pow(x, exponent):
    """x ** exponent for a constant number ``exponent``; c ** x when x is the exponent.

    c ** x is computed as exp(x ln c), so the base c must be positive.
    """
    if isinstance(exponent, Tensor):
        base = x
        if isinstance(base, Tensor):
            raise TypeError("pow: a tensor exponent needs a constant base (c ** x); "
                            "for x ** y with both tensors use exp(y * log(x))")
        base = _real_number("pow", "the base of c ** x", base)
        if base <= 0:
            raise ValueError(f"pow: c ** x is computed as exp(x ln c) and needs a base c > 0, "
                             f"got {base}")
        return exp(exponent * float(numpy.log(base)))
    # A Python number, so that a NumPy float64 exponent cannot promote float32 to float64.
    return Pow.apply(x, exponent=_real_number("pow", "exponent", exponent))


class Exp(Function):
    """y = e^x; dy/dx = y."""

    def forward(self, xp, x):
        return xp.exp(x)

    def backward(self, grad, needs_input_grad):
        return grad * self.output


def exp(x):
    """e ** x."""
    return Exp.apply(x)


class Log(Function):
    """y = ln x; dy/dx = 1 / x."""

    def forward(self, xp, x):
        return xp.log(x)

    def backward(self, grad, needs_input_grad):
        return grad / self.inputs[0]


def log(x):
    """The natural logarithm."""
    return Log.apply(x)


class Sqrt(Function):
    """y = sqrt(x); dy/dx = 1 / (2 y)."""

    def forward(self, xp, x):
        return xp.sqrt(x)

    def backward(self, grad, needs_input_grad):
        return grad / (2 * self.output)


def sqrt(x):
    """The square root."""
    return Sqrt.apply(x)


class Abs(Function):
    """y = |x|; dy/dx = sign(x) (0 at 0, as in PyTorch)."""

    def forward(self, xp, x):
        self.sign = xp.sign(x)
        return xp.abs(x)

    def backward(self, grad, needs_input_grad):
        return grad * _mask(self.sign, grad.dtype)


def abs(x):
    """|x|."""
    return Abs.apply(x)


class Clip(Function):
    """y = min(max(x, low), high); dy/dx = 1 inside [low, high], 0 outside."""

    def __init__(self, low, high):
        self.low = low
        self.high = high

    def forward(self, xp, x):
        self.inside = xp.ones(x.shape, dtype=bool)
        if self.low is not None:
            self.inside &= x >= self.low
        if self.high is not None:
            self.inside &= x <= self.high
        return xp.clip(x, self.low, self.high)

    def backward(self, grad, needs_input_grad):
        return grad * _mask(self.inside, grad.dtype)


def clip(x, min=None, max=None):
    """Limit x to [min, max] (either bound may be None)."""
    if min is None and max is None:
        raise ValueError("clip: at least one of min and max must be given")
    # Python numbers as bounds: a NumPy float64 bound would promote float32 to float64.
    low = None if min is None else _real_number("clip", "min", min)
    high = None if max is None else _real_number("clip", "max", max)
    if low is not None and high is not None and low > high:
        raise ValueError(f"clip: min {low} is greater than max {high}; every element would "
                         f"become {high}")
    return Clip.apply(x, low=low, high=high)


clamp = clip


class Maximum(Function):
    """y = max(a, b) elementwise; the gradient goes to a where a >= b, else to b."""

    def forward(self, xp, a, b):
        self.a_wins = a >= b
        return xp.maximum(a, b)

    def backward(self, grad, needs_input_grad):
        a, b = self.inputs
        wins = _mask(self.a_wins, grad.dtype)
        grad_a = sum_to(grad * wins, a.shape) if needs_input_grad[0] else None
        grad_b = sum_to(grad * (1 - wins), b.shape) if needs_input_grad[1] else None
        return grad_a, grad_b


def maximum(a, b):
    """The elementwise maximum of a and b."""
    return Maximum.apply(*_operands("maximum", a, b))


class Minimum(Function):
    """y = min(a, b) elementwise; the gradient goes to a where a <= b, else to b."""

    def forward(self, xp, a, b):
        self.a_wins = a <= b
        return xp.minimum(a, b)

    backward = Maximum.backward


def minimum(a, b):
    """The elementwise minimum of a and b."""
    return Minimum.apply(*_operands("minimum", a, b))


# --- activations -------------------------------------------------------------------------
class Tanh(Function):
    """y = tanh x; dy/dx = 1 - y^2."""

    def forward(self, xp, x):
        return xp.tanh(x)

    def backward(self, grad, needs_input_grad):
        y = self.output
        return grad * (1 - y * y)


def tanh(x):
    """The hyperbolic tangent, a squashing to (-1, 1)."""
    return Tanh.apply(x)


class Sigmoid(Function):
    """y = 1 / (1 + e^-x); dy/dx = y (1 - y).

    Computed as e^x / (1 + e^x) for negative x so that e^-x never overflows.
    """

    def forward(self, xp, x):
        e = xp.exp(-xp.abs(x))
        return xp.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)

    def backward(self, grad, needs_input_grad):
        y = self.output
        return grad * (y * (1 - y))


def sigmoid(x):
    """The logistic function 1 / (1 + e^-x), a squashing to (0, 1)."""
    return Sigmoid.apply(x)


class Softplus(Function):
    """y = ln(1 + e^x); dy/dx = sigmoid(x).

    Computed as max(x, 0) + ln(1 + e^-|x|), exact and finite for any x
    (ln(1 + e^10000) would overflow written naively).
    """

    def forward(self, xp, x):
        return _softplus(xp, x)

    def backward(self, grad, needs_input_grad):
        return grad * sigmoid(self.inputs[0])


def _softplus(xp, x):
    """max(x, 0) + ln(1 + e^-|x|) on arrays: Softplus's forward, shared with the cross-entropy."""
    return xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x)))


def softplus(x):
    """ln(1 + e^x), a smooth ReLU; stable for any x."""
    return Softplus.apply(x)


class BinaryCrossEntropyWithLogits(Function):
    """l = softplus(x) - t x: the cross-entropy of labels t and sigmoid(x), from logits x.

        dl/dx = sigmoid(x) - t,      dl/dt = -x.

    One node, as in PyTorch. Composed as ``softplus(x) - t * x`` the loss is three nodes
    whose backward runs five operations, and a GAN differentiates it at every step (the
    unrolled GAN twice, at each of its look-ahead steps). The backward keeps the two
    terms apart, grad sigmoid(x) - grad t: the numbers the composition's backward sums,
    to the last bit (grad (sigmoid(x) - t) would round differently).
    """

    def forward(self, xp, x, t):
        return _softplus(xp, x) - t * x

    def backward(self, grad, needs_input_grad):
        x, t = self.inputs
        grad_x = sum_to(grad * sigmoid(x) - grad * t, x.shape) if needs_input_grad[0] else None
        grad_t = sum_to(-(grad * x), t.shape) if needs_input_grad[1] else None
        return grad_x, grad_t


def binary_cross_entropy_with_logits(x, t):
    """softplus(x) - t x element by element (no mean: ``F.binary_cross_entropy_with_logits``
    checks the labels and reduces)."""
    return BinaryCrossEntropyWithLogits.apply(*_operands("binary_cross_entropy_with_logits", x, t))


class Relu(Function):
    """y = max(x, 0); dy/dx = 1 where x > 0, else 0.

    The backward multiplies by the boolean mask itself (NumPy and CuPy promote it
    to the gradient's float type in the product), saving a float copy of the mask.
    """

    def forward(self, xp, x):
        self.positive = x > 0
        return xp.maximum(x, 0)

    def backward(self, grad, needs_input_grad):
        return grad * Tensor(self.positive)


def relu(x):
    """max(x, 0)."""
    return Relu.apply(x)


def check_slope(op, negative_slope):
    """A leaky ReLU's slope as a finite Python float, or a ValueError/TypeError naming ``op``."""
    slope = _real_number(op, "negative_slope", negative_slope)
    if slope in (float("inf"), float("-inf")):
        raise ValueError(f"{op}: negative_slope must be finite, got {slope}")
    return slope


class LeakyRelu(Function):
    """y = x for x > 0, s x otherwise; dy/dx = 1 or s.

    For 0 <= s <= 1 this is max(x, s x): two passes, written into one new array.
    The slope (x > 0) (1 - s) + s is plain arithmetic on the saved input, built in
    the backward, so no float slope the size of x is kept between the two passes.
    Both are faster than ``where`` (benchmarks/README.md, "Why the fast paths").
    """

    def __init__(self, negative_slope):
        self.negative_slope = negative_slope

    @classmethod
    def name(cls):
        return "leaky_relu"

    def forward(self, xp, x):
        s = self.negative_slope
        y = xp.asarray(x * s)   # asarray: NumPy makes a scalar of a 0-d product
        if 0 <= s <= 1:
            return xp.maximum(x, y, out=y)
        return xp.where(x > 0, x, y)

    def backward(self, grad, needs_input_grad):
        s, x = self.negative_slope, self.inputs[0].data
        # dtype=: a bool mask times a Python float would otherwise be float64
        slope = array_module(x).multiply(x > 0, 1 - s, dtype=grad.dtype)
        slope += s
        return grad * Tensor(slope)


def leaky_relu(x, negative_slope=0.01):
    """x for x > 0, negative_slope * x otherwise.

    Any finite slope is computed (0.2 in DCGAN's discriminator; slopes outside [0, 1]
    make a function that is not monotonic, as in PyTorch); NaN and infinity are refused.
    """
    return LeakyRelu.apply(x, negative_slope=check_slope("leaky_relu", negative_slope))
