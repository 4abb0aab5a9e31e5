"""minigan's answers to chapter 08's exercises."""
import math

import numpy as np
import scipy.optimize


def mutual_information_lower_bound(q_probabilities, codes):
    q = np.asarray(q_probabilities)
    return math.log(q.shape[1]) + np.mean(np.log(q[np.arange(len(q)), np.asarray(codes)]))


def gaussian_code_nll(means, codes):
    difference = np.asarray(codes) - np.asarray(means)
    return np.mean(0.5 * (difference ** 2).sum(axis=1)) + 0.5 * difference.shape[1] * math.log(
        2 * math.pi)


def best_matching_accuracy(codes, labels, num_classes):
    counts = np.zeros((num_classes, num_classes))
    np.add.at(counts, (np.asarray(codes), np.asarray(labels)), 1)
    rows, columns = scipy.optimize.linear_sum_assignment(counts, maximize=True)
    return counts[rows, columns].sum() / len(codes)
