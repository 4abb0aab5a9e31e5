"""Ready-made GAN models, built by plain functions so a checkpoint can name how to rebuild them.

``dcgan64_generator`` / ``dcgan64_discriminator`` are the paper's 64x64 DCGAN (for GPU
runs; see their docstrings). The 28x28 one:

The DCGAN of ``benchmarks/dcgan.py`` (Radford et al. 2015) for 28x28 grey images,
with ``width`` = 64 giving exactly the benchmark's layers:

    generator      z (B, z_dim)
                   -> Unflatten to (B, z_dim, 1, 1)
                   -> ConvTranspose2d(z_dim, 4w, 7, 1, 0) + BatchNorm2d + ReLU   (B, 4w, 7, 7)
                   -> ConvTranspose2d(4w, 2w, 4, 2, 1)    + BatchNorm2d + ReLU   (B, 2w, 14, 14)
                   -> ConvTranspose2d(2w, 1, 4, 2, 1)     + Tanh                 (B, 1, 28, 28)
    discriminator  x (B, 1, 28, 28)
                   -> Conv2d(1, w, 4, 2, 1)   + LeakyReLU(0.2)                   (B, w, 14, 14)
                   -> Conv2d(w, 2w, 4, 2, 1)  + BatchNorm2d + LeakyReLU(0.2)     (B, 2w, 7, 7)
                   -> Flatten -> Linear(2w * 7 * 7, 1)                            (B, 1) logits

Both start from the DCGAN initialisation (``nn.init.dcgan_``): weights ~ N(0, 0.02^2),
batch norm scales ~ N(1, 0.02^2), biases 0.

A *spec* is the JSON recipe of a generator, stored in its checkpoint::

    {"factory": "minigan.models:dcgan28_generator", "kwargs": {"z_dim": 100}, "z_dim": 100}

``build(spec)`` imports the module, calls the function with the keyword arguments,
and returns the (freshly initialised) model; load the checkpoint's weights into it.
"""
import importlib

from minigan import nn


def dcgan28_generator(z_dim=100, width=64):
    """The DCGAN generator: z (B, z_dim) -> images (B, 1, 28, 28) in [-1, 1]."""
    model = nn.Sequential(
        nn.Unflatten(1, (z_dim, 1, 1)),
        nn.ConvTranspose2d(z_dim, 4 * width, 7, 1, 0), nn.BatchNorm2d(4 * width), nn.ReLU(),
        nn.ConvTranspose2d(4 * width, 2 * width, 4, 2, 1), nn.BatchNorm2d(2 * width), nn.ReLU(),
        nn.ConvTranspose2d(2 * width, 1, 4, 2, 1), nn.Tanh())
    return model.apply(nn.init.dcgan_)


def dcgan28_discriminator(width=64):
    """The DCGAN discriminator: images (B, 1, 28, 28) -> logits (B, 1)."""
    model = nn.Sequential(
        nn.Conv2d(1, width, 4, 2, 1), nn.LeakyReLU(0.2),
        nn.Conv2d(width, 2 * width, 4, 2, 1), nn.BatchNorm2d(2 * width), nn.LeakyReLU(0.2),
        nn.Flatten(), nn.Linear(2 * width * 7 * 7, 1))
    return model.apply(nn.init.dcgan_)


def dcgan64_generator(z_dim=100, width=64, channels=3):
    """The DCGAN of Radford et al. at 64x64 (their Figure 1), for GPU runs:

        z (B, z_dim) -> ConvT(z_dim, 8w, 4, 1, 0) -> ConvT(8w, 4w, 4, 2, 1) -> ConvT(4w, 2w, 4, 2, 1)
                     -> ConvT(2w, w, 4, 2, 1) -> ConvT(w, channels, 4, 2, 1) + Tanh
        sides          1 -> 4 -> 8 -> 16 -> 32 -> 64

    with batch norm and ReLU after every layer but the last. ``width`` = 64 gives the
    paper's 512-256-128-64 channels.
    """
    layers = [nn.Unflatten(1, (z_dim, 1, 1))]
    sizes = [z_dim, 8 * width, 4 * width, 2 * width, width]
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        stride, padding = (1, 0) if i == 0 else (2, 1)
        layers += [nn.ConvTranspose2d(n_in, n_out, 4, stride, padding), nn.BatchNorm2d(n_out),
                   nn.ReLU()]
    layers += [nn.ConvTranspose2d(width, channels, 4, 2, 1), nn.Tanh()]
    return nn.Sequential(*layers).apply(nn.init.dcgan_)


def dcgan64_discriminator(width=64, channels=3):
    """The 64x64 DCGAN discriminator, the generator's mirror: images (B, channels, 64, 64) ->
    Conv(channels, w) -> Conv(w, 2w) -> Conv(2w, 4w) -> Conv(4w, 8w), each 4x4 stride 2
    (64 -> 32 -> 16 -> 8 -> 4), LeakyReLU(0.2) and batch norm after all but the first, then
    Conv(8w, 1, 4, 1, 0) to one logit per image: (B, 1)."""
    layers, sizes = [], [channels, width, 2 * width, 4 * width, 8 * width]
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Conv2d(n_in, n_out, 4, 2, 1))
        if i > 0:
            layers.append(nn.BatchNorm2d(n_out))
        layers.append(nn.LeakyReLU(0.2))
    layers += [nn.Conv2d(8 * width, 1, 4, 1, 0), nn.Flatten()]
    return nn.Sequential(*layers).apply(nn.init.dcgan_)


def generator_spec(factory, **kwargs):
    """The spec of ``factory(**kwargs)``, a generator taking z of shape (B, kwargs['z_dim'])."""
    if "z_dim" not in kwargs:
        raise ValueError("generator_spec: pass z_dim=..., the size of the generator's input")
    return {"factory": f"{factory.__module__}:{factory.__qualname__}", "kwargs": kwargs,
            "z_dim": kwargs["z_dim"]}


def build(spec):
    """The model that ``spec`` describes: ``module:function`` called with ``spec['kwargs']``.

    A checkpoint names the function, so only load checkpoints you trust: the import
    runs that module's code (far less than unpickling would, but not nothing).
    """
    module_name, _, function_name = spec["factory"].partition(":")
    function = getattr(importlib.import_module(module_name), function_name)
    return function(**spec.get("kwargs", {}))
