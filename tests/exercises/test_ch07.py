"""Chapter 07's exercises: one-hot codes, label maps, accuracy by requested class."""
import numpy as np
import pytest

from tests.exercises.harness import make_tests

pytestmark = pytest.mark.ch07


def check_one_hot(one_hot):
    """Each row has a single 1, in the label's column; the code matches minigan's own."""
    from minigan import models
    labels = np.array([3, 0, 9, 3, 5, 1, 7])
    code = np.asarray(one_hot(labels, 10), dtype=float)
    assert code.shape == (7, 10), f"shape {code.shape}, expected (7, 10)"
    np.testing.assert_array_equal(code.sum(axis=1), 1)
    np.testing.assert_array_equal(code.argmax(axis=1), labels)
    np.testing.assert_array_equal(code, models.one_hot(labels, 10).numpy())
    assert np.asarray(one_hot(np.array([0, 1]), 3)).shape == (2, 3)


def check_label_maps(label_maps):
    """Map [n, c] is constant and equal to onehot[n, c]; the shape is (N, C, side, side)."""
    rng = np.random.default_rng(7)
    onehot = np.eye(4)[rng.integers(0, 4, size=5)]
    maps = np.asarray(label_maps(onehot, 6))
    assert maps.shape == (5, 4, 6, 6), f"shape {maps.shape}, expected (5, 4, 6, 6)"
    for n in range(5):
        for c in range(4):
            np.testing.assert_array_equal(maps[n, c], np.full((6, 6), onehot[n, c]))
    soft = rng.random((3, 2))     # not only one-hot rows: any (N, C) code
    np.testing.assert_array_equal(np.asarray(label_maps(soft, 3))[:, :, 2, 1], soft)


def check_accuracy_by_class(accuracy_by_class):
    """Per requested class, the share predicted as that class; hand-counted cases."""
    requested = np.array([0, 0, 0, 0, 1, 1, 2, 2, 2, 2])
    predicted = np.array([0, 0, 1, 2, 1, 0, 2, 2, 2, 1])
    np.testing.assert_allclose(accuracy_by_class(predicted, requested, 3), [0.5, 0.5, 0.75])
    # Unequal class sizes: the per-class mean differs from the overall share (6/10).
    requested = np.array([0, 0, 0, 0, 0, 0, 0, 0, 1, 1])
    predicted = np.array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
    np.testing.assert_allclose(accuracy_by_class(predicted, requested, 2), [1.0, 0.0])


# --- planted wrong answers -----------------------------------------------------------------
def one_hot_off_by_one(labels, num_classes):
    """Shifts every class by one (a 1-based label convention)."""
    return np.eye(num_classes)[(np.asarray(labels) + 1) % num_classes]


def one_hot_of_the_columns(labels, num_classes):
    """Indexes the identity's columns with the classes and the rows with examples, then
    forgets to transpose: right only for square cases."""
    return np.eye(num_classes)[:, np.asarray(labels)]


def label_maps_reshaped(onehot, side):
    """Repeats the codes and reshapes: the values land in the wrong maps."""
    onehot = np.asarray(onehot)
    return np.repeat(onehot, side * side, axis=0).reshape(onehot.shape + (side, side))


def label_maps_only_the_label(onehot, side):
    """One map per example (the label's index): loses the class axis."""
    onehot = np.asarray(onehot)
    return np.broadcast_to(onehot.argmax(axis=1)[:, None, None, None],
                           (len(onehot), onehot.shape[1], side, side)).astype(float)


def accuracy_grouped_by_prediction(predicted, requested, num_classes):
    """Groups by the predicted class (precision per class), not the requested one."""
    from tests.exercises.ch07_reference import accuracy_by_class
    return accuracy_by_class(requested, predicted, num_classes)


def accuracy_overall_share(predicted, requested, num_classes):
    """The overall share of correct samples, repeated for every class."""
    return np.full(num_classes, np.mean(np.asarray(predicted) == np.asarray(requested)))


CHECKS = {"one_hot": check_one_hot, "label_maps": check_label_maps,
          "accuracy_by_class": check_accuracy_by_class}
MUTANTS = {"one_hot": [one_hot_off_by_one, one_hot_of_the_columns],
           "label_maps": [label_maps_reshaped, label_maps_only_the_label],
           "accuracy_by_class": [accuracy_grouped_by_prediction, accuracy_overall_share]}

test_exercise, test_mutant_is_rejected = make_tests("07", CHECKS, MUTANTS)
