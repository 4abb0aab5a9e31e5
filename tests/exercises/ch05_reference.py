"""minigan's answers to chapter 05's exercises: minigan.metrics.fid, kid and precision_recall."""
from minigan.metrics.fid import frechet_distance, matrix_sqrt_psd  # noqa: F401  (5.1, 5.2)
from minigan.metrics.kid import mmd2_unbiased  # noqa: F401  (the answer to 5.3)
from minigan.metrics.precision_recall import precision_recall


def precision(real, generated, k=3):
    return precision_recall(real, generated, k=k).precision
