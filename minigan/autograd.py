"""Reverse-mode automatic differentiation: ``Tensor``, ``Function`` and the backward pass.

A ``Tensor`` wraps an array (``.data``) and, when it was computed from tensors that
require gradients, remembers the ``Function`` node that made it (``.creator``).
Those nodes form a directed acyclic graph from the inputs to the loss.

``backward`` walks that graph from the loss to the leaves. For an output y = f(x)
with upstream gradient g = dL/dy, each node returns the vector-Jacobian product

    dL/dx = g . (dy/dx)

and the engine sums the contributions of every path (the multivariate chain rule).

Higher-order gradients come for free from one rule: **a Function's backward is
written with Tensor operations**. With ``create_graph=True`` those operations are
recorded like any forward computation, so the gradient is itself a Tensor in a
graph and can be differentiated again (the gradient penalty of WGAN-GP needs
exactly this). With ``create_graph=False`` the same code runs under ``no_grad``
and records nothing.
"""
import contextlib
import heapq
import itertools
import weakref

import numpy

from minigan import backend

_FLOAT_DTYPES = (numpy.dtype(numpy.float32), numpy.dtype(numpy.float64))


class _GradMode:
    enabled = True


@contextlib.contextmanager
def _grad_mode(enabled):
    previous = _GradMode.enabled
    _GradMode.enabled = enabled
    try:
        yield
    finally:
        _GradMode.enabled = previous


def no_grad():
    """Context manager (and decorator) under which no graph is recorded.

    Use it for evaluation, sampling and optimizer updates::

        with minigan.no_grad():
            samples = generator(z)
    """
    return _grad_mode(False)


def enable_grad():
    """Context manager that turns graph recording back on inside ``no_grad``."""
    return _grad_mode(True)


def is_grad_enabled():
    """True when operations on tensors that require grad are being recorded."""
    return _GradMode.enabled


