"""Chapter 16 exercises: the pieces of the VAE's bound and of the diffusion model.

Replace each ``raise NotImplementedError`` with your code, then check it with

    pytest --solutions=mine -m ch16

NumPy float64 arrays in, NumPy float64 arrays out. Leave the arrays passed in as they are.
"""


def gaussian_kl(mean, log_var):
    """Exercise 16.1. The VAE's KL term in closed form: KL(N(mean, diag(exp(log_var))) ||
    N(0, I)) for each row, summed over the last axis (the latent's coordinates). ``mean``
    and ``log_var`` have shape (..., L); ``log_var`` is the log of the *variance* (not of
    the standard deviation). Return shape (...), in nats.

    Hint: per coordinate, KL(N(m, s^2) || N(0, 1)) = -log s + (s^2 + m^2) / 2 - 1/2."""
    raise NotImplementedError("Exercise 16.1: gaussian_kl")


def forward_marginal(x0, t, betas):
    """Exercise 16.2. The diffusion forward process x_s = sqrt(1 - beta_s) x_{s-1} +
    sqrt(beta_s) eps_s, s = 1..t, in one step: return (mean, variance) of q(x_t | x_0), the
    mean an array like ``x0`` and the variance a float (the same for every coordinate).
    ``betas`` (T,) holds beta_1..beta_T (betas[0] is beta_1); t is a whole number from 0
    (no noise yet: x_t = x_0) to T.

    Hint: unroll two steps and collect the noise terms; alpha_s = 1 - beta_s."""
    raise NotImplementedError("Exercise 16.2: forward_marginal")


def reparameterize_backward(mean, log_var, noise, grad_z):
    """Exercise 16.3. The reparameterisation trick's backward pass. The forward pass was
    z = mean + exp(log_var / 2) noise (all of shape (N, L)), and some loss L(z) gave
    grad_z = dL/dz (N, L). Return (dL/dmean, dL/dlog_var), each (N, L): the gradients that
    reach the encoder's two outputs through the sample."""
    raise NotImplementedError("Exercise 16.3: reparameterize_backward")


def mixture_score(x, centres, std, abar):
    """Exercise 16.4. The score grad_x log q_t(x) of a noised Gaussian mixture: the data are
    an equal-weight mixture of N(c_k, std^2 I) (``centres`` (K, d)); after the forward process
    to abar (a float in (0, 1]) each component is N(sqrt(abar) c_k, (abar std^2 + 1 - abar) I).
    ``x`` (N, d). Return (N, d). This is what a diffusion model's noise network learns:
    eps*(x) = -sqrt(1 - abar) times the score.

    Hint: the score of one Gaussian N(m, v I) is (m - x) / v; the mixture's is their average
    weighted by each component's posterior probability given x (a softmax; subtract the
    largest logit before exponentiating, or far from the centres every weight is 0 / 0)."""
    raise NotImplementedError("Exercise 16.4: mixture_score")
