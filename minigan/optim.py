"""Optimizers: SGD, Adam and RMSprop, with PyTorch's update rules, defaults and state.

An optimizer holds a list of parameters and, after ``loss.backward()`` has filled
each ``p.grad``, moves every parameter a little way downhill with ``step()``::

    opt = optim.Adam(netG.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt.zero_grad()            # forget the previous gradients
    loss.backward()            # p.grad = dL/dp
    opt.step()                 # p <- p - (a step computed from p.grad)

The update is arithmetic on the raw arrays (``p.data``, ``p.grad.data``), done in
place with the parameter's own array module (numpy or cupy): it records no graph,
so parameters stay leaves, and a float32 parameter stays float32 (hyperparameters
are Python floats, which under NumPy's promotion rules never widen an array).

Parameters may also be given as *groups*, each a dict with its own settings, as
in PyTorch: ``SGD([{'params': a}, {'params': b, 'lr': 0.1}], lr=0.01)``.

``clip_weights_`` is the constraint of the original WGAN, applied after each step:
it is not an optimizer but a projection of the parameters that the optimizer has
just moved.

``ExtraSGD`` (extragradient) and ``OptimisticSGD`` are optimizers for games, where each
player descends its own loss and plain gradient steps circle the equilibrium (chapter 14).
"""
import numbers

from minigan import backend
from minigan.autograd import Tensor


