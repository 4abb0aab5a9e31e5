"""Chapter 10 exercises: the pieces the five methods are made of.

Replace each ``raise NotImplementedError`` with your code, then check it with

    pytest --solutions=mine -m ch10

NumPy arrays in, NumPy arrays (or floats) out.
"""


def lsgan_optimal_discriminator(p_data, p_g, a, b):
    """Exercise 10.1. LSGAN's discriminator minimises, at every x,

        1/2 p_data(x) (D(x) - b)^2 + 1/2 p_g(x) (D(x) - a)^2.

    Given the two densities' values at some points (arrays of one shape), return the
    minimising D(x) at each point (an array of that shape). Where both densities are 0 any
    value is optimal: return (a + b) / 2 there. (Set the derivative in D to zero.)"""
    raise NotImplementedError("Exercise 10.1: lsgan_optimal_discriminator")


def hinge_losses(real_scores, fake_scores):
    """Exercise 10.2. The hinge game of SNGAN: the discriminator's loss

        L_D = E[max(0, 1 - D(x))] + E[max(0, 1 + D(G(z)))]

    and the generator's L_G = -E[D(G(z))], from raw scores (N,) of real images and (M,) of
    generated ones (N and M may differ). Return (L_D, L_G) as floats."""
    raise NotImplementedError("Exercise 10.2: hinge_losses")


def spectral_norm_estimate(weight, u, steps):
    """Exercise 10.3. Spectral normalisation's estimate of the largest singular value of a
    layer's weight. ``weight`` is a Linear weight (out, in) or a conv kernel (out, in, kh, kw):
    view it as the matrix W of shape (out, in*kh*kw). ``u`` (out,) is the starting vector.
    Take ``steps`` steps of the power method,

        v <- W^T u / ||W^T u||,    u <- W v / ||W v||,

    and return (sigma, u, v) with sigma = u^T W v. Do not change the ``u`` or the ``weight``
    passed in."""
    raise NotImplementedError("Exercise 10.3: spectral_norm_estimate")
