"""minigan's answers to chapter 06's exercises: shapes measured on minigan's own layers."""
import numpy as np

import minigan
import minigan.nn.functional as F


def conv2d_output_size(size, kernel, stride, padding):
    x = minigan.zeros(1, 1, size, size)
    return F.conv2d(x, minigan.zeros(1, 1, kernel, kernel), stride=stride, padding=padding).shape[-1]


def conv_transpose2d_output_size(size, kernel, stride, padding, output_padding=0):
    x = minigan.zeros(1, 1, size, size)
    return F.conv_transpose2d(x, minigan.zeros(1, 1, kernel, kernel), stride=stride,
                              padding=padding, output_padding=output_padding).shape[-1]


def slerp(z0, z1, t):
    z0, z1 = np.asarray(z0, dtype=np.float64), np.asarray(z1, dtype=np.float64)
    cosine = np.dot(z0.ravel(), z1.ravel()) / (np.linalg.norm(z0) * np.linalg.norm(z1))
    omega = np.arccos(np.clip(cosine, -1.0, 1.0))
    if omega < 1e-6:
        return (1 - t) * z0 + t * z1
    return (np.sin((1 - t) * omega) * z0 + np.sin(t * omega) * z1) / np.sin(omega)
