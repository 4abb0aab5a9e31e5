"""minigan's own feature network: a small CNN classifier whose features the image metrics compare.

FID, KID and precision/recall compare two sets of images through the features a
network computes from them. The published numbers use Inception-v3 trained on
ImageNet; its weights cannot be downloaded here, and 28x28 grey garments are far
from ImageNet anyway. So minigan trains its own network, with its own engine, on the
training split of the data set the GAN learns:

    x (1, 28, 28) -> Conv2d(1, 32, 4, 2, 1) + ReLU     (32, 14, 14)
                  -> Conv2d(32, 64, 4, 2, 1) + ReLU    (64, 7, 7)
                  -> Flatten -> Linear(3136, 128) + ReLU  = the 128 features
                  -> Linear(128, 10)                   = the class logits

trained by cross-entropy with Adam, the learning rate falling linearly to 0.

**FID computed on these features is not the FID of the literature.** It is a distance
in this network's feature space: numbers are comparable between runs of minigan that
use the same network (the same config, hence the same hash), never with published
Inception FIDs.

Training is reproducible (seeded initialisation and batch order) and done once per
machine: the weights go to ``<cache>/feature_network/<dataset>-<config hash>-<data hash>/``,
where ``<cache>`` is ``MINIGAN_CACHE`` if set, else ``$XDG_CACHE_HOME/minigan``, else
``~/.cache/minigan``. The data hash is the checksum of the training files the network
learns from (the loader accepts only files with that checksum), so every test, chapter and
run on the machine shares one network. The weights' SHA-256 is kept beside them and
checked on every load: a damaged file is trained again, never used. From the command line::

    python -m minigan.metrics.features fashion-mnist        # train (or find) and report accuracy
"""
import hashlib
import json
import os
import pathlib
import sys

import numpy

from minigan import backend, nn, optim
from minigan.data import sources
from minigan.autograd import Tensor, array_of, no_grad
from minigan.metrics.fid import fid
from minigan.metrics.precision_recall import precision_recall
from minigan.nn import functional as F

CONFIG = {"dataset": "fashion-mnist", "epochs": 8, "batch_size": 128, "lr": 1e-3,
          "channels": [32, 64], "features": 128, "seed": 0}


class FeatureClassifier(nn.Module):
    """The CNN above; ``features(x)`` gives the penultimate layer, ``forward(x)`` the logits."""

    def __init__(self, channels=(32, 64), features=128, classes=10):
        super().__init__()
        c1, c2 = channels
        self.trunk = nn.Sequential(nn.Conv2d(1, c1, 4, 2, 1), nn.ReLU(),
                                   nn.Conv2d(c1, c2, 4, 2, 1), nn.ReLU(), nn.Flatten(),
                                   nn.Linear(c2 * 7 * 7, features), nn.ReLU())
        self.head = nn.Linear(features, classes)

    def features(self, x):
        return self.trunk(x)

    def forward(self, x):
        return self.head(self.trunk(x))