class Tensor:
    """An n-dimensional array that can remember how it was computed.

    Attributes:
        data: the underlying ``numpy`` or ``cupy`` array.
        requires_grad: whether gradients should flow to (or through) this tensor.
        grad: after ``backward``, dL/d(this tensor) for leaves, as a Tensor.
        creator: the Function that produced this tensor, or None for a leaf.

    Arithmetic (``x + y``, ``x @ w``, ``x[i]``) and the methods named as in PyTorch
    (``x.sum()``, ``x.reshape(...)``, ``x.T``, ``x.float()``) are the differentiable
    operations of ``minigan.ops``. Those are built on Tensor and Function, so this
    module cannot import them; ``minigan/ops/__init__.py`` gives them to Tensor, in
    one table, once they are defined.
    """

    __slots__ = ("data", "requires_grad", "grad", "creator", "generation", "__weakref__")
    # Make NumPy hand `ndarray * Tensor` to Tensor.__rmul__ instead of looping elementwise.
    __array_priority__ = 1000

    def __init__(self, data, requires_grad=False, creator=None):
        if not hasattr(data, "dtype"):
            raise TypeError(f"Tensor: data must be a NumPy or CuPy array, got "
                            f"{type(data).__name__}; make a tensor from numbers or lists "
                            f"with minigan.tensor(data)")
        if requires_grad and data.dtype not in _FLOAT_DTYPES:
            raise TypeError(f"tensor: only float32 and float64 tensors can require gradients, "
                            f"got dtype {data.dtype}")
        self.data = data
        self.requires_grad = requires_grad
        self.grad = None
        self.creator = creator
        self.generation = 0 if creator is None else creator.generation + 1

    # --- properties and conversions -------------------------------------------------
    shape = property(lambda self: self.data.shape, doc="The shape, a tuple of ints.")
    dtype = property(lambda self: self.data.dtype, doc="The element type (float32 by default).")
    ndim = property(lambda self: self.data.ndim, doc="The number of dimensions.")
    size = property(lambda self: int(self.data.size), doc="The number of elements.")
    is_leaf = property(lambda self: self.creator is None,
                       doc="True for tensors made by the user rather than by an operation.")

    def __len__(self):
        return len(self.data)

    def __bool__(self):
        """The truth of a one-element tensor (as in PyTorch); ambiguous for more elements."""
        if self.size != 1:
            raise RuntimeError(f"bool: the truth value of a tensor with {self.size} elements is "
                               f"ambiguous; use .any() or .all() on .numpy(), or compare .item()")
        return bool(self.data.reshape(()).item())

    def __repr__(self):
        flags = ", requires_grad=True" if self.requires_grad else ""
        body = numpy.array2string(self.numpy(), separator=", ", prefix="tensor(")
        return f"tensor({body}, dtype={self.dtype}{flags})"

    def numpy(self):
        """The values as a NumPy array on the host (a copy when the tensor is on a GPU)."""
        return backend.to_numpy(self.data)

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self.size != 1:
            raise ValueError(f"item: only one-element tensors can be converted to a number, "
                             f"this one has shape {self.shape}")
        return self.data.reshape(()).item()

    def detach(self):
        """The same values in a new leaf tensor that does not require grad."""
        return Tensor(self.data)

    def requires_grad_(self, requires_grad=True):
        """Set ``requires_grad`` in place (only on leaves) and return self."""
        if not self.is_leaf:
            raise RuntimeError("requires_grad_: only leaf tensors can change requires_grad; "
                               "use .detach() to make a new leaf")
        if requires_grad and self.dtype not in _FLOAT_DTYPES:
            raise TypeError(f"requires_grad_: only float tensors can require gradients, "
                            f"got dtype {self.dtype}")
        self.requires_grad = requires_grad
        return self

    # Comparisons give constant boolean tensors (masks); they have no gradient.
    __hash__ = object.__hash__   # tensors stay usable as dict keys despite elementwise ==
    def __lt__(self, other): return Tensor(self.data < _array(other))
    def __le__(self, other): return Tensor(self.data <= _array(other))
    def __gt__(self, other): return Tensor(self.data > _array(other))
    def __ge__(self, other): return Tensor(self.data >= _array(other))
    def __eq__(self, other): return Tensor(self.data == _array(other))
    def __ne__(self, other): return Tensor(self.data != _array(other))

    def backward(self, gradient=None, retain_graph=False, create_graph=False):
        """Accumulate d(self)/d(leaf) into ``leaf.grad`` for every leaf that requires grad.

        Args:
            gradient: dL/d(self); may be omitted only when self has one element.
            retain_graph: keep the graph's buffers so backward can run through it again.
            create_graph: record the backward pass itself, so the gradients in ``.grad``
                can be differentiated again (implies ``retain_graph``).
        """
        _backpropagate([self], [gradient], retain_graph or create_graph, create_graph,
                       targets=None, caller="backward")


def array_of(value):
    """The array a Tensor holds, or ``value`` itself (an array, a list, a number).

    Not ``getattr(value, "data", value)``: a NumPy array's ``.data`` is a memoryview and
    a CuPy array's a pointer to GPU memory, so that would turn a plain array into
    something else.
    """
    return value.data if isinstance(value, Tensor) else value


_array = array_of


