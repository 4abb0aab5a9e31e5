"""minigan's answers to chapter 07's exercises."""
import numpy as np


def one_hot(labels, num_classes):
    return np.eye(num_classes)[np.asarray(labels)]


def label_maps(onehot, side):
    onehot = np.asarray(onehot)
    return np.broadcast_to(onehot[:, :, None, None], onehot.shape + (side, side)).copy()


def accuracy_by_class(predicted, requested, num_classes):
    predicted, requested = np.asarray(predicted), np.asarray(requested)
    with np.errstate(invalid="ignore"):
        return np.array([np.mean(predicted[requested == c] == c) if np.any(requested == c)
                         else np.nan for c in range(num_classes)])
