"""minigan's answers to chapter 02's exercises: minigan.gan.theory and minigan.gan.losses."""
from minigan.gan import losses, theory


def optimal_discriminator(p_data, p_g):
    return theory.optimal_discriminator(p_data, p_g)


def jensen_shannon_divergence(p, q, lower, upper):
    return theory.jensen_shannon_divergence(p, q, lower, upper)


discriminator_loss = losses.discriminator_loss
generator_loss_saturating = losses.generator_loss_saturating
generator_loss_nonsaturating = losses.generator_loss_nonsaturating
