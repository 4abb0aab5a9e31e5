"""Chapter 04 exercises: the measuring stick of mode collapse, and the two fixes' key moves.

Replace each ``raise NotImplementedError`` with your code, then check it with

    pytest --solutions=mine -m ch04

NumPy arrays in, NumPy arrays out, except in Exercise 4.4, which works on minigan Tensors.
Leave the arrays and Tensors passed in unchanged (the tests check).
"""


def ring_centres(n_modes, radius):
    """Exercise 4.1. The centres of the ring benchmark: ``n_modes`` points equally spaced on
    the circle of ``radius`` round the origin, the first at (radius, 0), going anticlockwise.
    Return an (n_modes, 2) array. (How many distinct angles does numpy.linspace(0, 2 pi, n)
    give you?)"""
    raise NotImplementedError("Exercise 4.1: ring_centres")


def mode_statistics(samples, centres, std):
    """Exercise 4.2. The VEEGAN/PacGAN protocol for samples (N, 2) of a mixture whose K modes
    have centres (K, 2) and standard deviation ``std``. Return (modes, high_quality, reverse_kl):

    * a sample is high quality when its (Euclidean) distance to its nearest centre is
      below 3 std: strictly, a sample exactly 3 std away is not;
    * ``high_quality``: the fraction of the N samples that are high quality;
    * ``modes``: how many centres are the nearest centre of at least one high-quality sample;
    * ``reverse_kl``: KL(q || p) with q_k the share of the *high-quality* samples nearest to
      centre k and p_k = 1/K; empty modes contribute 0 (0 log 0 = 0); NaN if no sample is
      high quality.

    K is the number of rows of ``centres``, not always the ring's 8."""
    raise NotImplementedError("Exercise 4.2: mode_statistics")


def pack(samples, m):
    """Exercise 4.3. PacGAN's input: cut samples (m n, d) into n packs of m consecutive samples
    and put each pack's samples side by side, giving (n, m d):
    pack i = [samples[i m], samples[i m + 1], ..., samples[i m + m - 1]]."""
    raise NotImplementedError("Exercise 4.3: pack")


def sgd_step(loss, parameters, lr):
    """Exercise 4.4. One differentiable step of gradient descent, as the unrolled GAN takes it:
    return the list [p - lr * dloss/dp for p in parameters] of minigan Tensors, built so that
    the new parameters can themselves be differentiated (with respect to anything the loss
    depended on). Hint: ``minigan.grad`` and its ``create_graph`` argument.

    The unrolled GAN calls it again on the parameters it returned, which are not leaves
    (backward() leaves their .grad None), and on parameters whose .grad may still hold an
    earlier step's gradient: so take dloss/dp from the loss itself, not from .grad, and
    leave the parameters unchanged."""
    raise NotImplementedError("Exercise 4.4: sgd_step")
