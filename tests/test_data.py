"""Reading, finding and verifying datasets; mini-batches. Unit tests use tiny files they write."""
import gzip
import hashlib
import io
import os

import numpy as np
import pytest

import minigan
from minigan.data import datasets, idx, sources


# --- the IDX format ----------------------------------------------------------------------
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_idx_round_trip(tmp_path, suffix):
    """What write_idx writes, read_idx reads back exactly, raw or gzipped."""
    array = np.random.default_rng(0).integers(0, 256, size=(5, 3, 4), dtype=np.uint8)
    path = tmp_path / f"images{suffix}"
    idx.write_idx(path, array)
    np.testing.assert_array_equal(idx.read_idx(path), array)


def test_idx_wrong_magic(tmp_path):
    """A file that does not start with an IDX header is refused with the magic it found."""
    path = tmp_path / "bad"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    with pytest.raises(idx.IdxError, match=r"wrong magic number 0x89504e47"):
        idx.read_idx(path)


def test_idx_truncated_data(tmp_path):
    """A file shorter than its header promises is reported as truncated, with both sizes."""
    path = tmp_path / "short"
    idx.write_idx(path, np.zeros((4, 2, 2), dtype=np.uint8))
    path.write_bytes(path.read_bytes()[:-3])
    with pytest.raises(idx.IdxError, match=r"truncated: shape \(4, 2, 2\) needs 32 bytes, found 29"):
        idx.read_idx(path)


def test_idx_truncated_gzip(tmp_path):
    """A cut gzip stream gives a clear error, not a zlib traceback."""
    path = tmp_path / "cut.gz"
    idx.write_idx(path, np.zeros((50, 28, 28), dtype=np.uint8))
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(idx.IdxError, match=r"gzip stream is damaged or truncated"):
        idx.read_idx(path)


# --- finding and verifying -----------------------------------------------------------------
@pytest.fixture
def tiny_dataset(tmp_path, monkeypatch):
    """A registered dataset 'tiny' of 12 train and 4 test images, with its true digests."""
    images = np.arange(12 * 4 * 4, dtype=np.uint8).reshape(12, 4, 4)
    labels = np.arange(12, dtype=np.uint8) % 3
    folder = tmp_path / "source" / "tiny"
    folder.mkdir(parents=True)
    files = {}
    for stem, array in [("train-images-idx3-ubyte", images), ("train-labels-idx1-ubyte", labels),
                        ("t10k-images-idx3-ubyte", images[:4]), ("t10k-labels-idx1-ubyte", labels[:4])]:
        path = folder / f"{stem}.gz"
        idx.write_idx(path, array)
        raw = path.read_bytes()
        files[stem] = {"md5": [hashlib.md5(raw).hexdigest()], "sha256": [],
                       "idx-sha256": hashlib.sha256(gzip.decompress(raw)).hexdigest()}
    monkeypatch.setitem(sources.CATALOGUE, "tiny", {"urls": ["http://example.invalid/"],
                                                    "licence": "test", "files": files})
    monkeypatch.setattr(sources, "PROJECT_DATA", tmp_path / "project-data")
    monkeypatch.delenv("MINIGAN_DATA", raising=False)
    monkeypatch.setattr(datasets, "SPLITS", {"train": ("train", slice(0, 10)),
                                             "validation": ("train", slice(10, 12)),
                                             "test": ("t10k", slice(None))})
    datasets._read.cache_clear()
    yield tmp_path / "source", images, labels
    datasets._read.cache_clear()


def test_search_order(tiny_dataset, tmp_path, monkeypatch):
    """An explicit root wins over MINIGAN_DATA, which wins over the project's data/ folder."""
    source, _, _ = tiny_dataset
    stem = "train-images-idx3-ubyte"
    with pytest.raises(sources.DataNotFoundError):
        sources.find_file("tiny", stem)
    monkeypatch.setenv("MINIGAN_DATA", str(source))
    assert sources.find_file("tiny", stem) == source / "tiny" / f"{stem}.gz"
    other = tmp_path / "explicit"
    other.mkdir()
    (other / f"{stem}.gz").write_bytes((source / "tiny" / f"{stem}.gz").read_bytes())
    assert sources.find_file("tiny", stem, root=other) == other / f"{stem}.gz"


def test_missing_data_message_names_three_ways(tiny_dataset):
    """When nothing is found, one message lists where minigan looked and three ways to fix it."""
    with pytest.raises(sources.DataNotFoundError) as error:
        datasets.load("tiny", "train")
    message = str(error.value)
    for hint in ("MINIGAN_DATA", "python -m minigan.data fetch tiny", "project-data"):
        assert hint in message


def test_check_fails_when_files_are_missing_or_corrupt(tiny_dataset, monkeypatch, capsys):
    """`python -m minigan.data check` exits 1 when a file is missing (or corrupt), 0 when all
    verify: a script can rely on its status."""
    from minigan.data.__main__ import main
    source, images, _ = tiny_dataset
    assert main(["check", "tiny"]) == 1
    assert "4 file(s) missing" in capsys.readouterr().err
    monkeypatch.setenv("MINIGAN_DATA", str(source))
    assert main(["check", "tiny"]) == 0
    damaged = images.copy()
    damaged[0, 0, 0] ^= 1
    idx.write_idx(source / "tiny" / "train-images-idx3-ubyte.gz", damaged)
    assert main(["check", "tiny"]) == 1
    assert "1 corrupt" in capsys.readouterr().err


