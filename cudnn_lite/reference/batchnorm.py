"""Batch norm (eps 1e-3, momentum 0.99, biased batch variance)."""
from __future__ import annotations

import numpy as np

# ------------------------------------------------------------- batch norm

def batchnorm_forward_train(x, gamma, beta, moving_mean, moving_var, momentum=0.99, epsilon=1e-3):
    """Returns (y, save_mean, save_invstd, new_moving_mean, new_moving_var).

    The inputs are not modified (the kernel updates moving_mean/moving_var in
    place; here the updated values are returned instead).
    """
    c = x.shape[-1]
    x2 = x.reshape(-1, c)
    mean = x2.mean(axis=0)
    var = ((x2 - mean) ** 2).mean(axis=0)  # biased
    invstd = 1 / np.sqrt(var + epsilon)
    y = (gamma * (x2 - mean) * invstd + beta).reshape(x.shape)
    new_mean = moving_mean * momentum + mean * (1 - momentum)
    new_var = moving_var * momentum + var * (1 - momentum)
    return y, mean, invstd, new_mean, new_var


def batchnorm_forward_inference(x, gamma, beta, moving_mean, moving_var, epsilon=1e-3):
    return gamma * (x - moving_mean) / np.sqrt(moving_var + epsilon) + beta


def batchnorm_backward(x, dy, gamma, save_mean, save_invstd):
    """(dx, dgamma, dbeta) of the training-mode forward (mean and var depend on x)."""
    c = x.shape[-1]
    x2 = x.reshape(-1, c)
    dy2 = dy.reshape(-1, c)
    rows = x2.shape[0]
    xhat = (x2 - save_mean) * save_invstd
    dbeta = dy2.sum(axis=0)
    dgamma = (dy2 * xhat).sum(axis=0)
    dx = gamma * save_invstd / rows * (rows * dy2 - dbeta - xhat * dgamma)
    return dx.reshape(x.shape), dgamma, dbeta
