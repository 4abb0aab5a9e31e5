"""The Dirac-GAN: the smallest GAN, whose training dynamics can be solved on paper.

Mescheder, Geiger & Nowozin (2018), "Which training methods for GANs do actually converge?".
The data are a point mass at 0; the generator is a point mass at theta; the discriminator
is linear, D(x) = psi x. With f the loss's link function the game's value is

    L(theta, psi) = f(psi theta) + f(0),

which G lowers (in theta) and D raises (in psi). For the standard GAN
f(t) = -log(1 + e^{-t}), so f'(0) = 1/2 and f''(0) = -1/4; for the Wasserstein GAN
f(t) = t. (Here D scores *generated* points high; flipping psi's sign gives the usual
convention and the same dynamics.) The players' **gradient vector field** is

    v(theta, psi) = (-dL/dtheta, dL/dpsi) = (-psi f'(psi theta), theta f'(psi theta)),

its only zero is the equilibrium (0, 0), and its Jacobian there is

    J = [[0, -f'(0)], [f'(0), 0]],      eigenvalues +- i f'(0):

a pure rotation. What a training method does with it:

* the **continuous flow** dw/dt = v(w) circles: theta^2 + psi^2 is conserved exactly
  (d/dt (theta^2 + psi^2) = 2 theta (-psi f') + 2 psi (theta f') = 0);
* **simultaneous** gradient steps w <- w + h v(w) have the update map I + h J near 0, a
  rotation scaled by sqrt(1 + h^2 f'(0)^2) > 1: they spiral *out*;
* **alternating** steps (D, then G at D's new psi) have a map of determinant 1 whose
  eigenvalues lie on the unit circle for h f'(0) < 2: they circle, neither in nor out;
* a **zero-centred penalty** on D's gradient at the data, R1 = gamma/2 psi^2, adds -gamma
  to J's lower right entry: eigenvalues -gamma/2 +- sqrt(gamma^2/4 - f'(0)^2), real parts
  < 0, so the flow and small enough steps converge;
* **instance noise** (N(0, sigma^2) added to real and generated points) adds
  2 f''(0) sigma^2 there: the same as R1 with gamma = -2 f''(0) sigma^2 (sigma^2 / 2 for the
  standard GAN);
* **extragradient** and **optimistic** steps (``minigan.optim.ExtraSGD``, ``OptimisticSGD``)
  look one step ahead and spiral in even without a penalty;
* **WGAN-GP**'s penalty gamma/2 (|psi| - 1)^2 wants D's slope to be 1 at the equilibrium,
  where the best slope is 0: it pushes psi away from 0, and the iterates circle at a
  distance instead of converging.

This module computes the field by minigan's autograd on Tensors (``player_losses``,
``vector_field``), runs the discrete methods with minigan's optimizers (``simulate``) and the
flow by Runge-Kutta (``flow``), and gives each method's closed form (``jacobian``,
``update_matrix``, ``spectral_radius``) to check them against.
"""
import math

import numpy

from minigan.autograd import grad
from minigan.creation import tensor, zeros
from minigan.gan.penalties import gradient_penalty, r1_penalty
from minigan.ops import softplus, sum as tensor_sum
from minigan.optim import SGD, ExtraSGD, OptimisticSGD

LOSSES = ("standard", "wasserstein")
REGULARISERS = (None, "r1", "wgan-gp")
METHODS = ("simultaneous", "alternating", "extragradient", "optimistic")

# f'(0) and f''(0) of each loss's link function.
F_PRIME = {"standard": 0.5, "wasserstein": 1.0}
F_SECOND = {"standard": -0.25, "wasserstein": 0.0}


def _check_game(loss, regulariser, gamma, noise_std):
    if loss not in LOSSES:
        raise ValueError(f"dirac-gan: loss must be one of {LOSSES}, got {loss!r}")
    if regulariser not in REGULARISERS:
        raise ValueError(f"dirac-gan: regulariser must be one of {REGULARISERS}, got "
                         f"{regulariser!r}")
    for name, value in (("gamma", gamma), ("noise_std", noise_std)):
        if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
            raise ValueError(f"dirac-gan: {name} must be a finite number >= 0, got {value!r}")


def link(t, loss="standard"):
    """f(t): -log(1 + e^{-t}) = -softplus(-t) for the standard GAN, t for WGAN."""
    return -softplus(-t) if loss == "standard" else t


