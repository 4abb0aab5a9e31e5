"""Chapter 14 exercises: the Dirac-GAN's closed forms, one extragradient step, and the rank
correlation that says whether a loss tracks progress.

Replace each ``raise NotImplementedError`` with your code, then check it with

    pytest --solutions=mine -m ch14

NumPy in, NumPy (or floats) out, in float64. Leave the arrays passed in as they are.
"""


def dirac_jacobian(theta, psi, f_prime, f_second):
    """Exercise 14.1. The Jacobian of the Dirac-GAN's field

        v(theta, psi) = (-psi f'(psi theta), theta f'(psi theta))

    at the point (theta, psi) (floats), with ``f_prime`` and ``f_second`` the functions f' and
    f'' (they take a float and return one). Return the (2, 2) float64 array
    [[dv_1/dtheta, dv_1/dpsi], [dv_2/dtheta, dv_2/dpsi]]. Mind the product rule: f' is taken at
    psi theta, which depends on both. At (0, 0) it must be [[0, -f'(0)], [f'(0), 0]]."""
    raise NotImplementedError("Exercise 14.1: dirac_jacobian")


def simultaneous_spectral_radius(jacobian, lr):
    """Exercise 14.2. Simultaneous gradient steps w <- w + lr v(w) near an equilibrium with
    field Jacobian ``jacobian`` (an (n, n) array) apply the map I + lr J. Return its spectral
    radius, the largest |eigenvalue| (a float): the distance to the equilibrium grows (> 1)
    or shrinks (< 1) by this factor per step. The eigenvalues may be complex."""
    raise NotImplementedError("Exercise 14.2: simultaneous_spectral_radius")


def extragradient_step(w, field, lr):
    """Exercise 14.3. One extragradient step for the players' field ``field`` (a function from
    a float64 array (n,) of all parameters to the array (n,) of directions they move in,
    v = -(each player's gradient of its own loss)):

        w_half = w + lr v(w),      w_new = w + lr v(w_half).

    Note where the second step starts. Return w_new (a new float64 array); leave w as it is."""
    raise NotImplementedError("Exercise 14.3: extragradient_step")


def regularised_eigenvalues(f_prime, gamma):
    """Exercise 14.4. The eigenvalues of the Dirac-GAN's Jacobian at the equilibrium with the
    R1 penalty gamma/2 psi^2 on D: J = [[0, -f'], [f', -gamma]]. Return both as a complex128
    array (2,), in any order: -gamma/2 +- sqrt(gamma^2/4 - f'^2), complex when gamma < 2 f',
    real (both negative) when gamma > 2 f'."""
    raise NotImplementedError("Exercise 14.4: regularised_eigenvalues")


def spearman(x, y):
    """Exercise 14.5. Spearman's rank correlation of two equally long samples x, y (N,): the
    Pearson correlation of their ranks (1 for the smallest). Tied values share the mean of
    the ranks they occupy ([5, 1, 5] has the ranks [2.5, 1, 2.5]). Return a float in [-1, 1].
    scipy.stats.spearmanr(x, y)[0] must agree (use it to check, not to answer)."""
    raise NotImplementedError("Exercise 14.5: spearman")
