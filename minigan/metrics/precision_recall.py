"""Improved precision and recall (Kynkäänniemi et al. 2019): quality and coverage apart.

FID and KID fold two failures into one number: samples that look wrong (low quality)
and parts of the data the generator never produces (low coverage, mode collapse).
Precision and recall measure them separately, in feature space.

**The manifold of a set.** For features phi_1..phi_N, let r_i be the distance from
phi_i to its k-th nearest neighbour among the *other* features of the set (k = 3 in
the paper). The set's manifold is the union of the closed balls

    manifold(Phi) = union_i { x : ||x - phi_i|| <= r_i },

an estimate of where the set's distribution has its support: wide balls where the
samples are sparse, narrow ones where they are dense.

**Precision and recall.** With real features R and generated features G,

    precision = (1/|G|) sum_{g in G} [g in manifold(R)]   (generated samples that look real)
    recall    = (1/|R|) sum_{r in R} [r in manifold(G)]   (real samples the generator covers)

A generator that renders one mode of the data well and nothing else has a precision
near 1 and a low recall; one that renders everything badly, off the data's manifold,
has a low precision, and can keep its recall. For a second sample of the data itself
both are below 1, the more so the more dimensions the features have: a fresh point can
fall outside the balls of another sample (two samples of N(0, I_d), N = 1,000, k = 3:
0.98 at d = 2, 0.70 at d = 32, 0.58 at d = 128; chapter 05's README has the table).

**Memory.** The distances are needed between every pair of points, N x M of them.
They are computed one block of ``batch_size`` rows at a time, so at most
``batch_size`` x max(N, M) distances (8 bytes each) exist at once.
"""
import collections

from minigan.metrics import _arrays

PrecisionRecall = collections.namedtuple("PrecisionRecall", ["precision", "recall"])
PrecisionRecall.__doc__ = """Improved precision and recall, floats in [0, 1].

precision: the share of generated features inside the real manifold.
recall: the share of real features inside the generated manifold.
"""


def _squared_distances(x, y, xp):
    """||x_i - y_j||^2 for all pairs: (b, d), (n, d) -> (b, n).

    ||x - y||^2 = ||x||^2 - 2 x.y + ||y||^2 turns the pairs into one matrix product.
    Its round-off is absolute, about 1e-16 ||x||^2, not relative to the distance: a
    distance that should be 0 can come out slightly negative (hence the clip), and tiny
    distances are only that accurate. It can decide whether a point is in a ball only
    where the radius itself is that small: near-duplicate features.
    """
    squared = (x * x).sum(axis=1)[:, None] - 2 * x @ y.T + (y * y).sum(axis=1)[None, :]
    return xp.maximum(squared, 0)


def manifold_radii(features, k=3, batch_size=1000):
    """r_i: the distance from each feature to its k-th nearest neighbour in the set.

    The feature itself does not count as its own neighbour (a duplicate does, at
    distance 0). Shapes: (N, d) with N > k -> (N,), float64, on the features' device.
    """
    xp = _arrays.common_array_module(features)
    x = _arrays.as_float64(features, xp, "manifold_radii")
    _arrays.positive_int("manifold_radii", "batch_size", batch_size)
    if k < 1:
        raise ValueError(f"manifold_radii: k must be at least 1, got k={k}")
    if x.ndim != 2 or len(x) <= k:
        raise ValueError(f"manifold_radii: expected features (N, d) with more than k={k} "
                         f"samples (each needs k neighbours besides itself), got shape {x.shape}")
    radii = []
    for start in range(0, len(x), batch_size):
        block = _squared_distances(x[start:start + batch_size], x, xp)
        rows = xp.arange(len(block))
        # Each row's own distance (0) would always be its nearest "neighbour"; setting it
        # to infinity leaves it out explicitly, however round-off landed it.
        block[rows, start + rows] = xp.inf
        # The k-th smallest, index k - 1; partition finds it without sorting the row.
        radii.append(xp.partition(block, k - 1, axis=1)[:, k - 1])
    return xp.sqrt(xp.concatenate(radii))


def inside_manifold(queries, features, radii, batch_size=1000):
    """Whether each query lies in the union of balls ||x - phi_i|| <= r_i.

    Shapes: queries (M, d), features (N, d), radii (N,) -> (M,) booleans, on the
    features' device. The radii are those of :func:`manifold_radii` for ``features``.
    """
    xp = _arrays.common_array_module(queries, features, radii)
    queries = _arrays.as_float64(queries, xp, "inside_manifold")
    features = _arrays.as_float64(features, xp, "inside_manifold")
    squared_radii = _arrays.as_float64(radii, xp, "inside_manifold") ** 2
    _arrays.positive_int("inside_manifold", "batch_size", batch_size)
    if (queries.ndim != 2 or features.ndim != 2 or queries.shape[1] != features.shape[1]
            or squared_radii.shape != (len(features),)):
        raise ValueError(f"inside_manifold: expected queries (M, d), features (N, d) and radii "
                         f"(N,), got shapes {queries.shape}, {features.shape} and "
                         f"{squared_radii.shape}")
    inside = []
    for start in range(0, len(queries), batch_size):
        block = _squared_distances(queries[start:start + batch_size], features, xp)
        # Squared distances against squared radii: the same test, without a square root.
        inside.append((block <= squared_radii[None, :]).any(axis=1))
    return xp.concatenate(inside)


def precision_recall(real_features, generated_features, k=3, batch_size=1000):
    """Improved precision and recall of generated features against real ones.

    Args:
        real_features: (N, d) features of real images, N > k.
        generated_features: (M, d) features of generated images, M > k (arrays or
            Tensors, NumPy or CuPy).
        k: which nearest neighbour sets a ball's radius (3 in the paper).
        batch_size: rows of distances computed at once (bounds the memory).

    Returns:
        PrecisionRecall(precision, recall), floats in [0, 1].

    >>> rng = numpy.random.default_rng(0)
    >>> real = rng.standard_normal((1000, 8))
    >>> collapsed = real[real[:, 0] > 1]       # the generator makes one corner only
    >>> result = precision_recall(real, collapsed)
    >>> result.precision == 1.0, result.recall < 0.5
    (True, True)
    """
    if k < 1:
        raise ValueError(f"precision_recall: k must be at least 1, got k={k}")
    _arrays.positive_int("precision_recall", "batch_size", batch_size)
    xp, real, generated = _arrays.feature_pair(
        "precision_recall", real_features, generated_features, min_samples=k + 1,
        why=f"(more than k={k}: each needs k neighbours besides itself)",
        names=("real_features", "generated_features"))
    real_radii = manifold_radii(real, k, batch_size)
    generated_radii = manifold_radii(generated, k, batch_size)
    generated_inside = inside_manifold(generated, real, real_radii, batch_size)
    real_inside = inside_manifold(real, generated, generated_radii, batch_size)
    return PrecisionRecall(_arrays.number(xp.count_nonzero(generated_inside)) / len(generated),
                           _arrays.number(xp.count_nonzero(real_inside)) / len(real))
