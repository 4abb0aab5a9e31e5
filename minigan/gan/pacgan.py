"""PacGAN: let the discriminator judge m samples at once (Lin, Khetan, Fanti & Oh 2018).

A generator that has collapsed onto a few modes can make every *single* sample look
real. Shown m samples together, the discriminator can also see that they are too
alike: m real samples of an 8-mode ring rarely all come from one mode, m collapsed
ones always do. PacGAN changes nothing but the discriminator's input: it takes m
samples, concatenated, and decides whether the whole *pack* is real or generated.

In distributions: D no longer compares P with Q but the product distributions P^m
with Q^m (m independent draws). Lin et al. show that the total variation distance
between P^m and Q^m grows with m much faster for a Q that misses some of P's mass
(mode collapse) than for a Q that is spread evenly but slightly off, so packing
penalises exactly the collapse.

In code, a batch of m n samples of dimension dim becomes n packs of dimension m dim,
and the discriminator's first layer takes m dim inputs::

    netD = nn.Sequential(nn.Linear(m * 2, 128), ...)
    real_logits = netD(pack(real, m))        # real: (m n, 2) -> (n, 2 m)
    fake_logits = netD(pack(netG(z), m))
"""


def pack(samples, m):
    """Pack consecutive groups of m samples into one discriminator input each.

        pack(x, m)[i] = concatenate(x[i m], x[i m + 1], ..., x[i m + m - 1])

    Shapes: samples (m n, dim) -> (n, m dim). Leading axes are kept, so a stack of
    networks (``minigan.gan.stacked``) packs each copy's batch on its own:
    (S, m n, dim) -> (S, n, m dim). Works on Tensors (differentiably: it is one
    reshape, so each pack's gradient goes back to its own m samples) and on arrays.
    With m = 1 it returns the samples unchanged: a plain GAN.

    >>> pack(minigan.tensor([[1., 1.], [2., 2.], [3., 3.], [4., 4.]]), 2).numpy()
    array([[1., 1., 2., 2.],
           [3., 3., 4., 4.]], dtype=float32)
    """
    if int(m) != m or m < 1:
        raise ValueError(f"pack: m must be a positive integer, got {m!r}")
    m = int(m)   # 2.0 is accepted above, but NumPy's reshape takes only integer sides
    shape = tuple(samples.shape)
    if len(shape) < 2:
        raise ValueError(f"pack: expected samples of shape (..., batch, dim), got {shape}")
    batch, dim = shape[-2:]
    if batch % m:
        raise ValueError(f"pack: a batch of {batch} samples cannot be cut into packs of {m}; "
                         f"make the batch size a multiple of m")
    return samples.reshape(shape[:-2] + (batch // m, m * dim))