def _noise_nodes(noise_std, points):
    """Gauss-Hermite nodes and weights for E over eps ~ N(0, noise_std^2): exact for
    polynomials of degree < 2 points, so the expected loss is computed, not sampled."""
    nodes, weights = numpy.polynomial.hermite_e.hermegauss(points)
    return noise_std * nodes, weights / math.sqrt(2 * math.pi)


def game_value(theta, psi, loss="standard", noise_std=0.0, points=40):
    """L(theta, psi) = f(psi theta) + f(0), or with instance noise of std sigma
    E_eps[f(psi (theta + eps)) + f(-psi eps)], eps ~ N(0, sigma^2) (Gauss-Hermite, ``points``
    nodes). theta and psi are Tensors of shape (1,); the value is a Tensor of shape ()."""
    if noise_std == 0:
        return tensor_sum(link(psi * theta, loss)) + float(link(tensor(0.0, dtype=psi.dtype),
                                                                 loss).item())
    nodes, weights = _noise_nodes(noise_std, points)
    eps = tensor(nodes, dtype=psi.dtype)
    w = tensor(weights, dtype=psi.dtype)
    return tensor_sum(w * (link(psi * (theta + eps), loss) + link(-psi * eps, loss)))


def player_losses(theta, psi, loss="standard", regulariser=None, gamma=0.0, noise_std=0.0):
    """(G's loss, D's loss), each to be *minimised* by its player: L and -L + D's penalty.

    The penalties are minigan's own (``minigan.gan.penalties``), applied to the critic
    x -> psi x, whose input gradient is psi everywhere:

    * ``"r1"``: gamma/2 |grad_x D(0)|^2 = gamma/2 psi^2 on the data point 0;
    * ``"wgan-gp"``: (gamma/2) (|grad_x D(x_hat)| - 1)^2 at x_hat = theta / 2 (any point of the
      segment: the gradient is the same); use it with ``loss="wasserstein"``.
    """
    _check_game(loss, regulariser, gamma, noise_std)
    value = game_value(theta, psi, loss, noise_std)
    loss_d = -value
    if regulariser is not None:
        def critic(x):
            return x * psi

        real = zeros(1, 1, dtype=psi.dtype)
        if regulariser == "r1":
            loss_d = loss_d + r1_penalty(critic, real, gamma=gamma)
        else:
            fake = theta.detach().reshape(1, 1)
            loss_d = loss_d + gradient_penalty(critic, real, fake, weight=gamma / 2,
                                               eps=[0.5])
    return value, loss_d


def _parameters(start):
    start = numpy.asarray(start, dtype=numpy.float64)
    if start.shape != (2,) or not numpy.all(numpy.isfinite(start)):
        raise ValueError(f"dirac-gan: start must be a finite point (theta, psi), got {start!r}")
    return (tensor([start[0]], requires_grad=True, dtype="float64"),
            tensor([start[1]], requires_grad=True, dtype="float64"))


def _set_gradients(theta, psi, game, which=("theta", "psi")):
    """Each player's gradient of its own loss into .grad (the optimizers read them there)."""
    loss_g, loss_d = player_losses(theta, psi, **game)
    if "theta" in which:
        (theta.grad,) = grad(loss_g, theta, retain_graph=True)   # D's loss shares the graph
    if "psi" in which:
        (psi.grad,) = grad(loss_d, psi)


def vector_field(point, **game):
    """v(theta, psi) = (-dL_G/dtheta, -dL_D/dpsi) by autograd, as a float64 array (2,).

    ``game``: loss, regulariser, gamma, noise_std (see ``player_losses``)."""
    theta, psi = _parameters(point)
    _set_gradients(theta, psi, game)
    return -numpy.array([theta.grad.item(), psi.grad.item()])


def simulate(method, start, steps, lr, **game):
    """Train the Dirac-GAN from ``start`` = (theta, psi) for ``steps`` steps of size ``lr``.

    method: ``"simultaneous"`` (both players step from the same point, ``optim.SGD``),
    ``"alternating"`` (D steps, then G steps against the new D), ``"extragradient"``
    (``optim.ExtraSGD``) or ``"optimistic"`` (``optim.OptimisticSGD``). Returns the
    trajectory, a float64 array (steps + 1, 2) of (theta, psi), the start first.
    """
    if method not in METHODS:
        raise ValueError(f"simulate: method must be one of {METHODS}, got {method!r}")
    if not (isinstance(steps, int) and steps >= 0):
        raise ValueError(f"simulate: steps must be a whole number >= 0, got {steps!r}")
    theta, psi = _parameters(start)
    both = [theta, psi]
    optimizer = {"simultaneous": SGD, "alternating": SGD, "extragradient": ExtraSGD,
                 "optimistic": OptimisticSGD}[method](both, lr=lr)
    path = numpy.empty((steps + 1, 2))
    path[0] = start
    for step in range(1, steps + 1):
        optimizer.zero_grad()
        if method == "alternating":
            _set_gradients(theta, psi, game, which=("psi",))
            optimizer.step()                    # only psi has a gradient: D moves first
            optimizer.zero_grad()
            _set_gradients(theta, psi, game, which=("theta",))
            optimizer.step()                    # then G, against the D just updated
        elif method == "extragradient":
            _set_gradients(theta, psi, game)
            optimizer.extrapolate()
            optimizer.zero_grad()
            _set_gradients(theta, psi, game)
            optimizer.step()
        else:
            _set_gradients(theta, psi, game)
            optimizer.step()
        path[step] = theta.item(), psi.item()
    return path


