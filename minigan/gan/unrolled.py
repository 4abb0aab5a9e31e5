"""The unrolled GAN: train G against the discriminator it is about to create (Metz et al. 2017).

A plain GAN's generator takes a step against today's discriminator D_theta. A
collapsed generator sits where D_theta is fooled; when D catches up, G jumps to the
next mode D has forgotten, and the two chase each other round the modes forever.

The unrolled GAN looks ahead. From D's parameters theta_0 = theta it takes K steps
of gradient descent on D's loss L_D, *as functions of G's parameters phi*:

    theta_{k+1} = theta_k - eta * dL_D(theta_k, phi)/dtheta_k,      k = 0..K-1,

and trains G on the loss against the K-step-ahead discriminator,

    L_G^K(phi) = L_G(theta_K(phi), phi).

Its gradient has two parts: the plain one (D held fixed at theta_K) and a second
one through theta_K's dependence on phi, which says how D will *respond* to G's move:

    dL_G^K/dphi = dL_G/dphi + (dL_G/dtheta_K) (dtheta_K/dphi).

The second term is what punishes the chase: moving all samples to one mode pays off
only until D responds. Computing it means differentiating through the K update steps,
each of which contains a gradient: the updates are built with ``create_graph=True``
so that backward can run through them again (second derivatives, as in WGAN-GP).
For K = 0 nothing is unrolled and the loss is the plain generator loss.

D's real parameters are not changed here: D is still trained by its own optimizer.
Running D with the look-ahead parameters theta_k in place of its own takes
:func:`functional_call`.
"""
import math

from minigan.autograd import Tensor, grad
from minigan.ops import concatenate as cat
from minigan.nn import functional as F


def functional_call(module, parameters, *args):
    """Run ``module(*args)`` with some of its parameters replaced by the given Tensors.

    ``parameters`` maps dotted names, as ``module.named_parameters()`` gives them
    (``'0.weight'``), to Tensors of the same shapes, which may be results of
    computations (theta_k above): the output is then differentiable with respect to
    them. The module's own parameters are put back afterwards, even after an error.

    >>> netD = nn.Linear(2, 1)
    >>> doubled = {name: 2 * p for name, p in netD.named_parameters()}
    >>> functional_call(netD, doubled, x)          # = 2 * netD(x)
    """
    owners = dict(module.named_modules())
    saved = []
    try:
        for name, value in parameters.items():
            prefix, _, attribute = name.rpartition(".")
            owner = owners.get(prefix)
            found = owner is not None and attribute in vars(owner)
            old = vars(owner)[attribute] if found else None
            # The name must point at a tensor, or at an absent bias (None): not at a child
            # module or a setting such as 'in_features', which have no shape to check.
            if not found or not (old is None or isinstance(old, Tensor)):
                raise KeyError(f"functional_call: {type(module).__name__} has no parameter "
                               f"{name!r}")
            if old is not None and tuple(old.shape) != tuple(value.shape):
                raise ValueError(f"functional_call: {name!r} has shape {old.shape}, "
                                 f"got a tensor of shape {value.shape}")
            saved.append((owner, attribute, old))
            setattr(owner, attribute, value)
        return module(*args)
    finally:
        for owner, attribute, old in reversed(saved):
            setattr(owner, attribute, old)


def sgd_step(loss, parameters, lr):
    """One step of gradient descent that stays differentiable: theta - lr * dloss/dtheta.

    ``parameters`` is a sequence of Tensors (leaves or results of earlier steps).
    The gradient is taken with ``create_graph=True``, so the new parameters are part
    of the graph: their derivative with respect to anything the loss depended on (G's
    samples, G's weights) includes the second-order term -lr * d^2 loss/(dtheta d.).
    Returns the list of new parameter Tensors.
    """
    parameters = list(parameters)
    gradients = grad(loss, parameters, create_graph=True)
    return [p - lr * g for p, g in zip(parameters, gradients)]


def _discriminator_loss(real_logits, fake_logits):
    """-log D(x) - log(1 - D(G(z))), averaged over each batch, from logits."""
    return (F.binary_cross_entropy_with_logits(real_logits, 1.0)
            + F.binary_cross_entropy_with_logits(fake_logits, 0.0))


def _generator_loss(fake_logits):
    """The non-saturating generator loss -log D(G(z)), averaged, from logits."""
    return F.binary_cross_entropy_with_logits(fake_logits, 1.0)


def unrolled_generator_loss(discriminator, real, fake, steps=5, lr=0.1,
                            discriminator_loss=_discriminator_loss,
                            generator_loss=_generator_loss):
    """L_G(theta_K, phi): the generator loss against D after ``steps`` differentiable SGD steps.

    Args:
        discriminator: the Module D; its parameters theta_0 are read, never changed.
        real: (..., n, dim) real samples (constants). Leading axes are a stack's copies
            (``minigan.gan.stacked``): each copy's D is unrolled exactly as it would be
            alone, and the returned loss is the mean of the copies' losses.
        fake: (..., n, dim) generated samples G(z), a Tensor in G's graph. The same
            batch is used in every unrolled step and in the final loss, as in Metz et al.
        steps: K, the number of unrolled steps (0 gives the plain generator loss).
        lr: eta, the step size of the unrolled SGD steps.
        discriminator_loss: L_D(real_logits, fake_logits).
        generator_loss: L_G(fake_logits).

    Returns the scalar loss; ``loss.backward()`` then gives G the unrolled gradient.
    (It also leaves gradients in D's ``.grad``: zero them before D's own update.)
    """
    if steps < 0:
        raise ValueError(f"unrolled_generator_loss: steps must be >= 0, got {steps}")
    names, theta = zip(*discriminator.named_parameters())
    # One pass of D over both batches is faster than two. The batch axis is the
    # second-to-last one, so a stack of networks (minigan.gan.stacked) works too.
    both, n = cat([real, fake], axis=-2), real.shape[-2]
    # The losses average over a stack's copies axis too, which would divide each copy's
    # SGD step by the number of copies S; stepping on S L_D (the sum of the copies' own
    # losses) gives every copy exactly the step it would take alone. S = 1 for one network.
    copies = math.prod(real.shape[:-2])
    for _ in range(steps):
        logits = functional_call(discriminator, dict(zip(names, theta)), both)
        loss = copies * discriminator_loss(logits[..., :n, :], logits[..., n:, :])
        theta = sgd_step(loss, theta, lr)
    return generator_loss(functional_call(discriminator, dict(zip(names, theta)), fake))