# ---------------------------------------------------------------------------------------
# Function: one node of the graph
# ---------------------------------------------------------------------------------------
class Function:
    """One differentiable operation.

    Subclasses implement two methods:

    * ``forward(self, xp, *arrays)``: compute the output *array* from input arrays,
      with ``xp`` the array module (numpy or cupy).
    * ``backward(self, grad, needs_input_grad)``: given dL/d(output) as a Tensor,
      return one Tensor per input, dL/d(input), **built only from Tensor operations**;
      ``needs_input_grad[i]`` says whether input i wants its gradient (return None
      where it does not, and skip the work). Inputs are in ``self.inputs``; the
      output is ``self.output``.

    An operation with settings (an axis, a stride) takes them in its ``__init__``
    as named arguments and keeps them as attributes; ``apply`` passes its keywords
    there: ``Sum.apply(x, axes=(0,), keepdims=False)`` builds ``Sum(axes=(0,),
    keepdims=False)``, then runs it on x.

    Saving tensors (inputs, output) rather than arrays derived from them keeps the
    backward differentiable. Arrays that are piecewise constant in the inputs (a
    ReLU mask) carry no gradient and may be saved as arrays.
    """

    @classmethod
    def apply(cls, *inputs, **params):
        """Run the operation on Tensors and, if needed, record it in the graph.

        Errors of the forward computation (a shape NumPy cannot broadcast, an index out
        of range) are raised again with the operation's name and the input shapes in
        front; the original error stays attached as ``__cause__``, with its traceback.
        """
        # This runs for every operation, so it is written for speed: one plain loop over
        # the inputs (a small network's step makes ~1,000 calls, and in Python 3.11 each
        # comprehension would cost more than the loop). A try block costs nothing until it
        # catches: inputs that are not Tensors (a NumPy array has no requires_grad) are
        # reported here, by the operation's name.
        needs_input_grad, arrays, generation = [], [], 0
        try:
            for tensor in inputs:
                needs_input_grad.append(tensor.requires_grad)
                arrays.append(tensor.data)
                if tensor.generation > generation:
                    generation = tensor.generation
        except AttributeError:
            given = ", ".join(type(tensor).__name__ for tensor in inputs)
            raise TypeError(f"{cls.name()}: expected Tensor inputs, got {given}; make arrays "
                            f"and numbers into tensors with minigan.tensor(...)") from None
        node = cls(**params)   # the operation's settings, by name (see the class docstring)
        xp = backend.array_module(arrays[0])
        try:
            result = node.forward(xp, *arrays)
        except (ValueError, IndexError, TypeError) as error:
            shapes = ", ".join(str(tuple(a.shape)) for a in arrays)
            raise type(error)(f"{node.name()}: {error} (input shapes {shapes})") from error
        if not (_GradMode.enabled and True in needs_input_grad):
            return Tensor(result)
        node.inputs = inputs
        node.needs_input_grad = tuple(needs_input_grad)
        node.generation = generation   # the largest of the inputs
        output = Tensor(result, requires_grad=True, creator=node)
        # A weak reference: the output owns its creator, not the other way round, so
        # dropping the output frees the graph without waiting for the cycle collector.
        node._output = weakref.ref(output)
        return output

    @property
    def output(self):
        return self._output()

    @classmethod
    def name(cls):
        """The operation's name as users write it (``Conv2d`` -> ``conv2d``)."""
        return cls.__name__.lower()

    def forward(self, xp, *arrays):
        raise NotImplementedError

    def backward(self, grad, needs_input_grad):
        raise NotImplementedError

    def release(self):
        """Drop the references to the inputs so their buffers can be freed."""
        self.inputs = None

    @property
    def released(self):
        return self.inputs is None


# ---------------------------------------------------------------------------------------
# The backward pass
# ---------------------------------------------------------------------------------------
def grad(outputs, inputs, grad_outputs=None, create_graph=False, retain_graph=None,
         allow_unused=False):
    """Return d(sum of outputs . grad_outputs)/d(input) for each input, as a tuple.

    Unlike ``Tensor.backward`` this does not touch ``.grad``. With ``create_graph=True``
    the returned gradients are part of a graph and can be differentiated again::

        x = minigan.tensor([3.0], requires_grad=True)
        (dy,) = minigan.grad(x ** 3, x, create_graph=True)   # 3 x^2 = 27
        (d2y,) = minigan.grad(dy, x)                          # 6 x   = 18

    Args:
        outputs: a Tensor or a sequence of Tensors.
        inputs: a Tensor or a sequence of Tensors that ``outputs`` depend on.
        grad_outputs: dL/d(output) for each output (None for one-element outputs).
        create_graph: record the backward pass so the result is differentiable.
        retain_graph: keep the graph for another backward (default: ``create_graph``).
        allow_unused: return None for an input the outputs do not depend on,
            instead of raising.
    """
    outputs = _tensor_list(outputs, "outputs")
    inputs = _tensor_list(inputs, "inputs")
    if grad_outputs is None or isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs] * len(outputs) if grad_outputs is None else [grad_outputs]
    if retain_graph is None:
        retain_graph = create_graph
    for i, tensor in enumerate(inputs):
        if not tensor.requires_grad:
            raise RuntimeError(f"grad: input {i} (shape {tensor.shape}) does not require grad")
    found = _backpropagate(outputs, list(grad_outputs), retain_graph, create_graph,
                           targets=inputs, caller="grad")
    results = []
    for i, tensor in enumerate(inputs):
        gradient = found.get(id(tensor))
        if gradient is None and not allow_unused:
            raise RuntimeError(f"grad: input {i} (shape {tensor.shape}) was not used to compute "
                               f"the outputs; pass allow_unused=True to get None for it")
        results.append(gradient)
    return tuple(results)


