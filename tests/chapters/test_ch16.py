"""Chapter 16 measures a GAN, a VAE and a diffusion model against closed forms and each other."""
import pytest

pytestmark = pytest.mark.ch16


def test_chapter_16_closed_forms(run_chapter):
    """The ELBO of a linear-Gaussian model never exceeds its exact log-likelihood and equals it
    at the exact posterior (to round-off, far inside 1e-6); the trained diagonal encoder's gap
    is at least the best diagonal encoder's (a closed form) and close to it; the forward chain
    run step by step has the closed-form marginal's mean and variance within sampling error."""
    results, out = run_chapter("16", "--quick", "--parts", "closed-form")
    assert results["ELBO - log p(x), most over 200 random encoders (nats)"] <= 0
    assert results["|ELBO - log p(x)| at the exact posterior, max over 2,000 points"] < 1e-6
    trained = results["gap log p(x) - ELBO of the trained diagonal encoder (nats, mean)"]
    best = results["gap of the best diagonal encoder (closed form, nats)"]
    assert best - 0.01 <= trained < best + 0.25, (trained, best)  # seeds 0-2: +0.031, +0.005, +0.107
    assert results["forward marginal: largest |z| of mean and variance (5 steps, 2 coordinates)"] < 5
    assert "summary.md" in {p.name for p in out.iterdir()}


@pytest.mark.slow
def test_chapter_16_toy_grid(run_chapter):
    """600 steps of each model on the grid of 25 Gaussians, 3 seeds side by side: the trained
    noise network is within a bounded error of the exact score of the noised mixture, far
    better than predicting 0 (seeds 0-2: 0.050, 0.057, 0.051); and the ordering of the quick
    runs holds: the likelihood models cover more modes than the GAN (seeds 0-2: GAN 3.3, 4.3,
    4.7 modes on average over its 3 copies; VAE 17.3, 18.0, 19.7; diffusion 18.3, 20.7, 20.0)."""
    results, out = run_chapter("16", "--quick", "--parts", "toy")
    error = results["grid diffusion: score error E||eps - eps*||^2 / E||eps*||^2 (mean over seeds)"]
    assert error < 0.1
    assert results["grid diffusion: score error, worst seed"] < 0.12
    gan = results["grid gan lr 0.001: modes"]
    assert results["grid diffusion lr 0.001: modes"] > gan + 8
    assert results["grid vae lr 0.001: modes"] > gan + 8
    for name in ("grid", "score_error"):
        assert (out / f"{name}.png").stat().st_size > 10_000


@pytest.mark.slow
def test_chapter_16_images(run_chapter, feature_network):
    """The quick image run (about 3 CPU seconds of training each): the budget was shared out
    evenly; the diffusion model samples far more slowly than the one-pass models (T = 100
    network passes per sample); the IWAE bound is at least the ELBO; the VAE's decoder means
    are blurrier than real images; every likelihood bound is a finite number of bits."""
    _, _, cache = feature_network
    results, out = run_chapter("16", "--quick", "--parts", "images", "--feature-cache", str(cache))
    seconds = [results[f"{name}: training CPU seconds"] for name in ("gan", "vae", "diffusion")]
    assert max(seconds) < 2.5 * min(seconds)
    slow = results["diffusion: CPU seconds per 1,000 samples"]
    assert slow > 30 * results["gan: CPU seconds per 1,000 samples"]
    assert slow > 30 * results["vae: CPU seconds per 1,000 samples"]
    assert results["vae: IWAE bound, k = 8 (bits/dim)"] <= results["vae: ELBO (bits/dim)"] + 0.01
    assert results["vae: sharpness (real = 1)"] < 0.95
    assert 0 < results["diffusion: variational bound (bits/dim)"] < 30
    assert results["vae: FID"] < 0.8 * results["gan: FID"]
    for name in ("samples", "training"):
        assert (out / f"{name}.png").stat().st_size > 10_000
