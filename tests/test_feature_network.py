"""minigan's feature network: the classifier behind FID, KID and precision/recall on images."""
import numpy as np
import pytest

import minigan
from minigan import data
from minigan.metrics import features


def test_features_and_logits_have_the_documented_shapes():
    """x (N, 1, 28, 28) -> 128 features -> 10 logits; predict gives probabilities summing to 1."""
    model = features.FeatureClassifier()
    x = minigan.randn(3, 1, 28, 28)
    assert model.features(x).shape == (3, 128)
    assert model(x).shape == (3, 10)
    h, p = features.predict(model, x.numpy(), batch_size=2)
    assert h.shape == (3, 128) and p.shape == (3, 10)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-6)


def test_the_config_hash_names_the_config():
    """Equal configs share a cache folder, in any key order; any change gives another."""
    a = dict(features.CONFIG)
    b = dict(reversed(list(a.items())))
    assert features.config_hash(a) == features.config_hash(b)
    assert features.config_hash(a) != features.config_hash({**a, "epochs": a["epochs"] + 1})
    assert features.cache_folder(a).name.startswith("fashion-mnist-")
    assert features.cache_folder(a).name.endswith("-" + features.data_hash("fashion-mnist"))


def test_the_cache_is_per_machine_and_moved_by_minigan_cache(tmp_path, monkeypatch):
    """By default the network lives in the user's cache folder, shared by every run and
    test on the machine (not in one run's folder); MINIGAN_CACHE moves it."""
    monkeypatch.delenv("MINIGAN_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert features.default_cache_root() == tmp_path / "xdg" / "minigan"
    monkeypatch.setenv("MINIGAN_CACHE", str(tmp_path / "mine"))
    assert features.cache_folder(features.CONFIG).parent == tmp_path / "mine" / "feature_network"


@pytest.fixture
def pretend_training(tmp_path, monkeypatch):
    """A cache in tmp_path, and training replaced by an untrained network of accuracy 0.5;
    returns the list of configs "trained", one per call."""
    monkeypatch.setenv("MINIGAN_CACHE", str(tmp_path))
    calls = []

    def pretend_to_train(config, root, progress):
        calls.append(config)
        return features.FeatureClassifier(), 0.5
    monkeypatch.setattr(features, "train_feature_classifier", pretend_to_train)
    return calls


def test_a_trained_network_is_cached_and_loaded_instead_of_trained_again(pretend_training):
    """The first call trains and saves; the second loads the same weights and trains nothing."""
    calls = pretend_training
    first, accuracy = features.load_feature_classifier("fashion-mnist", progress=False)
    second, again = features.load_feature_classifier("fashion-mnist", progress=False)
    assert len(calls) == 1 and accuracy == again == 0.5
    for (name, a), (_, b) in zip(first.state_dict().items(), second.state_dict().items()):
        np.testing.assert_array_equal(a, b, err_msg=name)
    assert not second.training
    assert (features.cache_folder(calls[0]) / "config.json").exists()


def test_a_damaged_cache_is_trained_again_never_used(pretend_training):
    """The weights' checksum is checked on load: a changed byte means train again."""
    calls = pretend_training
    features.load_feature_classifier("fashion-mnist", progress=False)
    weights = features.cache_folder(calls[0]) / "weights.npz"
    damaged = bytearray(weights.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    weights.write_bytes(bytes(damaged))
    with pytest.raises(FileNotFoundError):
        features.load_feature_classifier("fashion-mnist", train=False)
    features.load_feature_classifier("fashion-mnist", progress=False)
    assert len(calls) == 2
    features.load_feature_classifier("fashion-mnist", progress=False)
    assert len(calls) == 2


def test_without_training_a_missing_network_says_how_to_make_it(tmp_path, monkeypatch):
    """train=False never trains: the error names the folder and the command."""
    monkeypatch.setenv("MINIGAN_CACHE", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="python -m minigan.metrics.features fashion-mnist"):
        features.load_feature_classifier("fashion-mnist", train=False)


@pytest.mark.slow
def test_the_feature_network_classifies_fashion_mnist_at_90_percent(feature_network):
    """Trained by its published config (8 epochs, seed 0), the network classifies at least 90%
    of the 10,000 test images correctly: its features carry what tells garments apart, which
    is what makes distances between feature distributions meaningful. Reloaded from the cache
    it predicts the same."""
    model, accuracy, cache = feature_network
    assert accuracy >= 0.90
    images, labels = data.load("fashion-mnist", "test")
    reloaded, same = features.load_feature_classifier("fashion-mnist", train=False,
                                                      cache_root=cache)
    assert same == accuracy
    assert features.accuracy(reloaded, images, labels) == pytest.approx(accuracy, abs=1e-12)