def test_corrupt_file_fails_verification(tiny_dataset, monkeypatch):
    """A file whose bytes differ from the published ones is refused, never silently used."""
    source, images, _ = tiny_dataset
    damaged = images.copy()
    damaged[0, 0, 0] ^= 1
    idx.write_idx(source / "tiny" / "train-images-idx3-ubyte.gz", damaged)
    monkeypatch.setenv("MINIGAN_DATA", str(source))
    with pytest.raises(sources.ChecksumError, match=r"does not match the published tiny file"):
        datasets.load("tiny", "train")


def test_uncompressed_copy_verifies_by_content(tiny_dataset, monkeypatch):
    """An uncompressed copy is accepted: the digest of the IDX bytes is the same for any copy."""
    source, images, _ = tiny_dataset
    for stem in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"):
        gz = source / "tiny" / f"{stem}.gz"
        (source / "tiny" / stem).write_bytes(gzip.decompress(gz.read_bytes()))
        gz.unlink()
    monkeypatch.setenv("MINIGAN_DATA", str(source))
    x, _ = datasets.load("tiny", "train", value_range=(0, 1))
    np.testing.assert_allclose(x[:, 0], images[:10] / 255.0, rtol=1e-6)


def test_load_splits_scaling_and_padding(tiny_dataset):
    """Splits select rows; pixels map 0 -> low and 255 -> high; padding uses the background."""
    source, images, labels = tiny_dataset
    x, y = datasets.load("tiny", "validation", value_range=(-1, 1), pad_to=8, root=source)
    assert x.shape == (2, 1, 8, 8) and x.dtype == np.float32 and y.dtype == np.int64
    np.testing.assert_array_equal(y, labels[10:12])
    np.testing.assert_allclose(x[:, 0, 2:6, 2:6], images[10:12] / 127.5 - 1, rtol=1e-6)
    assert np.all(x[:, :, :2] == -1)


def test_fetch_verifies_downloads(tiny_dataset, tmp_path):
    """fetch keeps a download only if it verifies; a corrupt one leaves nothing behind."""
    source, _, _ = tiny_dataset

    def good_opener(url):
        return io.BytesIO((source / "tiny" / url.rsplit("/", 1)[1]).read_bytes())

    def corrupt_opener(url):
        return io.BytesIO(b"\x1f\x8b" + bytes(50))

    target = tmp_path / "fetched"
    with pytest.raises(sources.DataNotFoundError, match=r"could not fetch"):
        sources.fetch("tiny", target, opener=corrupt_opener)
    assert list(target.iterdir()) == []
    written = sources.fetch("tiny", target, opener=good_opener)
    assert len(written) == 4
    assert sources.fetch("tiny", target, opener=corrupt_opener) == []   # already there


# --- batches -----------------------------------------------------------------------------
def test_batches_cover_the_data_once_per_epoch_and_reproduce():
    """Each epoch visits every example once; the same seed gives the same order."""
    x = np.arange(10, dtype=np.float32)
    first = [b.numpy().tolist() for b in datasets.Batches(x, batch_size=3, seed=4, drop_last=False)]
    again = [b.numpy().tolist() for b in datasets.Batches(x, batch_size=3, seed=4, drop_last=False)]
    assert first == again
    assert sorted(sum(first, [])) == list(range(10))
    batches = datasets.Batches(x, batch_size=3, seed=4)
    assert len(batches) == 3
    epoch_1, epoch_2 = list(batches), list(batches)
    assert [b.numpy().tolist() for b in epoch_1] != [b.numpy().tolist() for b in epoch_2]
    assert isinstance(epoch_1[0], minigan.Tensor)


# --- the real datasets (in CI with MINIGAN_DATA=../shared/data) ------------------------------
def _real(name, split):
    """Load real data; skip only where no existing data folder was named (CI names one)."""
    from tests.conftest import data_folder_named
    try:
        return datasets.load(name, split)
    except sources.DataNotFoundError:
        if data_folder_named():
            raise
        pytest.skip(f"{name} not found and MINIGAN_DATA names no folder (see data/README.md)")


@pytest.mark.slow
def test_fashion_mnist_real_files():
    """Fashion-MNIST: 50,000 / 10,000 / 10,000 images of 28x28, 10 classes balanced as published."""
    for split, count, per_class in [("train-full", 60_000, 6_000), ("test", 10_000, 1_000)]:
        x, y = _real("fashion-mnist", split)
        assert x.shape == (count, 1, 28, 28)
        np.testing.assert_array_equal(np.bincount(y, minlength=10), [per_class] * 10)
        assert x.min() == -1 and x.max() == 1
    assert _real("fashion-mnist", "train")[0].shape[0] == 50_000
    assert _real("fashion-mnist", "validation")[0].shape[0] == 10_000


@pytest.mark.slow
def test_mnist_test_file():
    """The MNIST test set: 10,000 images with its published class counts."""
    x, y = _real("mnist", "test")
    assert x.shape == (10_000, 1, 28, 28)
    np.testing.assert_array_equal(np.bincount(y, minlength=10),
                                  [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009])
