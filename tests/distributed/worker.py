"""A data-parallel training run for tests/test_distribute.py, started by ``mpirun -np N`` (or
as one plain process for the reference). Writes its results into OUT as .npz/.json files.

    python worker.py MODE OUT [options]

MODE: train (fit a few steps; per-step losses, final weights, per-step state digests checked
equal on every rank), resume (load OUT/ckpt_in.keras-like file, fit one more epoch), fail
(rank 1 raises, dies or hangs at step 2), mismatch (rank 1 uses another batch size).
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time

import numpy as np

import cudnn_lite as cl
from cudnn_lite import distribute, zoo
from cudnn_lite.callbacks import Callback, CSVLogger, ModelCheckpoint
from cudnn_lite.layers import BatchNormalization, Conv2D, Dense, Flatten, MaxPooling2D
from cudnn_lite.models import Sequential, load_model


def data(n, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.random((n, 28, 28, 1), dtype=np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, n)]
    return x, y


def bn_model():
    m = Sequential(name="bn_cnn")
    m.add(Conv2D(8, 3, padding="same", activation="relu", input_shape=(28, 28, 1)))
    m.add(BatchNormalization())
    m.add(MaxPooling2D(4))
    m.add(Flatten())
    m.add(Dense(10, activation="softmax"))
    m.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    return m


class Recorder(Callback):
    """Per step: the running mean loss of the epoch, and (distributed) the ranks' state digests
    compared bit for bit."""

    def __init__(self, comm):
        super().__init__()
        self.comm, self.losses, self.digests = comm, [], []

    def on_train_batch_end(self, batch, logs=None):
        self.losses.append(float(logs["loss"]))
        if self.comm is not None:
            self.digests.append(distribute.check_in_sync(self.comm, self.model))


class Saboteur(Callback):
    def __init__(self, rank, how):
        super().__init__()
        self.rank, self.how = rank, how

    def on_train_batch_begin(self, batch, logs=None):
        if self.rank == 1 and batch == 2:
            if self.how == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            if self.how == "hang":  # stuck: rank 0's deadline must end the run
                time.sleep(120)
            raise ValueError("worker: rank 1 raises on purpose at step 2")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["train", "resume", "fail", "mismatch"])
    p.add_argument("out")
    p.add_argument("--single", action="store_true", help="plain fit, no strategy (the reference)")
    p.add_argument("--model", default="mnist-cnn", choices=["mnist-cnn", "bn"])
    p.add_argument("--sync-bn", action="store_true")
    p.add_argument("--samples", type=int, default=37)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--how", default="raise", choices=["raise", "kill", "hang"])
    a = p.parse_args()
    cl.set_num_threads(1)
    cl.backend.set_random_seed(0)
    strategy = None if a.single else distribute.DataParallel(sync_batch_norm=a.sync_bn)
    rank = 0 if strategy is None else strategy.rank
    tag = "single" if strategy is None else f"np{strategy.size}"
    x, y = data(a.samples)
    validation = data(11, seed=2)
    if a.mode == "resume":
        model = load_model(os.path.join(a.out, "ckpt_in.npz"))
    elif a.model == "bn":
        model = bn_model()
    else:
        model = zoo.build("mnist-cnn")
    comm = None if strategy is None else strategy.comm
    rec = Recorder(comm)
    callbacks = [rec, CSVLogger(os.path.join(a.out, f"log_rank{rank}_{tag}.csv")),
                 ModelCheckpoint(os.path.join(a.out, f"ckpt_rank{rank}_{tag}.npz"), monitor="loss",
                                 save_weights_only=True)]
    batch_size = a.batch_size
    if a.mode == "fail":
        callbacks.append(Saboteur(rank, a.how))
    if a.mode == "mismatch" and rank == 1:
        batch_size += 1
    initial = model.epoch if a.mode == "resume" else 0
    history = model.fit(x, y, batch_size=batch_size, epochs=initial + a.epochs, initial_epoch=initial,
                        verbose=2, callbacks=callbacks, distribute=strategy, shuffle=True,
                        validation_data=validation)
    if rank == 0:
        model.save(os.path.join(a.out, f"model_{a.mode}_{tag}.npz"))
        np.savez(os.path.join(a.out, f"result_{a.mode}_{tag}.npz"), losses=np.array(rec.losses),
                 **{f"w{i}": w for i, w in enumerate(model.get_weights())})
        with open(os.path.join(a.out, f"result_{a.mode}_{tag}.json"), "w") as f:
            json.dump({"history": history.history, "digests": rec.digests,
                       "size": 1 if strategy is None else strategy.size,
                       "last_fit": None if strategy is None else strategy.last_fit}, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
