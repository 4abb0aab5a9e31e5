"""Small plotting helpers shared by the chapters (matplotlib, imported lazily)."""
import numpy

from minigan import backend
from minigan.autograd import array_of


def image_grid(images, columns=8, padding=1, value_range=(-1.0, 1.0)):
    """Tile images (N, C, H, W) or (N, H, W) into one (rows*H, columns*W[, 3]) array in [0, 1].

    Grey images give a 2-D array (show it with cmap='gray'); RGB images a 3-D one.
    """
    images = backend.to_numpy(array_of(images)).astype(numpy.float32)
    if images.ndim == 3:
        images = images[:, None]
    low, high = value_range
    images = numpy.clip((images - low) / (high - low), 0, 1)
    n, c, h, w = images.shape
    rows = -(-n // columns)
    grid = numpy.ones((c, rows * (h + padding) + padding, columns * (w + padding) + padding),
                      dtype=numpy.float32)
    for i in range(n):
        r, k = divmod(i, columns)
        top, left = padding + r * (h + padding), padding + k * (w + padding)
        grid[:, top:top + h, left:left + w] = images[i]
    return grid[0] if c == 1 else grid.transpose(1, 2, 0)


def show_grid(axis, images, title=None, columns=8, value_range=(-1.0, 1.0)):
    """Draw an image grid on a matplotlib axis, without ticks."""
    grid = image_grid(images, columns=columns, value_range=value_range)
    axis.imshow(grid, cmap="gray" if grid.ndim == 2 else None, vmin=0, vmax=1,
                interpolation="nearest")
    axis.set_xticks([])
    axis.set_yticks([])
    if title:
        axis.set_title(title)


def grids_over_training(grids, title="Samples of one fixed set of z over training", count=36):
    """A row of sample grids, one per training step: ``grids`` maps step -> images (N, C, H, W).

    Drawn from one fixed z, they show the same samples changing as G learns.
    """
    import matplotlib.pyplot as plt
    steps = sorted(grids)
    figure, axes = plt.subplots(1, len(steps), figsize=(3.0 * len(steps), 3.3))
    for axis, step in zip(numpy.atleast_1d(axes), steps):
        show_grid(axis, grids[step][:count], title=f"step {step}", columns=6)
    figure.suptitle(title)
    return figure


def over_training(figure, axes, legend=True):
    """Finish a row of curves over training: 'step' under each axis, each legend, a tight
    layout. Returns the figure, so a chapter's plot ends ``return plots.over_training(...)``."""
    for axis in numpy.atleast_1d(axes):
        axis.set_xlabel("step")
        if legend:
            axis.legend(fontsize=8)
    figure.tight_layout()
    return figure
