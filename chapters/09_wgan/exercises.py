"""Chapter 09 exercises: the pieces of WGAN and WGAN-GP, and the duality behind them.

Replace each ``raise NotImplementedError`` with your code, then check it with

    pytest --solutions=mine -m ch09

NumPy arrays in, NumPy arrays (or floats) out. Leave the arrays passed in as they are, except
where an exercise says to change them in place.
"""


def interpolate(real, fake, rng):
    """Exercise 9.1. WGAN-GP's interpolates between a batch of real and a batch of generated
    samples of the same shape (N, ...): x_hat_i = eps_i real_i + (1 - eps_i) fake_i, with
    eps_i ~ U[0, 1] *one per example*: all the coordinates (pixels, channels) of example i
    share eps_i. Draw them as ``rng.random(N)`` from ``rng`` (a numpy Generator; a shape
    (N, 1, ..., 1) draws the same numbers), so that one seed gives one x_hat. Return x_hat,
    shape (N, ...)."""
    raise NotImplementedError("Exercise 9.1: interpolate")


def clip_weights_(arrays, c):
    """Exercise 9.2. WGAN's weight clipping: clip every entry of every array in the list into
    [-c, c], *in place* (the arrays are the critic's parameters: the network must see the
    change), whatever their shape and memory layout. Entries already inside the interval stay
    exactly as they are."""
    raise NotImplementedError("Exercise 9.2: clip_weights_")


def wasserstein_estimate(critic, real, fake):
    """Exercise 9.3. The critic's estimate of the earth mover's distance,
    E_data[f(x)] - E_g[f(x)], from a batch ``real`` (N, ...) and a batch ``fake`` (M, ...):
    ``critic`` maps a batch to scores of shape (batch,) or (batch, 1). N and M may differ.
    Return a float."""
    raise NotImplementedError("Exercise 9.3: wasserstein_estimate")


def kantorovich_rubinstein_1d(x, y):
    """Exercise 9.4. W1 between two 1-D samples x (N,) and y (M,) by the Kantorovich-Rubinstein
    duality, W1 = max over 1-Lipschitz f of E_x[f] - E_y[f]: build the best critic and
    return (estimate, critic), critic a function from an array of points to their values.

    Hint: E_x[f] - E_y[f] = integral of f'(t) (F_y(t) - F_x(t)) dt, with F_x, F_y the
    empirical distribution functions, and |f'| <= 1. Between consecutive points of the pooled
    sorted sample both F are constant: choose the slope there, and integrate it
    (numpy.cumsum, numpy.interp). scipy.stats.wasserstein_distance(x, y) must agree."""
    raise NotImplementedError("Exercise 9.4: kantorovich_rubinstein_1d")
