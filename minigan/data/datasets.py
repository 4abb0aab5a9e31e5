"""MNIST and Fashion-MNIST as arrays, and mini-batches of them as Tensors.

    images, labels = load("fashion-mnist", "train")          # (50000, 1, 28, 28) in [-1, 1]
    for x, y in Batches(images, labels, batch_size=64, seed=0):
        ...                                                   # Tensors on the current device

Splits of the 60,000-image training file: ``train`` (the first 50,000) and
``validation`` (the last 10,000), ``train-full`` (all 60,000); ``test`` is the
separate 10,000-image test file, kept out of all training and model selection.
"""
import functools
import numbers
import pathlib

import numpy

from minigan import backend
from minigan.autograd import Tensor
from minigan.data.idx import parse_idx
from minigan.data.sources import find_file, verify

FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                   "Sneaker", "Bag", "Ankle boot")
CLASSES = {"fashion-mnist": FASHION_CLASSES, "mnist": tuple(str(d) for d in range(10))}
SPLITS = {"train": ("train", slice(0, 50_000)), "validation": ("train", slice(50_000, 60_000)),
          "train-full": ("train", slice(None)), "test": ("t10k", slice(None))}


@functools.lru_cache(maxsize=8)
def _read(name, stem, root):
    path = find_file(name, stem, root)
    return parse_idx(verify(name, stem, path), str(path))


def load(name="fashion-mnist", split="train", value_range=(-1.0, 1.0), pad_to=None, root=None):
    """Images and labels of one split of a dataset, verified against published checksums.

    Args:
        name: 'fashion-mnist' or 'mnist'.
        split: 'train', 'validation', 'train-full' or 'test' (see the module docstring).
        value_range: (low, high) the pixel values are scaled to; (-1, 1) suits a tanh
            generator, (0, 1) a sigmoid one.
        pad_to: e.g. 32 to pad the 28x28 images with the background value to 32x32.
        root: a folder to look in before the usual places.

    Returns:
        images, float32 (N, 1, H, W); labels, int64 (N,). NumPy arrays on the host.
    """
    if split not in SPLITS:
        raise ValueError(f"load: unknown split {split!r}; choose one of {sorted(SPLITS)}")
    try:
        low, high = (float(v) for v in value_range)
    except (TypeError, ValueError):
        raise ValueError(f"load: value_range must be a pair of numbers (low, high), got "
                         f"{value_range!r}") from None
    if not low < high:   # also false for NaN
        raise ValueError(f"load: value_range must have low < high, got {value_range!r} (every "
                         f"image would be one flat colour)")
    if pad_to is not None and (isinstance(pad_to, bool)
                               or not isinstance(pad_to, numbers.Integral)):
        raise TypeError(f"load: pad_to must be an int (e.g. 32) or None, got {pad_to!r}")
    if root is not None and not pathlib.Path(root).is_dir():
        # root is searched first; a mistyped one would silently fall back to the others
        raise FileNotFoundError(f"load: root {str(root)!r} is not a folder")
    prefix, rows = SPLITS[split]
    root = None if root is None else str(root)
    pixels = _read(name, f"{prefix}-images-idx3-ubyte", root)[rows]
    labels = _read(name, f"{prefix}-labels-idx1-ubyte", root)[rows].astype(numpy.int64)
    images = (pixels.astype(numpy.float32) * numpy.float32((high - low) / 255.0)
              + numpy.float32(low))[:, None]
    if pad_to is not None:
        extra = pad_to - images.shape[-1]
        if extra < 0 or extra % 2:
            raise ValueError(f"load: cannot pad {images.shape[-1]}x{images.shape[-1]} images to {pad_to}")
        side = extra // 2
        images = numpy.pad(images, ((0, 0), (0, 0), (side, side), (side, side)),
                           constant_values=numpy.float32(low))
    return images, labels


class Batches:
    """Mini-batches of equally long arrays, as Tensors on the current device.

    Each pass draws a new order, from a generator seeded by (seed, epoch), so a
    run that restarts at some epoch sees the same batches as one that did not stop.
    """

    def __init__(self, *arrays, batch_size=64, shuffle=True, seed=0, drop_last=True):
        if not arrays:
            raise ValueError("Batches: give at least one array, e.g. Batches(images, labels)")
        if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral):
            raise TypeError(f"Batches: batch_size must be an int, got {batch_size!r}")
        if batch_size < 1:
            raise ValueError(f"Batches: batch_size must be >= 1, got {batch_size}")
        lengths = {len(a) for a in arrays}
        if len(lengths) != 1:
            raise ValueError(f"Batches: arrays must have the same length, got {sorted(lengths)}")
        count = next(iter(lengths))
        if drop_last and count < batch_size:
            raise ValueError(f"Batches: {count} samples make no full batch of {batch_size}; "
                             f"with drop_last=True every pass would be empty (use a smaller "
                             f"batch_size or drop_last=False)")
        self.arrays = [backend.asarray(a) for a in arrays]   # moved to the device once
        self.count = lengths.pop()
        self.batch_size, self.shuffle, self.seed, self.drop_last = batch_size, shuffle, seed, drop_last
        self.epoch = 0

    def __len__(self):
        full, rest = divmod(self.count, self.batch_size)
        return full + (1 if rest and not self.drop_last else 0)

    def __iter__(self):
        return self.iterate()

    def iterate(self, start=0):
        """One pass, as ``iter(batches)``, but beginning at batch number ``start`` of it.

        A resumed run sets ``epoch`` to the pass it stopped in and calls
        ``iterate(start=batches already seen in that pass)``: the order is drawn again
        from (seed, epoch), so the rest of the pass is the one the first run would have seen.
        """
        if self.shuffle:
            order = numpy.random.default_rng([self.seed, self.epoch]).permutation(self.count)
        else:
            order = numpy.arange(self.count)
        order = backend.asarray(order)
        self.epoch += 1
        for first in range(start * self.batch_size, len(self) * self.batch_size, self.batch_size):
            index = order[first:first + self.batch_size]
            batch = tuple(Tensor(a[index]) for a in self.arrays)
            yield batch if len(batch) > 1 else batch[0]
