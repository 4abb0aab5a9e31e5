"""Chapter 03 exercises: the pieces of the 2014 model and of its evaluation.

Replace each ``raise NotImplementedError`` with your code, then check it with

    pytest --solutions=mine -m ch03

NumPy arrays in, NumPy arrays out; leave the arrays passed in unchanged (the tests check).
"""


def maxout(x, weight, bias, pieces):
    """Exercise 3.1. A maxout layer: weight (units * pieces, in), bias (units * pieces,),
    x (N, in). Piece p of unit j is row j * pieces + p. Return (N, units): for each unit,
    the largest of its ``pieces`` affine functions x w^T + b."""
    raise NotImplementedError("Exercise 3.1: maxout")


def parzen_log_likelihood(samples, data, sigma):
    """Exercise 3.2. The log-likelihood of each row of ``data`` (m, d) under a Gaussian
    kernel density with width ``sigma`` centred on the rows of ``samples`` (n, d):

        log p(x) = log( (1/n) sum_i N(x; samples_i, sigma^2 I) )

    Return an array of m finite numbers, even when every exp(...) underflows to 0: the
    check puts the data 100 away from every sample with sigma = 0.05, where it must get the
    exact, very negative, value."""
    raise NotImplementedError("Exercise 3.2: parzen_log_likelihood")


def uniform_noise(rng, n, dim):
    """Exercise 3.3. The generator's input of the original GAN: an (n, dim) array of
    n * dim independent uniform values with mean 0 and variance 1. What are the bounds?

    Draw every value from ``rng`` (a numpy.random.Generator), and from nothing else: not
    from np.random, nor from a generator of your own, so that the same seed gives the same
    noise and another seed other noise. The check also tests that coordinates and rows are
    independent, so one draw copied across a row does not pass."""
    raise NotImplementedError("Exercise 3.3: uniform_noise")