class Optimizer:
    """What every optimizer shares: parameter groups, per-parameter state, zero_grad,
    state_dict/load_state_dict, and the loop of ``step``.

    A subclass defines ``update(p, g, state, group)``: move the array ``p`` in place
    given its gradient array ``g``, its ``state`` dict (empty at the first step) and
    the settings of its ``group``; and ``check_settings(settings, owner)``, which
    refuses a setting out of its range (a negative lr, betas outside [0, 1)) with a
    ValueError, before any step could turn it into NaN weights. It runs on the
    defaults, on every parameter group and on loaded settings.
    """

    def __init__(self, params, defaults):
        name = type(self).__name__
        self.check_settings(defaults, name)
        self.defaults = dict(defaults)
        self.param_groups = []
        self.state = {}   # Parameter -> dict of step count and moment arrays
        if isinstance(params, Tensor):
            raise TypeError(f"{name}: params must be an iterable of Tensors "
                            f"(e.g. model.parameters() or [p]), got a single Tensor")
        try:
            params = list(params)
        except TypeError:
            raise TypeError(f"{name}: params must be an iterable of Tensors (e.g. "
                            f"model.parameters() or [p]), got {type(params).__name__}") from None
        if not params:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list "
                             f"(did the model's parameters() generator run out already?)")
        groups = params if isinstance(params[0], dict) else [{"params": params}]
        for group in groups:
            self.add_param_group(group)

    def check_settings(self, settings, owner):
        """Raise a ValueError naming ``owner`` when a setting is out of range (see above)."""

    def add_param_group(self, group):
        """Add a group ``{'params': [...], setting: value}``; unset settings take the defaults."""
        name, number = type(self).__name__, len(self.param_groups)
        if not isinstance(group, dict) or "params" not in group:
            raise TypeError(f"{name}: parameter group {number} must be a dict with a 'params' "
                            f"entry, got {type(group).__name__}"
                            + (f" with keys {sorted(group)}" if isinstance(group, dict) else ""))
        unknown = sorted(set(group) - set(self.defaults) - {"params"})
        if unknown:
            raise ValueError(f"{name}: parameter group {number} has unknown setting(s) {unknown}; "
                             f"{name}'s settings are {sorted(self.defaults)}")
        settings = {**self.defaults, **group}
        self.check_settings(settings, f"{name}: parameter group {number}")
        params = group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(f"{type(self).__name__}: parameter {i} is a "
                                f"{type(p).__name__}, not a Tensor")
            if not (p.is_leaf and p.requires_grad):
                raise ValueError(f"{type(self).__name__}: parameter {i} (shape {p.shape}) must be "
                                 f"a leaf tensor with requires_grad=True")
            if id(p) in seen:
                raise ValueError(f"{type(self).__name__}: parameter {i} (shape {p.shape}) "
                                 f"appears in more than one place")
            seen.add(id(p))
        self.param_groups.append({**settings, "params": params})

    def zero_grad(self):
        """Forget every parameter's gradient (set ``.grad`` to None), before the next backward."""
        for group in self.param_groups:
            for p in group["params"]:
                p.grad = None

    def step(self):
        """Update every parameter that has a gradient, in place, recording no graph."""
        for group in self.param_groups:
            for p in group["params"]:
                grad = p.grad
                if grad is None:
                    continue
                if not isinstance(grad, Tensor) or grad.shape != p.shape:
                    # backward always gives a gradient of the parameter's shape; this
                    # catches a .grad set by hand, before it broadcasts into the weights
                    raise ValueError(f"{type(self).__name__}.step: a parameter of shape "
                                     f"{p.shape} has a .grad of shape "
                                     f"{getattr(grad, 'shape', None)} ({type(grad).__name__}); "
                                     f"it must be a Tensor of the parameter's shape")
                self.update(p.data, grad.data, self.state.setdefault(p, {}), group)

    def update(self, p, g, state, group):
        raise NotImplementedError

    # --- saving and resuming -------------------------------------------------------------
    def state_dict(self):
        """The settings and state, as host NumPy copies, with parameters numbered in order.

        ``{'state': {index: {'step': int, name: ndarray, ...}},
           'param_groups': [{'lr': ..., ..., 'params': [index, ...]}]}``,
        the layout of PyTorch's optimizer state_dict.
        """
        index = {}
        groups = []
        for group in self.param_groups:
            numbers = [index.setdefault(id(p), len(index)) for p in group["params"]]
            groups.append({**{k: v for k, v in group.items() if k != "params"},
                           "params": numbers})
        state = {}
        for group in self.param_groups:
            for p in group["params"]:
                if self.state.get(p):
                    state[index[id(p)]] = {
                        key: value if key == "step" else backend.to_numpy(value).copy()
                        for key, value in self.state[p].items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restore settings and state saved by ``state_dict`` into this optimizer.

        The optimizer must have been built over parameters of the same shapes, in
        the same groups and order. Arrays are copied onto each parameter's device.
        """
        name = type(self).__name__
        if not isinstance(state_dict, dict) or not {"state", "param_groups"} <= set(state_dict):
            raise ValueError(f"{name}.load_state_dict: expected a dict with 'state' and "
                             f"'param_groups' (what Optimizer.state_dict() returns), got "
                             f"{type(state_dict).__name__}"
                             + (f" with keys {sorted(state_dict)}"
                                if isinstance(state_dict, dict) else ""))
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{name}.load_state_dict: the state has {len(saved_groups)} "
                             f"parameter groups, this optimizer has {len(self.param_groups)}")
        by_index = {}
        for i, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(f"{name}.load_state_dict: group {i} has {len(saved['params'])} "
                                 f"parameters in the state, {len(group['params'])} here")
            settings = sorted(set(saved) - {"params"})
            if settings != sorted(self.defaults):
                raise ValueError(f"{name}.load_state_dict: group {i} of the state has the "
                                 f"settings {settings}, but {name}'s are {sorted(self.defaults)}; "
                                 f"was it saved from another optimizer?")
            self.check_settings(saved, f"{name}.load_state_dict: group {i}")
            by_index.update(zip(saved["params"], group["params"]))
        new_state = {}
        for number, saved in state_dict["state"].items():
            if int(number) not in by_index:
                raise ValueError(f"{name}.load_state_dict: the state holds parameter number "
                                 f"{number}, but the groups number only {sorted(by_index)}")
            p = by_index[int(number)]
            xp = backend.array_module(p.data)
            entry = {}
            for key, value in saved.items():
                if key == "step":   # int() also accepts a 0-d array read back by numpy.load
                    entry[key] = int(value)
                    continue
                value = backend.to_numpy(value)
                if tuple(value.shape) != p.shape:
                    raise ValueError(f"{name}.load_state_dict: state {key!r} of parameter "
                                     f"{number} has shape {tuple(value.shape)}, the "
                                     f"parameter has shape {p.shape}")
                entry[key] = xp.array(value, dtype=p.dtype)   # a copy, on p's device
            new_state[p] = entry
        for saved, group in zip(saved_groups, self.param_groups):
            group.update({k: v for k, v in saved.items() if k != "params"})
        self.state = new_state

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {key}: {value}" for key, value in group.items() if key != "params"]
        return "\n".join(lines) + "\n)"


def _check(condition, message):
    if not condition:
        raise ValueError(message)


def _number(owner, name, value):
    """A setting as a float: a real number (not a bool, a string or None), and not NaN."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{owner}: {name} must be a number, got {value!r} "
                        f"({type(value).__name__})")
    value = float(value)
    _check(value == value, f"{owner}: {name} must be a number, got nan")
    return value


