"""Agreement between ranks: the signature every rank must share before the first step (model,
optimizer, loss, data sizes), and a digest of the training state for bit-for-bit checks."""
from __future__ import annotations

import hashlib
import json

import numpy as np

from .. import backend
from .. import layers as _layers
from .. import optimizers as _optimizers
from .comm import MismatchError

__all__ = ["signature", "check_same", "state_digest", "check_in_sync"]


def _layer_spec(layer):
    spec = _layers.serialize(layer)
    config = {k: v for k, v in spec["config"].items() if k != "name"}  # names count per process
    return {"class_name": spec["class_name"], "config": config,
            "weights": [list(w.shape) for w in layer.weights]}


def signature(model, **fields):
    """What must be equal on every rank: the layers (configs and weight shapes), the optimizer
    (config, step count, slots created), the loss and ``fields`` (batch size, sample count...)."""
    opt = model.optimizer
    sig = {"model": json.dumps([_layer_spec(l) for l in model.layers], sort_keys=True, default=str),
           "optimizer": json.dumps(_optimizers.serialize(opt), sort_keys=True, default=str) if opt else None,
           "optimizer iterations": getattr(opt, "iterations", None),
           "loss": str(getattr(model, "loss", None)), "device": model.device}
    sig.update(fields)
    return sig


def check_same(comm, sig):
    """MismatchError on every rank, naming what differs and on which ranks, unless every rank's
    ``sig`` equals rank 0's."""
    every = comm.allgather_object(sig, "comparison of the ranks' models and data")
    problems = []
    for r, other in enumerate(every[1:], start=1):
        for key in every[0]:
            if other.get(key) != every[0][key]:
                a, b = str(every[0][key]), str(other.get(key))
                if len(a) > 200 or len(b) > 200:
                    a, b = _first_difference(a, b)
                problems.append(f"{key}: rank 0 has {a}, rank {r} has {b}")
    if problems:
        raise MismatchError("data-parallel ranks disagree before the first step (every rank must build "
                            "the same model, compile it the same way and fit the same data with the "
                            "same batch_size): " + "; ".join(problems))


def _first_difference(a, b):
    i = next((k for k, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    lo = max(i - 60, 0)
    return f"...{a[lo:i + 60]}...", f"...{b[lo:i + 60]}..."


def state_digest(model):
    """SHA-256 of every weight's bytes, the optimizer's slots and its step count."""
    h = hashlib.sha256()
    for w in model.weights:
        h.update(np.ascontiguousarray(backend.to_numpy(w.value)).tobytes())
    opt = model.optimizer
    if opt is not None:
        h.update(str(opt.iterations).encode())
        for pair in opt._slots:
            for s in pair:
                if s is not None:
                    h.update(np.ascontiguousarray(backend.to_numpy(s)).tobytes())
    return h.hexdigest()


def check_in_sync(comm, model):
    """DistributedError unless every rank's weights and optimizer state are bit-for-bit rank 0's;
    returns the digest."""
    every = comm.allgather_object(state_digest(model), "comparison of the ranks' weights")
    bad = [r for r, d in enumerate(every) if d != every[0]]
    if bad:
        raise MismatchError(f"weights or optimizer state of rank(s) {bad} differ from rank 0's")
    return every[0]
