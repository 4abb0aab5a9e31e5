"""Chapter 07's exercises: one-hot codes, label maps, accuracy by requested class."""
import numpy as np
import pytest

from tests.exercises.harness import make_tests

pytestmark = pytest.mark.ch07


def _unchanged(exercise, **inputs):
    """Each input (array, copy taken before the call) is as it was: nothing wrote into it."""
    for name, (array, copy) in inputs.items():
        assert np.array_equal(array, copy), f"{exercise} changed its input {name}: leave it be"


def check_one_hot(one_hot):
    """onehot[n, c] = 1.0 if labels[n] == c else 0.0, built entry by entry: with all classes
    present, with the last classes absent (num_classes is not max(labels) + 1), with as many
    examples as classes (a transpose keeps the shape); floats, like minigan's own."""
    from minigan import models
    cases = [(np.array([3, 0, 9, 3, 5, 1, 7]), 10), (np.array([1, 2, 0]), 3),
             (np.array([0, 1]), 3), (np.array([2, 2, 0, 1, 1]), 6), (np.array([4]), 5)]
    for labels, num_classes in cases:
        kept = labels.copy()
        code = np.asarray(one_hot(labels, num_classes))
        what = f"one_hot({labels.tolist()}, {num_classes})"
        assert code.shape == (len(labels), num_classes), \
            f"{what}: expected shape {(len(labels), num_classes)}, got {code.shape}"
        assert np.issubdtype(code.dtype, np.floating), \
            f"{what}: expected floats (the code is fed to the networks), got dtype {code.dtype}"
        expected = np.array([[1.0 if y == c else 0.0 for c in range(num_classes)] for y in labels])
        for n, y in enumerate(labels):
            assert np.array_equal(code[n], expected[n]), \
                f"{what}: row {n} should be 1 in column {y}, 0 elsewhere; got {code[n].tolist()}"
        _unchanged("one_hot", labels=(labels, kept))
    labels = cases[0][0]
    assert np.array_equal(one_hot(labels, 10), models.one_hot(labels, 10).numpy()), \
        "one_hot differs from minigan.models.one_hot"


def check_label_maps(label_maps):
    """maps[n, c] is the constant onehot[n, c], built map by map, shape (N, C, side, side):
    one-hot rows, soft codes (any (N, C) code, not only one-hot ones), as many examples as
    classes (a transpose keeps the shape), side 1; the code is left unchanged."""
    rng = np.random.default_rng(7)
    cases = [(np.eye(4)[rng.integers(0, 4, size=5)], 6), (rng.random((3, 2)), 3),
             (np.array([[0.1, 0.2, 0.7], [0.5, 0.5, 0.0], [0.9, 0.0, 0.1]]), 2),
             (np.eye(3)[[2, 0]], 1)]
    for onehot, side in cases:
        kept = onehot.copy()
        maps = np.asarray(label_maps(onehot, side))
        n_examples, n_classes = onehot.shape
        expected_shape = (n_examples, n_classes, side, side)
        assert maps.shape == expected_shape, (f"label_maps of a code {onehot.shape}, side {side}: "
                                              f"expected shape {expected_shape}, got {maps.shape}")
        for n in range(n_examples):
            for c in range(n_classes):
                # rtol lets float32 maps of a float64 code pass; a 0 must stay exactly 0.
                assert np.allclose(maps[n, c], onehot[n, c], rtol=1e-6, atol=0), \
                    (f"side {side}: map [{n}, {c}] should be the constant onehot[{n}, {c}] = "
                     f"{onehot[n, c]:.3g}; it holds {np.unique(maps[n, c])[:4].tolist()}")
        _unchanged("label_maps", onehot=(onehot, kept))


def _recall_by_class(predicted, requested, num_classes):
    """Counted sample by sample: right[c] / asked[c], nan where asked[c] = 0."""
    asked, right = [0] * num_classes, [0] * num_classes
    for p, r in zip(predicted, requested):
        asked[r] += 1
        right[r] += int(p == r)
    return np.array([right[c] / asked[c] if asked[c] else np.nan for c in range(num_classes)])