def _finite(owner, name, value):
    value = _number(owner, name, value)
    _check(abs(value) != float("inf"), f"{owner}: {name} must be finite, got {value}")
    return value


def _betas(owner, betas):
    """Adam's (beta1, beta2), each in [0, 1): a beta of 1 never forgets, and its bias
    correction 1 / (1 - beta^t) divides by zero."""
    try:
        pair = tuple(betas)
    except TypeError:
        pair = ()
    _check(len(pair) == 2, f"{owner}: betas must be a pair (beta1, beta2), got {betas!r}")
    pair = tuple(_number(owner, "betas", b) for b in pair)
    _check(all(0 <= b < 1 for b in pair), f"{owner}: betas must be in [0, 1), got {betas}")
    return pair


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with (Nesterov) momentum, as PyTorch computes it:

        g <- g + weight_decay * p
        b <- g                              at the first step (momentum > 0)
        b <- momentum * b + (1 - dampening) * g   afterwards
        g <- g + momentum * b   (nesterov)   or   g <- b   (plain momentum)
        p <- p - lr * g

    With momentum = 0 this is plain p <- p - lr * g.
    """

    def __init__(self, params, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False):
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov))

    def check_settings(self, settings, owner):
        """lr >= 0, momentum >= 0, dampening in [0, 1], weight_decay >= 0, all finite."""
        lr = _finite(owner, "lr", settings["lr"])
        _check(lr >= 0, f"{owner}: lr must be >= 0, got {lr}")
        momentum = _finite(owner, "momentum", settings["momentum"])
        _check(momentum >= 0, f"{owner}: momentum must be >= 0, got {momentum}")
        dampening = _number(owner, "dampening", settings["dampening"])
        _check(0 <= dampening <= 1, f"{owner}: dampening must be in [0, 1], got {dampening}")
        decay = _finite(owner, "weight_decay", settings["weight_decay"])
        _check(decay >= 0, f"{owner}: weight_decay must be >= 0, got {decay}")
        _check(not settings["nesterov"] or (momentum > 0 and dampening == 0),
               f"{owner}: nesterov momentum needs momentum > 0 and dampening = 0")

    def update(self, p, g, state, group):
        lr, momentum = float(group["lr"]), float(group["momentum"])
        decay = float(group["weight_decay"])
        if decay:
            g = g + decay * p
        if momentum:
            if "momentum_buffer" not in state:
                state["momentum_buffer"] = g.copy()
            else:
                b = state["momentum_buffer"]
                b *= momentum
                b += (1 - float(group["dampening"])) * g
            b = state["momentum_buffer"]
            g = g + momentum * b if group["nesterov"] else b
        p -= lr * g


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015) with bias correction, as PyTorch computes it. At step t = 1, 2, ...:

        g <- g + weight_decay * p
        m <- b1 m + (1 - b1) g                 (running mean of gradients, m starts at 0)
        v <- b2 v + (1 - b2) g^2               (running mean of squared gradients)
        m_hat = m / (1 - b1^t)                 (bias correction: m and v start at 0)
        v_hat = v / (1 - b2^t)
        p <- p - lr m_hat / (sqrt(v_hat) + eps)

    The step of each coordinate is about lr in size whatever the scale of the loss:
    m_hat / sqrt(v_hat) does not change when g is multiplied by a constant. DCGAN
    uses lr = 2e-4, betas = (0.5, 0.999).
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, dict(lr=lr, betas=_betas("Adam", betas), eps=eps,
                                      weight_decay=weight_decay))

    def check_settings(self, settings, owner):
        """lr >= 0, betas in [0, 1), eps > 0 (a zero gradient would give 0 / 0),
        weight_decay >= 0, all finite."""
        lr = _finite(owner, "lr", settings["lr"])
        _check(lr >= 0, f"{owner}: lr must be >= 0, got {lr}")
        _betas(owner, settings["betas"])
        eps = _finite(owner, "eps", settings["eps"])
        _check(eps > 0, f"{owner}: eps must be > 0, got {eps}")
        decay = _finite(owner, "weight_decay", settings["weight_decay"])
        _check(decay >= 0, f"{owner}: weight_decay must be >= 0, got {decay}")

    def update(self, p, g, state, group):
        xp = backend.array_module(p)
        lr, eps, decay = float(group["lr"]), float(group["eps"]), float(group["weight_decay"])
        b1, b2 = (float(b) for b in group["betas"])
        if not state:
            state.update(step=0, exp_avg=xp.zeros_like(p), exp_avg_sq=xp.zeros_like(p))
        if decay:
            g = g + decay * p
        state["step"] += 1
        t = state["step"]
        # Each element's update depends on that element alone, so a large parameter's
        # rows are split over the host's threads (backend.in_parts); atleast_1d gives a
        # one-element parameter a row. Every array is a view: the updates land in p, m, v.
        p, g, m, v = (xp.atleast_1d(a) for a in (p, g, state["exp_avg"], state["exp_avg_sq"]))

        def update_rows(start, stop):
            p_, g_, m_, v_ = p[start:stop], g[start:stop], m[start:stop], v[start:stop]
            # Every line below works in place on m, v, p or one scratch array. Written as
            # the equations (m_hat = m / (1 - b1^t), ...), each operation would allocate a
            # new array the size of p, nine per step: for the MLP GAN's 2 million weights
            # that was a third of the training step (page faults on fresh memory).
            scratch = xp.multiply(g_, 1 - b1)
            m_ *= b1
            m_ += scratch                                  # m = b1 m + (1 - b1) g
            xp.multiply(g_, g_, out=scratch)
            scratch *= 1 - b2
            v_ *= b2
            v_ += scratch                                  # v = b2 v + (1 - b2) g^2
            # lr m_hat / (sqrt(v_hat) + eps)
            #     = (lr / (1 - b1^t)) m / (sqrt(v) / sqrt(1 - b2^t) + eps),
            # the order in which PyTorch computes it.
            xp.sqrt(v_, out=scratch)
            scratch /= (1 - b2 ** t) ** 0.5
            scratch += eps                                 # sqrt(v_hat) + eps
            xp.divide(m_, scratch, out=scratch)
            scratch *= lr / (1 - b1 ** t)
            p_ -= scratch

        backend.in_parts(xp, len(p), p.size, update_rows)


class RMSprop(Optimizer):
    """RMSprop (Hinton, 2012), as PyTorch computes it (WGAN trains with it, lr = 5e-5):

        g <- g + weight_decay * p
        v <- alpha v + (1 - alpha) g^2          (running mean of squared gradients, from 0)
        b <- momentum b + g / (sqrt(v) + eps)   and   p <- p - lr b      (momentum > 0)
        p <- p - lr g / (sqrt(v) + eps)                                  (momentum = 0)
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0):
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum))

    def check_settings(self, settings, owner):
        """lr >= 0, alpha in [0, 1], eps > 0, momentum >= 0, weight_decay >= 0, all finite."""
        lr = _finite(owner, "lr", settings["lr"])
        _check(lr >= 0, f"{owner}: lr must be >= 0, got {lr}")
        alpha = _number(owner, "alpha", settings["alpha"])
        _check(0 <= alpha <= 1, f"{owner}: alpha must be in [0, 1], got {alpha}")
        eps = _finite(owner, "eps", settings["eps"])
        _check(eps > 0, f"{owner}: eps must be > 0, got {eps}")
        momentum = _finite(owner, "momentum", settings["momentum"])
        _check(momentum >= 0, f"{owner}: momentum must be >= 0, got {momentum}")
        decay = _finite(owner, "weight_decay", settings["weight_decay"])
        _check(decay >= 0, f"{owner}: weight_decay must be >= 0, got {decay}")

    def update(self, p, g, state, group):
        xp = backend.array_module(p)
        lr, alpha, eps = float(group["lr"]), float(group["alpha"]), float(group["eps"])
        decay, momentum = float(group["weight_decay"]), float(group["momentum"])
        if not state:
            state.update(step=0, square_avg=xp.zeros_like(p))
            if momentum:
                state["momentum_buffer"] = xp.zeros_like(p)
        if decay:
            g = g + decay * p
        v = state["square_avg"]
        v *= alpha
        v += (1 - alpha) * (g * g)
        state["step"] += 1
        scaled = g / (xp.sqrt(v) + eps)
        if momentum:
            b = state["momentum_buffer"]
            b *= momentum
            b += scaled
            p -= lr * b
        else:
            p -= lr * scaled