def _tensor_list(value, name):
    """``grad``'s outputs or inputs (one Tensor or a sequence of them) as a non-empty list."""
    if isinstance(value, Tensor):
        return [value]
    try:
        items = list(value)
    except TypeError:
        items = [value]
    wrong = [f"{i}: {type(item).__name__}" for i, item in enumerate(items)
             if not isinstance(item, Tensor)]
    if wrong or not items:
        raise TypeError(f"grad: {name} must be a Tensor or a non-empty sequence of Tensors, got "
                        f"{', '.join(wrong) if wrong else 'an empty sequence'}")
    return items


def _backpropagate(outputs, grad_outputs, retain_graph, create_graph, targets, caller):
    """The engine behind ``backward`` and ``grad``.

    Nodes are processed in decreasing *generation* (distance from the leaves), so a
    tensor's gradient is complete, summed over all its consumers, before its creator
    runs. A heap replaces recursion: deep graphs cannot overflow the stack.

    ``targets`` is None for ``backward`` (gradients accumulate into leaves' ``.grad``),
    or the tensors whose gradients ``grad`` returns.
    """
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"{caller}: got {len(outputs)} outputs but {len(grad_outputs)} grad_outputs")
    pending = {}   # id(tensor) -> gradient Tensor accumulated so far
    keep = {}      # id(tensor) -> tensor, keeping every tensor in `pending` alive
    heap, order = [], itertools.count()
    target_ids = None if targets is None else {id(t) for t in targets}
    needed = None if targets is None else _nodes_leading_to(outputs, targets)

    def accumulate(tensor, gradient):
        key = id(tensor)
        if key in pending:
            # Without create_graph nothing is recorded, so the two gradients are summed as
            # arrays: an Add node would be built only to be dropped.
            pending[key] = (pending[key] + gradient if create_graph
                            else Tensor(pending[key].data + gradient.data))
            return
        pending[key], keep[key] = gradient, tensor
        creator = tensor.creator
        if creator is None or (needed is not None and id(creator) not in needed):
            return
        if creator.released:
            raise RuntimeError(
                f"{caller}: trying to go backward through the graph a second time, but its "
                f"buffers were freed by the first backward. Pass retain_graph=True to the "
                f"first backward (or grad) to keep them.")
        heapq.heappush(heap, (-tensor.generation, next(order), tensor))

    with _grad_mode(create_graph):
        for output, gradient in zip(outputs, grad_outputs):
            if not output.requires_grad:
                raise RuntimeError(
                    f"{caller}: the output (shape {output.shape}) does not require grad: no input "
                    f"had requires_grad=True, or it was computed under no_grad()")
            accumulate(output, _initial_gradient(output, gradient, caller))

        while heap:
            _, _, tensor = heapq.heappop(heap)
            node = tensor.creator
            is_target = target_ids is not None and id(tensor) in target_ids
            gradient = pending[id(tensor)] if is_target else pending.pop(id(tensor))
            if not is_target:
                del keep[id(tensor)]
            wanted = node.needs_input_grad
            if needed is not None:   # grad(): no gradient towards inputs that lead nowhere
                wanted = tuple([flag and (id(x) in target_ids or id(x.creator) in needed)
                                for flag, x in zip(wanted, node.inputs)])
            input_grads = node.backward(gradient, wanted)
            if not isinstance(input_grads, tuple):
                input_grads = (input_grads,)
            for x, flag, gx in zip(node.inputs, wanted, input_grads):
                if not flag or gx is None:
                    continue
                if gx.data.shape != x.data.shape:
                    raise RuntimeError(f"{node.name()}.backward returned a gradient of shape "
                                       f"{gx.shape} for an input of shape {x.shape} (a minigan bug)")
                accumulate(x, gx)
            if not retain_graph:
                node.release()

        if targets is not None:
            return {key: pending[key] for key in target_ids if key in pending}
        stored = set()
        for key, gradient in pending.items():
            leaf = keep[key]
            if leaf.creator is None and leaf.requires_grad:
                if not create_graph:
                    # Each leaf gets an array of its own: a view (a broadcast, say) or an
                    # array handed to two leaves would make an in-place update of one
                    # .grad change the other, or fail on a read-only view.
                    data = gradient.data
                    if data.base is not None or id(data) in stored:
                        data = data.copy()
                    stored.add(id(data))
                    gradient = Tensor(data)
                leaf.grad = gradient if leaf.grad is None else leaf.grad + gradient
    return None


