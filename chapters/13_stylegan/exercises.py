"""Chapter 13 exercises: the truncation trick, style mixing's crossover, and R1 by hand.

Replace each ``raise NotImplementedError`` with your code (NumPy arrays in and out), then
check it with

    pytest --solutions=mine -m ch13
"""


def truncate(w, w_avg, psi):
    """Exercise 13.1. The truncation trick: w' = w_avg + psi (w - w_avg) for each row of
    ``w`` (N, d), with ``w_avg`` (d,) the average style and psi a number (0: every row
    becomes w_avg; 1: w unchanged; a negative psi goes past w_avg to the other side).
    Returns an (N, d) array; the arrays passed in stay as they are."""
    raise NotImplementedError("Exercise 13.1: truncate")


def mixed_styles(w1, w2, crossover, num_layers):
    """Exercise 13.2. Style mixing: the style of each of ``num_layers`` layers, as an array
    (num_layers, N, d): layers 0 .. crossover - 1 get w1 (N, d), layers crossover ..
    num_layers - 1 get w2. (crossover = num_layers: w1 everywhere; 0: w2 everywhere.)"""
    raise NotImplementedError("Exercise 13.2: mixed_styles")


def r1_quadratic(x, A, b, gamma):
    """Exercise 13.3. R1 = gamma / 2 * mean_i ||grad_x D(x_i)||^2 for the discriminator
    D(x) = b . x + x^T A x / 2, with x (N, d) a batch of real points, A (d, d) any square
    matrix (not necessarily symmetric), b (d,). Work out grad_x D by hand; return a float."""
    raise NotImplementedError("Exercise 13.3: r1_quadratic")
