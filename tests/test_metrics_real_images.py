"""The image metrics on real Fashion-MNIST, through minigan's feature network.

These are the properties that make FID, KID and precision/recall worth computing: two
samples of the same images are close; noise is far; the distance grows with every
step of damage; and precision and recall separate the two ways a generator fails
(samples off the data, and samples that cover only part of it).
"""
import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from minigan import data
from minigan.metrics import features
from minigan.metrics.classifier import class_coverage, classifier_score
from minigan.metrics.fid import fid
from minigan.metrics.kid import kid
from minigan.metrics.precision_recall import precision_recall

pytestmark = pytest.mark.slow
N = 3000


@pytest.fixture(scope="module")
def images():
    """3,000 training and 3,000 test images in [-1, 1], and the test labels."""
    train, _ = data.load("fashion-mnist", "train")
    test, labels = data.load("fashion-mnist", "test")
    rng = np.random.default_rng(0)
    return train[rng.choice(len(train), N, replace=False)], test[:N], labels[:N]


def embed(feature_network, x):
    return features.predict(feature_network[0], x)[0]


def noised(x, level, seed=1):
    return np.clip(x + level * np.random.default_rng(seed).standard_normal(x.shape), -1, 1
                   ).astype(np.float32)


def blurred(x, sigma):
    return gaussian_filter(x, sigma=(0, 0, sigma, sigma)).astype(np.float32)


def test_test_images_are_close_to_training_images_and_noise_is_far(feature_network, images):
    """FID(test, train) is a small fraction of FID(noise, train): two samples of the same
    distribution differ only by sampling, pure noise differs in everything. KID says the same."""
    train, test, _ = images
    real, held_out = embed(feature_network, train), embed(feature_network, test)
    noise = embed(feature_network, np.random.default_rng(2).uniform(-1, 1, test.shape)
                  .astype(np.float32))
    near, far = fid(held_out, real), fid(noise, real)
    assert near < 0.02 * far
    # Symmetric, up to round-off. The trace of the root is a sum of sqrt(eigenvalue), and
    # these ReLU features have dead units: zero eigenvalues that round-off leaves at about
    # eps * trace, whose roots are sqrt(eps * trace) each, in either order of the
    # arguments. So the two orders may differ by up to d sqrt(eps * trace) (d = 128
    # features; measured 2.4e-6 on FID 1.85, where a bound relative to FID would fail).
    traces = np.trace(np.cov(real, rowvar=False)) + np.trace(np.cov(held_out, rowvar=False))
    bound = real.shape[1] * np.sqrt(np.finfo(np.float64).eps * traces)
    assert fid(real, held_out) == pytest.approx(near, abs=bound)
    kid_near, _ = kid(held_out, real, subsets=20, subset_size=1000)
    kid_far, _ = kid(noise, real, subsets=20, subset_size=1000)
    assert kid_near < 0.02 * kid_far


@pytest.mark.parametrize("damage, levels", [(noised, [0.05, 0.1, 0.2, 0.4, 0.8]),
                                            (blurred, [0.5, 1.0, 1.5, 2.0, 3.0])])
def test_fid_grows_with_every_step_of_damage(feature_network, images, damage, levels):
    """Real test images noised (or blurred) more and more: FID to the training images grows
    at every level, starting from the undamaged images' FID."""
    train, test, _ = images
    real = embed(feature_network, train)
    distances = [fid(embed(feature_network, test), real)]
    distances += [fid(embed(feature_network, damage(test, level)), real) for level in levels]
    assert all(b > a for a, b in zip(distances, distances[1:])), distances


def test_precision_falls_off_the_manifold_and_recall_falls_with_collapse(feature_network, images):
    """Held-out real images score high precision and recall. Heavy noise pushes samples off the
    data: precision falls. Only trousers (one class of ten) stay on the data but cover a tenth
    of it: recall falls while precision stays high."""
    train, test, labels = images
    real = embed(feature_network, train)
    clean = precision_recall(real, embed(feature_network, test))
    off = precision_recall(real, embed(feature_network, noised(test, 0.6)))
    trousers = test[labels == 1]
    collapsed = precision_recall(real, embed(feature_network, trousers))
    assert clean.precision > 0.6 and clean.recall > 0.6
    assert off.precision < clean.precision - 0.2
    assert collapsed.recall < 0.3 and collapsed.precision > 0.6


def test_classifier_score_and_coverage_see_a_collapse_to_one_class(feature_network, images):
    """On the held-out images the classifier score is near the number of classes and every
    class is covered; on trousers alone it is near 1 and one class takes almost everything."""
    _, test, labels = images
    _, probabilities = features.predict(feature_network[0], test)
    score, _ = classifier_score(probabilities)
    coverage = class_coverage(probabilities.argmax(axis=1), 10)
    assert score > 7 and coverage.covered == 10
    _, trouser_probabilities = features.predict(feature_network[0], test[labels == 1])
    score, _ = classifier_score(trouser_probabilities)
    coverage = class_coverage(trouser_probabilities.argmax(axis=1), 10)
    assert score < 1.5 and coverage.shares.max() > 0.9
