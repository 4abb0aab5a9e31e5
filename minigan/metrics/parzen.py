"""The Parzen-window log-likelihood estimate of the original GAN paper.

Fit a Gaussian kernel density to generated samples mu_1..mu_n (isotropic, width
sigma) and report the mean log-likelihood of held-out real images under it:

    log p(x) = logsumexp_i( -||x - mu_i||^2 / (2 sigma^2) ) - log n - (d/2) log(2 pi sigma^2)

sigma is chosen to maximise the likelihood of a validation set. The estimate is
known to be poor in high dimensions (Theis et al. 2016: a model can score well
without producing good samples), which is why the chapter puts it beside the
same estimate for real images and for a trivial baseline.
"""
import math

import numpy

from minigan import backend


def parzen_log_likelihood(samples, data, sigma, batch_size=500):
    """log p(x) for each row x of ``data`` under the Parzen window of ``samples``.

    Shapes: samples (n, d), data (m, d) -> (m,). Works on NumPy or CuPy arrays.
    """
    xp = backend.array_module(samples)
    samples = xp.asarray(samples, dtype=xp.float64)
    data_shape = tuple(numpy.shape(data))
    if (samples.ndim != 2 or len(samples) == 0 or len(data_shape) != 2
            or data_shape[1] != samples.shape[1]):
        raise ValueError(f"parzen_log_likelihood: expected samples (n, d) with n >= 1 and data "
                         f"(m, d), got shapes {samples.shape} and {data_shape}")
    if not (isinstance(sigma, (int, float, numpy.number)) and sigma > 0 and math.isfinite(sigma)):
        raise ValueError(f"parzen_log_likelihood: sigma must be a finite number > 0, got {sigma!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"parzen_log_likelihood: batch_size must be an int >= 1, got "
                         f"{batch_size!r}")
    n, d = samples.shape
    squared_samples = (samples * samples).sum(axis=1)
    constant = math.log(n) + 0.5 * d * math.log(2 * math.pi * sigma ** 2)
    result = []
    for start in range(0, len(data), batch_size):
        x = xp.asarray(data[start:start + batch_size], dtype=xp.float64)
        # ||x - mu||^2 = ||x||^2 - 2 x.mu + ||mu||^2, one matrix product for the batch
        distances = (x * x).sum(axis=1)[:, None] - 2 * x @ samples.T + squared_samples[None, :]
        exponents = -xp.maximum(distances, 0) / (2 * sigma ** 2)
        top = exponents.max(axis=1, keepdims=True)
        result.append(top[:, 0] + xp.log(xp.exp(exponents - top).sum(axis=1)) - constant)
    return backend.to_numpy(xp.concatenate(result))


def select_sigma(samples, validation, sigmas=None):
    """The sigma of ``sigmas`` (default logspace(-1, 0, 10)) with the best mean validation
    log-likelihood; returns (sigma, {sigma: mean log-likelihood})."""
    sigmas = numpy.logspace(-1, 0, 10) if sigmas is None else sigmas
    scores = {float(s): float(parzen_log_likelihood(samples, validation, s).mean()) for s in sigmas}
    return max(scores, key=scores.get), scores


def parzen_estimate(samples, validation, test, sigmas=None):
    """The paper's protocol: sigma by validation, then mean +- standard error on ``test``.

    Returns a dict with sigma, mean, standard_error and the validation scores.
    """
    samples, validation, test = (numpy.asarray(a).reshape(len(a), -1) for a in (samples, validation, test))
    sigma, scores = select_sigma(samples, validation, sigmas)
    log_likelihoods = parzen_log_likelihood(samples, test, sigma)
    return {"sigma": sigma, "mean": float(log_likelihoods.mean()),
            "standard_error": float(log_likelihoods.std(ddof=1) / math.sqrt(len(log_likelihoods))),
            "validation": scores}
