"""``make_blobs``: isotropic Gaussian blobs, the same algorithm (and so the same
numbers for the same ``random_state``) as ``sklearn.datasets.make_blobs``,
without needing scikit-learn."""
from __future__ import annotations

import numbers

import numpy as np

__all__ = ["make_blobs"]


def _random_state(seed):
    if seed is None or seed is np.random:
        return np.random.mtrand._rand
    if isinstance(seed, numbers.Integral):
        return np.random.RandomState(seed)
    if isinstance(seed, np.random.RandomState):
        return seed
    raise ValueError(f"random_state: expected None, an int or a RandomState, got {seed!r}")


def make_blobs(n_samples=100, n_features=2, centers=None, cluster_std=1.0,
               center_box=(-10.0, 10.0), shuffle=True, random_state=None, return_centers=False):
    """Generate isotropic Gaussian blobs for clustering/classification.

    Returns ``X`` (n_samples, n_features) float64 and ``y`` (n_samples,) int
    labels (plus the centers with ``return_centers=True``). ``n_samples``
    may be an int (split evenly over the centers, the first ones getting
    the remainder) or a per-center list; ``centers`` an int (drawn uniformly
    in ``center_box``; default 3) or an array of centers.
    """
    generator = _random_state(random_state)
    if isinstance(n_samples, numbers.Integral):
        if centers is None:
            centers = 3
        if isinstance(centers, numbers.Integral):
            n_centers = int(centers)
            centers = generator.uniform(center_box[0], center_box[1],
                                        size=(n_centers, n_features))
        else:
            centers = np.asarray(centers, dtype=np.float64)
            if centers.ndim != 2:
                raise ValueError(f"centers: expected an int or a 2-D array, got shape {centers.shape}")
            n_features, n_centers = centers.shape[1], centers.shape[0]
    else:
        n_samples = [int(n) for n in n_samples]
        n_centers = len(n_samples)
        if centers is None:
            centers = generator.uniform(center_box[0], center_box[1],
                                        size=(n_centers, n_features))
        else:
            centers = np.asarray(centers, dtype=np.float64)
            if len(centers) != n_centers:
                raise ValueError(f"Length of `n_samples` not consistent with number of centers. "
                                 f"Got n_samples = {n_samples} and centers = {centers}")
            n_features = centers.shape[1]
    if isinstance(cluster_std, numbers.Real):
        cluster_std = np.full(len(centers), float(cluster_std))
    else:
        cluster_std = np.asarray(cluster_std, dtype=np.float64)
        if len(cluster_std) != n_centers:
            raise ValueError(f"Length of `clusters_std` not consistent with number of centers. "
                             f"Got centers = {centers} and cluster_std = {cluster_std}")
    if isinstance(n_samples, numbers.Integral):
        per_center = [int(n_samples) // n_centers] * n_centers
        for i in range(int(n_samples) % n_centers):
            per_center[i] += 1
    else:
        per_center = n_samples
    total = int(sum(per_center))
    X = np.empty((total, n_features), dtype=np.float64)
    y = np.empty((total,), dtype=int)
    start = 0
    for i, (n, std) in enumerate(zip(per_center, cluster_std)):
        X[start:start + n] = generator.normal(loc=centers[i], scale=std, size=(n, n_features))
        y[start:start + n] = i
        start += n
    if shuffle:
        indices = np.arange(total)
        generator.shuffle(indices)
        X, y = X[indices], y[indices]
    if return_centers:
        return X, y, centers
    return X, y
