"""Chapter 02 exercises: the optimal discriminator, the JSD identity, the GAN losses.

Replace each ``raise NotImplementedError`` with your code, then check it with

    pytest --solutions=mine -m ch02

Exercises 2.1 and 2.2 work on NumPy arrays (float64; leave the ones passed in
unchanged) and plain functions (use ``scipy.integrate.quad`` for the integral).
Exercises 2.3 to 2.5 take minigan Tensors of logits and return a scalar minigan
Tensor, built from minigan operations (``minigan.ops.softplus``, ``.mean()``...) so
that autograd can differentiate it.
"""


def optimal_discriminator(p_data, p_g):
    """Exercise 2.1. Given the values p_data(x) and p_g(x) of the two densities at the
    same points x (NumPy arrays of one shape, entries >= 0, not both 0), return the
    discriminator D*(x) in [0, 1] that maximises p_data log D + p_g log(1 - D) at every x
    (1 where only p_data is positive, 0 where only p_g is), in the shape of the inputs.
    Far out in the tails both densities are tiny (1e-200, say), and D* is still exact there.
    (Differentiate a log y + b log(1 - y) in y.)"""
    raise NotImplementedError("Exercise 2.1: optimal_discriminator")


def jensen_shannon_divergence(p, q, lower, upper):
    """Exercise 2.2. The Jensen-Shannon divergence, in nats, of the densities p and q
    (functions of x) over [lower, upper]:

        JSD(p || q) = 1/2 KL(p || m) + 1/2 KL(q || m),   m = (p + q) / 2,
        KL(p || m)  = integral of p(x) log(p(x) / m(x)) dx.

    The test checks your answer against V(D*, G) computed by minigan: Theorem 1 says
    V(D*, G) = -log 4 + 2 JSD(p_data || p_g); and against values worked by hand for
    densities that are exactly 0 on part of [lower, upper]. (Where p(x) = 0,
    p log(p / m) = 0, the limit; NumPy's 0 * log 0 is nan.)"""
    raise NotImplementedError("Exercise 2.2: jensen_shannon_divergence")


def discriminator_loss(real_logits, fake_logits):
    """Exercise 2.3. The discriminator's loss -V = -mean log D(x) - mean log(1 - D(G(z))),
    with D = sigmoid(logit), from the logits on real and on generated samples. It must be
    finite for logits of +-1e4, where sigmoid rounds to exactly 0 or 1."""
    raise NotImplementedError("Exercise 2.3: discriminator_loss")


def generator_loss_saturating(fake_logits):
    """Exercise 2.4. The minimax generator loss mean log(1 - D(G(z))), from the logits
    of D on generated samples; finite for logits of +-1e4."""
    raise NotImplementedError("Exercise 2.4: generator_loss_saturating")


def generator_loss_nonsaturating(fake_logits):
    """Exercise 2.5. The non-saturating generator loss -mean log D(G(z)), from the
    logits; finite for logits of +-1e4. Where is its gradient larger than 2.4's?"""
    raise NotImplementedError("Exercise 2.5: generator_loss_nonsaturating")