def _initial_gradient(output, gradient, caller):
    if gradient is None:
        if output.size != 1:
            raise RuntimeError(
                f"{caller}: the gradient can be implied only for a one-element output, but this "
                f"output has shape {output.shape}; pass gradient= (a tensor of that shape), "
                f"or reduce the output first, e.g. output.sum()")
        return Tensor(backend.array_module(output.data).ones_like(output.data))
    if not isinstance(gradient, Tensor) or gradient.dtype != output.dtype:
        # A gradient given as an array, a list or another dtype is converted to the
        # output's dtype (as the output's own gradient must be); text is refused.
        values = array_of(gradient)
        kind = getattr(values, "dtype", numpy.asarray(values).dtype).kind
        if kind not in "biuf":
            raise TypeError(f"{caller}: gradient must be a tensor of numbers of the output's "
                            f"shape {output.shape}, got {type(gradient).__name__} with dtype "
                            f"kind {kind!r}")
        gradient = Tensor(backend.array_module(output.data).asarray(values, dtype=output.dtype))
    if gradient.shape != output.shape:
        raise RuntimeError(f"{caller}: gradient has shape {gradient.shape} but the output has "
                           f"shape {output.shape}; they must match")
    return gradient


def _nodes_leading_to(outputs, targets):
    """The ids of the Functions on some path from ``outputs`` back to a target tensor.

    ``grad`` only needs those; skipping the rest avoids computing (and, with
    ``create_graph``, recording) gradients for parameters nobody asked about.

    A node leads to a target when one of its inputs is a target or was made by a node
    that does, so each node is decided after the nodes that made its inputs: a
    depth-first walk from the outputs that decides a node when it is met the second
    time, on the way back (post-order). A graph's edges go from later to earlier
    operations, so there are no cycles and every input's node is decided by then.

    Generations rise along every path (a node's is the largest of its inputs'), so a
    node below the lowest target's generation cannot lead to a target, and the walk
    does not go into it. For the unrolled GAN, whose targets are the parameters after
    k differentiable steps, that leaves the k earlier steps' graphs unvisited.
    """
    target_ids = {id(t) for t in targets}
    lowest = min(t.generation for t in targets)
    needed, seen = set(), set()
    stack = [(t.creator, False) for t in outputs if t.creator is not None]
    while stack:
        node, inputs_decided = stack.pop()
        if inputs_decided:
            if node.released:
                needed.add(id(node))   # let the engine raise its clear error
                continue
            for x in node.inputs:
                if id(x) in target_ids or id(x.creator) in needed:
                    needed.add(id(node))
                    break
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        if not node.released:
            for x in node.inputs:
                creator = x.creator
                if (creator is not None and creator.generation >= lowest
                        and id(creator) not in seen):
                    stack.append((creator, False))
    return needed
