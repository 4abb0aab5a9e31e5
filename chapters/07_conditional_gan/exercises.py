"""Chapter 07 exercises: how a label gets into the networks, and how we check G obeyed it.

Replace each ``raise NotImplementedError`` with your code (NumPy arrays in and out; leave
the arrays passed in as they are), then check it with

    pytest --solutions=mine -m ch07
"""


def one_hot(labels, num_classes):
    """Exercise 7.1. The one-hot code of integer ``labels`` (N,): an (N, num_classes) float
    array with onehot[n, c] = 1 if labels[n] == c, else 0. (Row y of the identity matrix.)"""
    raise NotImplementedError("Exercise 7.1: one_hot")


def label_maps(onehot, side):
    """Exercise 7.2. The label as feature maps for D: from onehot (N, C) to an array
    (N, C, side, side) whose map [n, c] is the constant onehot[n, c]. Concatenated with
    the images along axis 1, it shows D's first convolution image and label together."""
    raise NotImplementedError("Exercise 7.2: label_maps")


def accuracy_by_class(predicted, requested, num_classes):
    """Exercise 7.3. For each class c, the share of the samples *requested* as c that the
    classifier *predicted* as c: an array (num_classes,). (Its mean is the chapter's
    "accuracy by requested class"; a class never requested gives nan.)"""
    raise NotImplementedError("Exercise 7.3: accuracy_by_class")