def check_accuracy_by_class(accuracy_by_class):
    """Per requested class, the share predicted as that class, nan for a class never requested
    (also the last one: the length is num_classes): hand-counted cases, then random ones
    counted sample by sample; the inputs are left unchanged."""
    rng = np.random.default_rng(70)
    # (predicted, requested, num_classes, expected)
    cases = [([0, 0, 1, 2, 1, 0, 2, 2, 2, 1], [0, 0, 0, 0, 1, 1, 2, 2, 2, 2], 3, [0.5, 0.5, 0.75]),
             # Unequal class sizes: the per-class shares differ from the overall share (8/10).
             ([0] * 10, [0] * 8 + [1] * 2, 2, [1.0, 0.0]),
             # Classes 1 and 3 never requested (3 is predicted, though): nan for them.
             ([0, 3, 2, 2, 3, 0], [0, 0, 2, 2, 2, 2], 4, [0.5, np.nan, 0.5, np.nan])]
    for _ in range(4):
        requested = rng.choice([0, 1, 2, 4], size=40)     # class 3 and 5 never requested
        predicted = np.where(rng.random(40) < 0.6, requested, rng.integers(0, 6, 40))
        cases.append((predicted, requested, 6, _recall_by_class(predicted, requested, 6)))
    for predicted, requested, num_classes, expected in cases:
        predicted, requested = np.array(predicted), np.array(requested)
        kept = predicted.copy(), requested.copy()
        got = np.asarray(accuracy_by_class(predicted, requested, num_classes), dtype=np.float64)
        assert got.shape == (num_classes,), \
            f"expected one share per class, shape ({num_classes},), got shape {got.shape}"
        for c in range(num_classes):
            if np.isnan(expected[c]):
                assert np.isnan(got[c]), f"class {c} is never requested: expected nan, got {got[c]}"
            assert np.isclose(got[c], expected[c], rtol=1e-9, atol=1e-12, equal_nan=True), \
                (f"class {c}: of the {np.sum(requested == c)} samples requested as {c}, the share "
                 f"predicted as {c} is {expected[c]:.4g}, got {got[c]:.4g}")
        _unchanged("accuracy_by_class", predicted=(predicted, kept[0]),
                   requested=(requested, kept[1]))


# --- planted wrong answers -----------------------------------------------------------------
def one_hot_off_by_one(labels, num_classes):
    """Shifts every class by one (a 1-based label convention)."""
    return np.eye(num_classes)[(np.asarray(labels) + 1) % num_classes]


def one_hot_of_the_columns(labels, num_classes):
    """Indexes the identity's columns with the classes and the rows with examples, then
    forgets to transpose: right only for square cases."""
    return np.eye(num_classes)[:, np.asarray(labels)]


def one_hot_as_integers(labels, num_classes):
    """Right entries, integer dtype: the networks take float codes."""
    return (np.asarray(labels)[:, None] == np.arange(num_classes)).astype(int)


def one_hot_classes_from_the_labels(labels, num_classes):
    """max(labels) + 1 columns: too few when the last classes are absent from the batch."""
    labels = np.asarray(labels)
    return np.eye(labels.max() + 1)[labels]


def label_maps_reshaped(onehot, side):
    """Repeats the codes and reshapes: the values land in the wrong maps."""
    onehot = np.asarray(onehot)
    return np.repeat(onehot, side * side, axis=0).reshape(onehot.shape + (side, side))


def label_maps_only_the_label(onehot, side):
    """One map per example (the label's index): loses the class axis."""
    onehot = np.asarray(onehot)
    return np.broadcast_to(onehot.argmax(axis=1)[:, None, None, None],
                           (len(onehot), onehot.shape[1], side, side)).astype(float)


def label_maps_of_the_transpose(onehot, side):
    """Builds the maps from onehot.T: the shape is right only when N = C, the values never."""
    onehot = np.asarray(onehot).T
    return np.broadcast_to(onehot[:, :, None, None], onehot.shape + (side, side)).copy()


def accuracy_grouped_by_prediction(predicted, requested, num_classes):
    """Groups by the predicted class (precision per class), not the requested one."""
    from tests.exercises.ch07_reference import accuracy_by_class
    return accuracy_by_class(requested, predicted, num_classes)


def accuracy_overall_share(predicted, requested, num_classes):
    """The overall share of correct samples, repeated for every class."""
    return np.full(num_classes, np.mean(np.asarray(predicted) == np.asarray(requested)))


def accuracy_zero_for_absent_classes(predicted, requested, num_classes):
    """0 for a class never requested, as if G had failed it: its accuracy is unknown (nan)."""
    from tests.exercises.ch07_reference import accuracy_by_class
    return np.nan_to_num(accuracy_by_class(predicted, requested, num_classes))


def accuracy_classes_from_requested(predicted, requested, num_classes):
    """Counts classes up to max(requested): drops the last classes when they are not asked for."""
    from tests.exercises.ch07_reference import accuracy_by_class
    return accuracy_by_class(predicted, requested, int(np.max(requested)) + 1)


CHECKS = {"one_hot": check_one_hot, "label_maps": check_label_maps,
          "accuracy_by_class": check_accuracy_by_class}
MUTANTS = {"one_hot": [one_hot_off_by_one, one_hot_of_the_columns, one_hot_as_integers,
                       one_hot_classes_from_the_labels],
           "label_maps": [label_maps_reshaped, label_maps_only_the_label,
                          label_maps_of_the_transpose],
           "accuracy_by_class": [accuracy_grouped_by_prediction, accuracy_overall_share,
                                 accuracy_zero_for_absent_classes, accuracy_classes_from_requested]}

test_exercise, test_mutant_is_rejected = make_tests("07", CHECKS, MUTANTS)
