"""``Parameter`` and ``Module``: how a network keeps track of its own weights.

A layer is a function with state. ``Linear`` computes ``x @ W.T + b``, and W and b
must survive between calls, be found by the optimizer, be saved to disk and be
loaded back. ``Module`` does that bookkeeping once for every layer and model:

* a **Parameter** is a Tensor the optimizer should train (``requires_grad=True``);
* a **buffer** is a Tensor that belongs to the model's state but is not trained,
  such as batch norm's running mean; it is registered with :meth:`Module.register_buffer`;
* a **child module** is a Module stored as an attribute; its parameters and buffers
  are found recursively and named with a dotted path (``'0.weight'``, ``'main.3.bias'``).

There is no registration step for parameters and children: assigning them as
attributes in ``__init__`` is enough, because ``Module`` simply looks through the
object's attributes (``vars(self)``) for Parameters and Modules, in the order they
were assigned. A model is then written exactly as in PyTorch::

    class Generator(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(100, 784)

        def forward(self, z):
            return self.fc(z).tanh()
"""
import collections
import collections.abc

import numpy

from minigan import backend
from minigan.autograd import Tensor
from minigan.creation import tensor as _new_tensor


class Parameter(Tensor):
    """A Tensor that is a trainable weight of a Module (``requires_grad=True``).

    ``Parameter(data)`` takes a Tensor (sharing its array, as PyTorch does), an
    array, or nested Python numbers (which become float32).
    """

    __slots__ = ()

    def __init__(self, data, requires_grad=True):
        array = data.data if isinstance(data, Tensor) else _new_tensor(data).data
        super().__init__(array, requires_grad=requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


IncompatibleKeys = collections.namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class Module:
    """The base class of every layer and every model.

    Subclasses call ``super().__init__()`` first, assign their Parameters and
    sub-Modules as attributes, and define ``forward``. Calling the module,
    ``module(x)``, runs ``forward(x)``.

    Attributes:
        training: True in training mode (dropout drops, batch norm uses batch
            statistics), False in evaluation mode; set with ``train()``/``eval()``.
    """

    def __init__(self):
        self.training = True
        self._buffer_names = {}   # buffer name -> persistent (saved in state_dict)

    def __getattr__(self, name):
        # Called only when normal lookup fails: explain the most common cause.
        if name in ("training", "_buffer_names"):
            raise AttributeError(f"{type(self).__name__} has no attribute {name!r}: did its "
                                 f"__init__ forget to call super().__init__() first?")
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def forward(self, *args, **kwargs):
        """The computation of this module; every subclass defines it."""
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    # --- registering state ---------------------------------------------------------------
    def register_buffer(self, name, tensor, persistent=True):
        """Attach ``tensor`` as a buffer: part of the state, never trained.

        Buffers move with ``state_dict``/``load_state_dict`` (unless
        ``persistent=False``) but are not returned by ``parameters()``, so no
        optimizer touches them. Batch norm's running mean and variance are buffers.
        """
        if not isinstance(name, str) or not name or "." in name:
            raise KeyError(f"register_buffer: the name must be a non-empty string without "
                           f"dots, got {name!r}")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"register_buffer: {name!r} must be a Tensor or None, "
                            f"got {type(tensor).__name__}")
        if isinstance(tensor, Parameter):
            raise TypeError(f"register_buffer: {name!r} is a Parameter; assign it as an "
                            f"attribute instead (parameters are trained, buffers are not)")
        self._buffer_names[name] = persistent
        setattr(self, name, tensor)

    def add_module(self, name, module):
        """Attach ``module`` as the child called ``name`` (same as ``setattr``)."""
        if not isinstance(module, Module) and module is not None:
            raise TypeError(f"add_module: {name!r} must be a Module, got {type(module).__name__}")
        setattr(self, name, module)

    # --- walking the tree ----------------------------------------------------------------
    def named_children(self):
        """Yield (name, module) for each direct child, in the order they were assigned."""
        for name, value in vars(self).items():
            if isinstance(value, Module):
                yield name, value

    def children(self):
        """Yield each direct child module."""
        for _, module in self.named_children():
            yield module

    def named_modules(self, prefix=""):
        """Yield (dotted name, module) for this module and every module below it.

        The root comes first with the name ``''``; a module reachable twice
        (shared between two parents) is yielded once.
        """
        seen = set()
        stack = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            yield name, module
            children = [(f"{name}.{child_name}" if name else child_name, child)
                        for child_name, child in module.named_children()]
            stack.extend(reversed(children))   # reversed: the first child is visited first

    def modules(self):
        """Yield this module and every module below it."""
        for _, module in self.named_modules():
            yield module

    def _own_parameters(self):
        for name, value in vars(self).items():
            if isinstance(value, Parameter):
                yield name, value

    def _own_buffers(self, persistent_only=False):
        for name, persistent in self._buffer_names.items():
            value = getattr(self, name)
            if value is not None and (persistent or not persistent_only):
                yield name, value

    def named_parameters(self):
        """Yield (dotted name, Parameter) for every parameter, each Parameter once.

        Each module's own parameters come before those of its children, as in PyTorch.
        """
        seen = set()
        for prefix, module in self.named_modules():
            for name, param in module._own_parameters():
                if id(param) not in seen:
                    seen.add(id(param))
                    yield (f"{prefix}.{name}" if prefix else name), param

    def parameters(self):
        """Yield every Parameter (what an optimizer is given)."""
        for _, param in self.named_parameters():
            yield param

    def named_buffers(self):
        """Yield (dotted name, Tensor) for every buffer."""
        for prefix, module in self.named_modules():
            for name, buffer in module._own_buffers():
                yield (f"{prefix}.{name}" if prefix else name), buffer

    def buffers(self):
        """Yield every buffer."""
        for _, buffer in self.named_buffers():
            yield buffer

    def apply(self, fn):
        """Call ``fn(module)`` on every child (recursively), then on self; return self.

        This is how a custom initialisation reaches every layer::

            netD.apply(minigan.models.dcgan_init_)
        """
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # --- modes and gradients -------------------------------------------------------------
    def train(self, mode=True):
        """Put this module and all below it in training mode (or eval when mode=False)."""
        for module in self.modules():
            module.training = bool(mode)
        return self

    def eval(self):
        """Put this module and all below it in evaluation mode; same as ``train(False)``."""
        return self.train(False)

    def zero_grad(self):
        """Forget the gradients of every parameter (set ``.grad`` to None)."""
        for param in self.parameters():
            param.grad = None

    # --- saving and loading --------------------------------------------------------------
    def _state_tensors(self):
        """(dotted name, Tensor) for what state_dict saves: parameters, persistent buffers."""
        for prefix, module in self.named_modules():
            own = list(module._own_parameters()) + list(module._own_buffers(persistent_only=True))
            for name, value in own:
                yield (f"{prefix}.{name}" if prefix else name), value

    def state_dict(self):
        """An ordered dict from dotted names to host NumPy copies of parameters and buffers.

        The values are plain ``numpy.ndarray`` copies, independent of the model and
        of the device, so ``numpy.savez(path, **model.state_dict())`` saves a model.
        """
        return collections.OrderedDict(
            (name, backend.to_numpy(value.data).copy()) for name, value in self._state_tensors())

    def load_state_dict(self, state_dict, strict=True):
        """Copy the values of ``state_dict`` into this module's parameters and buffers.

        Values may be NumPy arrays, CuPy arrays or Tensors; each is copied onto
        the device (and into the dtype) of the tensor it replaces, in place (so
        integer arrays load into float weights as their values). Nothing is changed
        unless every key loads.

        Raises:
            TypeError: ``state_dict`` is not a mapping (a model, a list, None).
            RuntimeError: naming every missing key, unexpected key (with ``strict``),
                every shape mismatch, with both shapes, and every value that does not
                hold numbers (text, objects) (always).

        Returns:
            ``IncompatibleKeys(missing_keys, unexpected_keys)``, both empty under ``strict``.
        """
        if not isinstance(state_dict, collections.abc.Mapping):
            hint = ("; pass model.state_dict()" if isinstance(state_dict, Module) else "")
            raise TypeError(f"load_state_dict: expected a dict from names to arrays (what "
                            f"state_dict() returns), got {type(state_dict).__name__}{hint}")
        targets = collections.OrderedDict(self._state_tensors())
        missing = [key for key in targets if key not in state_dict]
        unexpected = [key for key in state_dict if key not in targets]
        problems = []
        if strict and missing:
            problems.append("missing key(s): " + ", ".join(repr(k) for k in missing))
        if strict and unexpected:
            problems.append("unexpected key(s): " + ", ".join(repr(k) for k in unexpected))
        for key, target in targets.items():
            if key in state_dict:
                value = _host(state_dict[key])
                if numpy.asarray(value).dtype.kind not in "biuf":
                    problems.append(f"{key!r} holds {type(state_dict[key]).__name__} of dtype "
                                    f"{numpy.asarray(value).dtype}, not numbers")
                    continue
                shape = tuple(numpy.shape(value))
                if shape != target.shape:
                    problems.append(f"shape mismatch for {key!r}: the state_dict has shape "
                                    f"{shape}, the module's tensor has shape {target.shape}")
        if problems:
            raise RuntimeError(f"load_state_dict: error(s) loading into {type(self).__name__}:\n  "
                               + "\n  ".join(problems))
        for key, target in targets.items():
            if key in state_dict:
                xp = backend.array_module(target.data)
                target.data[...] = xp.asarray(_host(state_dict[key]), dtype=target.dtype)
        return IncompatibleKeys(missing, unexpected)

    # --- printing ------------------------------------------------------------------------
    def extra_repr(self):
        """The settings shown between the parentheses of this module's repr."""
        return ""

    def __repr__(self):
        lines = []
        for name, child in self.named_children():
            child_lines = repr(child).split("\n")
            lines.append(f"  ({name}): " + "\n  ".join(child_lines))
        if not lines:
            return f"{type(self).__name__}({self.extra_repr()})"
        extra = self.extra_repr()
        head = f"{type(self).__name__}(" + (f"\n  {extra}" if extra else "")
        return head + "\n" + "\n".join(lines) + "\n)"


def _host(value):
    """A state_dict value as a NumPy array (Tensors and CuPy arrays are copied to the host)."""
    if isinstance(value, Tensor):
        value = value.data
    return backend.to_numpy(value)
