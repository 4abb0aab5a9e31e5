"""GAN losses, written from the discriminator's logits.

A discriminator network ends in a linear layer: its output is a logit a, and
D = sigmoid(a) is the probability it gives to "real". Every loss here takes the
logits and returns a scalar Tensor that its player *minimises*. From logits the
logs are exact for any a, because

    log D       = log sigmoid(a)     = -softplus(-a)
    log (1 - D) = log sigmoid(-a)    = -softplus(a)

with softplus(a) = log(1 + e^a) computed without overflow. Written with D itself,
log(1 - D) is log(0) = -inf as soon as D rounds to 1 (a > 17 in float32).

The losses of Goodfellow et al. (2014), for the value
V(D, G) = E_data[log D(x)] + E_z[log(1 - D(G(z)))]:

* the discriminator ascends V, that is it minimises  -V
  (binary cross-entropy with label 1 on real samples and 0 on fakes);
* the generator of the minimax game descends V; only the second term depends on G,
  so it minimises  E_z[log(1 - D(G(z)))]  (``generator_loss_saturating``);
* in practice the generator minimises  -E_z[log D(G(z))]  instead
  (``generator_loss_nonsaturating``): the same fixed point, but a strong gradient
  early in training, when D confidently rejects the fakes (see chapter 02).

Adding a loss: write a function of logits returning a scalar Tensor to minimise,
and, if it forms a new game, add a (discriminator loss, generator loss) pair to
``LOSSES`` so chapters can choose it by name.
"""
from minigan.ops import mean, softplus


def discriminator_loss(real_logits, fake_logits):
    """-V(D, G) = -E_data[log D(x)] - E_z[log(1 - D(G(z)))]
               =  mean softplus(-real_logits) + mean softplus(fake_logits).

    Args:
        real_logits: D's logits on data samples, any shape (usually (N, 1)).
        fake_logits: D's logits on generated samples, any shape.

    Returns a scalar Tensor. Its minimum over all functions D is log 4 - 2 JSD,
    reached at D*(x) = p_data(x) / (p_data(x) + p_g(x)); log 4 = 1.386 when D
    cannot tell the two apart (D = 1/2).
    """
    return mean(softplus(-real_logits)) + mean(softplus(fake_logits))


def generator_loss_saturating(fake_logits):
    """The minimax generator loss E_z[log(1 - D(G(z)))] = -mean softplus(fake_logits).

    Its derivative in the logit is -sigmoid(a) = -D(G(z)): it vanishes as D(G(z)) -> 0,
    that is exactly when D confidently rejects the fakes (the loss *saturates*).
    """
    return -mean(softplus(fake_logits))


def generator_loss_nonsaturating(fake_logits):
    """The non-saturating generator loss -E_z[log D(G(z))] = mean softplus(-fake_logits).

    Its derivative in the logit is -(1 - D(G(z))): close to -1 when D rejects the
    fakes, so a poor generator still gets a strong gradient.
    """
    return mean(softplus(-fake_logits))


# name -> (discriminator loss, generator loss): the games a chapter can choose from.
LOSSES = {
    "saturating": (discriminator_loss, generator_loss_saturating),
    "nonsaturating": (discriminator_loss, generator_loss_nonsaturating),
}
