"""Chapter 03 trains the 2014 GAN briefly and measures it with the Parzen-window estimate."""
import pytest

pytestmark = [pytest.mark.ch03, pytest.mark.slow]


def test_chapter_03_gan_beats_the_trivial_baseline(run_chapter, fashion_mnist):
    """After a short training the GAN's Parzen log-likelihood lies well above the mean-image
    baseline and below real images: the estimator ranks the three as it should, and the
    generator has learned something beyond the average image. Two seeds train two
    generators: the figure is their mean, with their spread, and they differ."""
    results, out = run_chapter("03", "--quick", "--steps", "100", "--seeds", "2")
    gan = results["Parzen LL, GAN"]
    baseline = results["Parzen LL, mean image + noise"]
    real = results["Parzen LL, real training images"]
    assert real > gan + 100
    assert gan > baseline + 50
    for name in ("GAN", "real training images", "mean image + noise"):
        assert 0.1 <= results[f"Parzen sigma, {name}"] <= 1.0
    each = results["Parzen LL, GAN, each seed"]
    assert len(each) == 2 and each[0] != each[1]
    assert gan == pytest.approx(sum(each) / 2, abs=0.051)
    assert results["Parzen LL, GAN, spread over seeds"] == pytest.approx(
        abs(each[0] - each[1]) / 2 ** 0.5, abs=0.11)
    assert (out / "samples.png").exists() and (out / "parzen.png").exists()