# --- a constraint applied after the step ---------------------------------------------------
def clip_weights_(parameters, c):
    """Clip every parameter into [-c, c], in place: WGAN's weight clipping.

    Arjovsky et al. (2017) keep the critic's weights in a compact set so that the
    critic is K-Lipschitz for some K (unknown, but fixed by c and the architecture);
    the critic then estimates K times the earth mover's distance. They clip every
    parameter of the critic, biases included, with c = 0.01, after each step of
    RMSprop::

        critic_optimizer.step()
        optim.clip_weights_(critic.parameters(), 0.01)

    Clipping is crude: with c too small the gradients vanish, too large and the
    critic is slow to reach its optimum (Gulrajani et al. 2017 replace it with a
    gradient penalty, ``minigan.gan.penalties``). Like ``step``, it changes the arrays
    in place and records no graph.

    Args:
        parameters: an iterable of Tensors (e.g. ``critic.parameters()``).
        c: the bound, > 0.
    """
    c = _finite("clip_weights_", "c", c)
    _check(c > 0, f"clip_weights_: c must be > 0, got {c}")
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    for p in parameters:
        xp = backend.array_module(p.data)
        xp.clip(p.data, -float(c), float(c), out=p.data)


# --- optimizers for games -------------------------------------------------------------------
# In a GAN each player descends its *own* loss: the "gradient" an optimizer sees is
# g = (dL_G/dtheta, dL_D/dpsi), which is not the gradient of any one function. Around an
# equilibrium the Jacobian of the players' field v = -g has (nearly) imaginary
# eigenvalues, and plain gradient
# steps rotate around it instead of falling into it (chapter 14). The two optimizers below
# look one step ahead, which turns the rotation into a spiral inwards. Give each parameter
# its own player's gradient (``p.grad`` of G's loss for G's parameters, of D's loss for
# D's): one optimizer can then hold both players.


