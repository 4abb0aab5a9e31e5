"""Chapter 06 exercises: the shape arithmetic of DCGAN, and walking through its latent space.

Replace each ``raise NotImplementedError`` with your code, then check it with

    pytest --solutions=mine -m ch06
"""


def conv2d_output_size(size, kernel, stride, padding):
    """Exercise 6.1. The side of Conv2d's output for an input side ``size``: how many
    positions a ``kernel``-wide window takes, ``stride`` apart, on the input padded by
    ``padding`` on each side. (D's Conv2d(1, 64, 4, 2, 1) takes 28 to 14.)"""
    raise NotImplementedError("Exercise 6.1: conv2d_output_size")


def conv_transpose2d_output_size(size, kernel, stride, padding, output_padding=0):
    """Exercise 6.2. The side of ConvTranspose2d's output: the input side of the Conv2d
    whose adjoint it is (add ``output_padding`` to choose among the sides that Conv2d
    maps to the same output). (G's ConvTranspose2d(100, 256, 7, 1, 0) takes 1 to 7, and
    ConvTranspose2d(256, 128, 4, 2, 1) takes 7 to 14.)"""
    raise NotImplementedError("Exercise 6.2: conv_transpose2d_output_size")


def slerp(z0, z1, t):
    """Exercise 6.3. Spherical interpolation between two latent vectors (NumPy arrays of one
    shape, (100,) or G's (1, 100, 1, 1): each array is one vector) at t in [0, 1]: with omega
    the angle between them, cos omega = z0 . z1 / (|z0| |z1|),

        slerp(z0, z1, t) = sin((1 - t) omega) / sin(omega) z0 + sin(t omega) / sin(omega) z1.

    It stays at the radius where a Gaussian z lives, which the straight line does not (its
    midpoint is shorter); z0 and z1 may differ in length. Fall back to the straight line when
    omega is tiny (for parallel vectors the cosine can round to just above 1: clip it)."""
    raise NotImplementedError("Exercise 6.3: slerp")
