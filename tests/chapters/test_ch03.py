"""Chapter 03 trains the 2014 GAN briefly and measures it with the Parzen-window estimate."""
import pytest

pytestmark = [pytest.mark.ch03, pytest.mark.slow]


def test_chapter_03_gan_beats_the_trivial_baseline(run_chapter, fashion_mnist):
    """After a short training the GAN's Parzen log-likelihood lies well above the mean-image
    baseline and below real images: the estimator ranks the three as it should, and the
    generator has learned something beyond the average image."""
    results, out = run_chapter("03", "--quick", "--steps", "100")
    gan = results["Parzen LL, GAN"]
    baseline = results["Parzen LL, mean image + noise"]
    real = results["Parzen LL, real training images"]
    assert real > gan + 100
    assert gan > baseline + 50
    for name in ("GAN", "real training images", "mean image + noise"):
        assert 0.1 <= results[f"Parzen sigma, {name}"] <= 1.0
    assert (out / "samples.png").exists() and (out / "parzen.png").exists()