def _sgd_settings(settings, owner):
    lr = _finite(owner, "lr", settings["lr"])
    _check(lr >= 0, f"{owner}: lr must be >= 0, got {lr}")


class ExtraSGD(Optimizer):
    """Extragradient (Korpelevich 1976; for GANs Gidel et al. 2019): step from where a plain
    step would have led. Each step needs the players' gradients twice::

        w_half = w - lr g(w)             opt.extrapolate()   (with g(w) in p.grad)
        w_new  = w - lr g(w_half)        opt.step()          (with g(w_half) in p.grad)

    ``extrapolate()`` moves every parameter to w_half and remembers w; after the
    gradients have been taken again there, ``step()`` moves back to w and takes the step
    with the new gradient. So a loop is::

        opt.zero_grad(); set_gradients(); opt.extrapolate()
        opt.zero_grad(); set_gradients(); opt.step()

    On a linear field g(w) = -J w (J the Jacobian of the players' field v = -g) one
    step is w <- (I + lr J + lr^2 J^2) w: for eigenvalues +-i c of J (the Dirac-GAN),
    |1 + i lr c - lr^2 c^2|^2 = 1 - lr^2 c^2 + lr^4 c^4 < 1 when lr c < 1, so the
    iterates spiral in where simultaneous steps (I + lr J, modulus sqrt(1 + lr^2 c^2))
    spiral out.
    """

    def __init__(self, params, lr):
        super().__init__(params, dict(lr=lr))
        self._extrapolated = False
        self._phase = None

    def check_settings(self, settings, owner):
        """lr >= 0 and finite."""
        _sgd_settings(settings, owner)

    def extrapolate(self):
        """w <- w - lr g(w) for every parameter with a gradient, remembering w."""
        if self._extrapolated:
            raise RuntimeError("ExtraSGD.extrapolate: called twice without step(); after "
                               "extrapolate() take the gradients again, then call step()")
        self._phase = "extrapolate"
        Optimizer.step(self)
        self._extrapolated = True

    def step(self):
        """w <- w_remembered - lr g(w_half): the step, taken from where extrapolate() started."""
        if not self._extrapolated:
            raise RuntimeError("ExtraSGD.step: call extrapolate() first (with the gradients at "
                               "the current point), then take the gradients again and step()")
        for group in self.param_groups:
            for p in group["params"]:
                state = self.state.get(p, {})
                if "anchor" in state and p.grad is None:
                    raise RuntimeError(f"ExtraSGD.step: a parameter of shape {p.shape} was "
                                       f"extrapolated but has no gradient at the new point")
        self._phase = "step"
        Optimizer.step(self)
        self._extrapolated = False

    def update(self, p, g, state, group):
        lr = float(group["lr"])
        if self._phase == "extrapolate":
            state["anchor"] = p.copy()
            p -= lr * g
        else:
            if "anchor" not in state:
                raise RuntimeError(f"ExtraSGD.step: a parameter of shape {p.shape} has a "
                                   f"gradient now but had none at extrapolate()")
            anchor = state.pop("anchor")
            anchor -= lr * g
            p[...] = anchor
            state["step"] = state.get("step", 0) + 1


class OptimisticSGD(Optimizer):
    """Optimistic gradient descent (Popov 1980; for GANs Daskalakis et al. 2018): one gradient
    per step, corrected by the previous one,

        w_{t+1} = w_t - lr (2 g_t - g_{t-1}),

    extragradient's look-ahead with the look-ahead's gradient replaced by the one of the
    step before (g_{-1} = g_0: the first step is a plain gradient step). On a linear
    field with eigenvalue lambda of the players' Jacobian J each mode follows
    z^2 - (1 + 2 lr lambda) z + lr lambda = 0; for lambda = +-i c the roots lie inside the
    unit circle when lr c is small, so the iterates spiral in.
    """

    def __init__(self, params, lr):
        super().__init__(params, dict(lr=lr))

    def check_settings(self, settings, owner):
        """lr >= 0 and finite."""
        _sgd_settings(settings, owner)

    def update(self, p, g, state, group):
        lr = float(group["lr"])
        previous = state.get("previous_grad", g)
        p -= lr * (2 * g - previous)
        state["previous_grad"] = g.copy()
        state["step"] = state.get("step", 0) + 1