def config_hash(config):
    """A short hash of the config: the same config always names the same cached network."""
    text = json.dumps(config, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def data_hash(dataset):
    """A short hash of the training files' checksums (their uncompressed bytes).

    The loader only accepts files whose bytes have these checksums, so equal hashes mean
    the network was trained on the very same images and labels.
    """
    files = sources.CATALOGUE[dataset]["files"]
    digests = [files[stem].get("idx-sha256", "") for stem in
               ("train-images-idx3-ubyte", "train-labels-idx1-ubyte")]
    return hashlib.sha256("".join(digests).encode()).hexdigest()[:12]


def default_cache_root():
    """``MINIGAN_CACHE``, else ``$XDG_CACHE_HOME/minigan``, else ``~/.cache/minigan``."""
    if os.environ.get("MINIGAN_CACHE"):
        return pathlib.Path(os.environ["MINIGAN_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or pathlib.Path.home() / ".cache"
    return pathlib.Path(base) / "minigan"


def cache_folder(config, cache_root=None):
    """Where the network of ``config`` is cached:
    <root>/feature_network/<dataset>-<config hash>-<data hash>, the root being
    ``cache_root`` or else ``default_cache_root()``."""
    root = pathlib.Path(cache_root) if cache_root else default_cache_root()
    name = f"{config['dataset']}-{config_hash(config)}-{data_hash(config['dataset'])}"
    return root / "feature_network" / name


def _sha256(path):
    return hashlib.sha256(pathlib.Path(path).read_bytes()).hexdigest()


def _build(config):
    return FeatureClassifier(tuple(config["channels"]), config["features"])


def accuracy(model, images, labels, batch_size=1000):
    """The share of ``images`` (N, 1, 28, 28) whose predicted class is ``labels``."""
    predicted = predict(model, images, batch_size)[1].argmax(axis=1)
    return float(numpy.mean(predicted == numpy.asarray(labels)))


def predict(model, images, batch_size=500):
    """(features (N, 128), class probabilities (N, 10)) of ``images``, as host float64 arrays.

    ``images`` is an array or Tensor (N, 1, 28, 28) scaled to [-1, 1], like the data the
    network was trained on and a tanh generator's output.
    """
    images = array_of(images)
    model.eval()
    features, probabilities = [], []
    with no_grad():
        for start in range(0, len(images), batch_size):
            h = model.features(Tensor(backend.asarray(images[start:start + batch_size])))
            features.append(backend.to_numpy(h.data).astype(numpy.float64))
            probabilities.append(backend.to_numpy(F.softmax(model.head(h)).data)
                                 .astype(numpy.float64))
    return numpy.concatenate(features), numpy.concatenate(probabilities)


def image_scores(model, images, reference, k=3):
    """FID, precision and recall of ``images`` against real images, on this network's features.

    ``images`` (N, 1, 28, 28) in [-1, 1], generated say; ``reference`` the features (M, 128)
    of real images (``predict(model, real_images)[0]``), computed once and reused. Returns
    {"fid": ..., "precision": ..., "recall": ...} (chapter 05 explains each; k is the
    neighbour that sets precision and recall's ball radii).
    """
    generated = predict(model, images)[0]
    scores = precision_recall(reference, generated, k)
    return {"fid": fid(generated, reference), "precision": scores.precision,
            "recall": scores.recall}


def reference_and_floor(network, n, dataset="fashion-mnist"):
    """What an image chapter measures its generator against, and the best it could score.

    Returns (features of the first ``n`` test images, the FID of the last ``n`` training
    images against them). Generated images are compared with the first; the second is the
    FID a perfect generator would reach with ``n`` images (FID is biased upwards at finite
    N, chapter 05), drawn in the same way: the floor under every FID curve.
    """
    from minigan import data
    test_images, _ = data.load(dataset, "test")
    train_images, _ = data.load(dataset, "train")
    reference = predict(network, test_images[:n])[0]
    held_out = predict(network, train_images[-n:])[0]
    return reference, fid(held_out, reference)


def train_feature_classifier(config=None, root=None, progress=True):
    """Train the network on the training split; return (model, accuracy on the test split).

    ``root`` is where the data lies (see ``minigan.data.load``); nothing is cached here.
    """
    from minigan import data
    from minigan.progress import Progress
    config = {**CONFIG, **(config or {})}
    backend.manual_seed(config["seed"])
    images, labels = data.load(config["dataset"], "train", root=root)
    model = _build(config)
    optimizer = optim.Adam(model.parameters(), lr=config["lr"])
    batches = data.Batches(images, labels, batch_size=config["batch_size"], seed=config["seed"])
    total = config["epochs"] * len(batches)
    bar = Progress(total, desc="feature network") if progress else None
    step = 0
    for _ in range(config["epochs"]):
        for x, y in batches:
            optimizer.param_groups[0]["lr"] = config["lr"] * (1 - step / total)
            loss = F.cross_entropy(model(x), y.data)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            step += 1
            if bar:
                bar.update(loss=loss.item())
    if bar:
        bar.close()
    test_images, test_labels = data.load(config["dataset"], "test", root=root)
    return model, accuracy(model, test_images, test_labels)


def load_feature_classifier(dataset="fashion-mnist", config=None, root=None, train=True,
                            progress=True, cache_root=None):
    """The feature network for ``dataset``: from the cache, or trained now and cached.

    Returns (model in eval mode, its test accuracy). With ``train=False`` a missing
    cache raises FileNotFoundError naming the folder and the command that fills it.
    """
    config = {**CONFIG, "dataset": dataset, **(config or {})}
    folder = cache_folder(config, cache_root)
    weights = folder / "weights.npz"
    cached = _load_cached(config, folder)
    if cached is not None:
        return cached
    if not train:
        raise FileNotFoundError(f"no feature network for {dataset} in {folder}; train it with "
                                f"`python -m minigan.metrics.features {dataset}`")
    model, test_accuracy = train_feature_classifier(config, root, progress)
    folder.mkdir(parents=True, exist_ok=True)
    temporary = folder / f"weights.{os.getpid()}.tmp.npz"
    numpy.savez(temporary, **model.state_dict())
    report = {"test_accuracy": test_accuracy, "weights_sha256": _sha256(temporary)}
    (folder / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    (folder / "report.json").write_text(json.dumps(report) + "\n")
    os.replace(temporary, weights)   # last: a run killed mid-save leaves no half-written cache
    return model.eval(), test_accuracy


def _load_cached(config, folder):
    """(model, accuracy) from ``folder`` if its weights are there and match their checksum."""
    weights, report_file = folder / "weights.npz", folder / "report.json"
    if not (weights.exists() and report_file.exists()):
        return None
    report = json.loads(report_file.read_text())
    if report.get("weights_sha256") != _sha256(weights):
        print(f"feature network: {weights} does not match its checksum in {report_file}; "
              f"training it again", file=sys.stderr)
        return None
    model = _build(config)
    with numpy.load(weights) as saved:
        model.load_state_dict(dict(saved))
    return model.eval(), report["test_accuracy"]


def main(argv=None):
    """``python -m minigan.metrics.features [DATASET] [--root DIR]``. A mistake ends with one
    line on stderr: status 2 for bad arguments, 1 for missing or damaged data."""
    from minigan.experiment import OneLineParser
    parser = OneLineParser(prog=PROG, description="Train (or find in the cache) minigan's "
                                                  "feature network and report its test accuracy.")
    parser.add_argument("dataset", nargs="?", default="fashion-mnist", choices=["fashion-mnist"])
    parser.add_argument("--root", default=None, help="where the data lies (see data/README.md)")
    args = parser.parse_args(argv)
    if args.root is not None and not pathlib.Path(args.root).is_dir():
        # a cached network needs no data: a mistyped --root would pass unnoticed
        parser.error(f"argument --root: {args.root!r} is not a folder")
    config = {**CONFIG, "dataset": args.dataset}
    model, test_accuracy = load_feature_classifier(args.dataset, root=args.root)
    print(f"feature network for {args.dataset}: test accuracy {100 * test_accuracy:.2f}%, "
          f"weights in {cache_folder(config)}")


PROG = "python -m minigan.metrics.features"

if __name__ == "__main__":
    from minigan.experiment import command_line
    command_line(main, prog=PROG)