def flow(start, duration, dt, **game):
    """The continuous flow dw/dt = v(w) from ``start`` by classical Runge-Kutta (RK4), steps of
    ``dt``: a float64 array (round(duration / dt) + 1, 2) of (theta, psi)."""
    steps = int(round(duration / dt))
    path = numpy.empty((steps + 1, 2))
    path[0] = w = numpy.asarray(start, dtype=numpy.float64)
    for step in range(1, steps + 1):
        k1 = vector_field(w, **game)
        k2 = vector_field(w + dt / 2 * k1, **game)
        k3 = vector_field(w + dt / 2 * k2, **game)
        k4 = vector_field(w + dt * k3, **game)
        path[step] = w = w + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    return path


# --- the closed forms --------------------------------------------------------------------
def jacobian(loss="standard", gamma=0.0, noise_std=0.0):
    """The Jacobian of v at the equilibrium, rows and columns (theta, psi):

        [[0, -f'(0)], [f'(0), -gamma + 2 f''(0) sigma^2]]

    (gamma: R1's weight; sigma: the instance noise's std). WGAN-GP has none: its penalty
    is not differentiable where |grad D| = 0."""
    _check_game(loss, None, gamma, noise_std)
    c = F_PRIME[loss]
    return numpy.array([[0.0, -c], [c, -gamma + 2 * F_SECOND[loss] * noise_std ** 2]])


def regularised_eigenvalues(f_prime, gamma):
    """The eigenvalues of [[0, -f'], [f', -gamma]]: -gamma/2 +- sqrt(gamma^2/4 - f'^2), as a
    complex array (2,), the one with the + first."""
    root = numpy.sqrt(complex(gamma ** 2 / 4 - f_prime ** 2))
    return numpy.array([-gamma / 2 + root, -gamma / 2 - root])


def update_matrix(method, J, lr):
    """The linear map one step of ``method`` applies near the equilibrium, for the field
    v(w) ~ J w:

    * simultaneous:  I + lr J
    * alternating:   (I + lr J_G) (I + lr J_D), J_D and J_G J's psi row and theta row
    * extragradient: I + lr J + lr^2 J^2
    * optimistic:    the (4, 4) map of (w_t, w_{t-1}), [[I + 2 lr J, -lr J], [I, 0]]
    """
    J = numpy.asarray(J, dtype=numpy.float64)
    identity = numpy.eye(2)
    if method == "simultaneous":
        return identity + lr * J
    if method == "alternating":
        d_step, g_step = identity.copy(), identity.copy()
        d_step[1] += lr * J[1]
        g_step[0] += lr * J[0]
        return g_step @ d_step
    if method == "extragradient":
        return identity + lr * J + lr ** 2 * J @ J
    if method == "optimistic":
        return numpy.block([[identity + 2 * lr * J, -lr * J], [identity, numpy.zeros((2, 2))]])
    raise ValueError(f"update_matrix: method must be one of {METHODS}, got {method!r}")


def spectral_radius(matrix):
    """max |eigenvalue|: the factor by which a linear map stretches its slowest-dying mode
    per step (the distance to the equilibrium falls, or grows, like radius^k)."""
    return float(numpy.max(numpy.abs(numpy.linalg.eigvals(numpy.asarray(matrix)))))


def measured_rate(path, start=0, stop=None):
    """The factor per step by which the distance to the equilibrium changes along ``path``:
    exp(slope) of a least-squares line through log ||w_k|| for k in [start, stop)."""
    distance = numpy.linalg.norm(numpy.asarray(path)[start:stop], axis=1)
    steps = numpy.arange(len(distance))
    slope = numpy.polyfit(steps, numpy.log(distance), 1)[0]
    return float(numpy.exp(slope))
