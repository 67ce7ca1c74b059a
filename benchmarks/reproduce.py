"""Train a textbook network with its recipe and record the test result (cudnn_lite or PyTorch).

    python benchmarks/reproduce.py blobs_mlp --seed 0                    # cudnn_lite, book recipe
    python benchmarks/reproduce.py blobs_mlp --seed 0 --framework torch  # the same in PyTorch
    python benchmarks/reproduce.py mnist_cnn --epochs 2
    python benchmarks/reproduce.py cifar10_cnn --epochs 1 --max-train 2000   # a timing probe
    python benchmarks/reproduce.py xor_mlp --quick --out /tmp/r          # smoke run

Both frameworks get the same data arrays (cudnn_lite.zoo.load_dataset: the
book's split and preprocessing), the same batch order (a permutation per epoch
from one NumPy generator seeded with --seed, drawn identically in both), the
same augmentation stream (cudnn_lite.preprocessing.ImageDataGenerator.flow with
the same seed), and the recipe's optimizer, loss, batch size and epochs. The
best-validation-loss weights (cudnn_lite: ModelCheckpoint(save_best_only=True);
torch: an in-memory copy on the same rule) are evaluated on the test split.

Writes to --out (default benchmarks/results/reproduce/):
  <model>-<framework>-seed<S>[-e<epochs>][-n<max_train>][-quick].json   the record
  <same stem>.png                                                      learning curves
With --checkpoint-dir DIR the run is resumable: DIR keeps the model after every
epoch (optimizer, RNG and epoch included), the best weights and the history so
far, and the same command run again continues from the last completed epoch
(bit-identical on the CPU at the same thread count). Copy DIR to move the run.
Epoch time = training steps + the validation pass (checkpoint writing excluded),
the same span in both frameworks.

Run from the repo root as `python benchmarks/reproduce.py` (so the INSTALLED
cudnn_lite is imported, not the source folder).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import shutil
import statistics
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import harness  # noqa: E402

DEFAULT_OUT = os.path.join(HERE, "results", "reproduce")
QUICK_TRAIN, QUICK_EVAL = 256, 256


def default_data_dir():
    env = os.environ.get("CUDNN_LITE_DATA")
    if env:
        return env
    shared = os.path.join(os.path.dirname(harness.REPO_ROOT), "shared", "datasets")
    return shared if os.path.isdir(shared) else None


# ------------------------------------------------------------------ data order

class EpochBatches:
    """A Keras Sequence over (x, y): batch i of the current epoch's permutation.

    The permutation comes from ``np.random.default_rng([seed, 7])`` (drawn at
    construction and at every ``on_epoch_end``), so both frameworks see the same
    batches in the same order.
    """

    def __init__(self, x, y, batch_size, seed):
        self.x, self.y, self.batch_size = x, y, int(batch_size)
        self._rng = np.random.default_rng([int(seed), 7])
        self.order = self._rng.permutation(len(x))

    def __len__(self):
        return -(-len(self.x) // self.batch_size)

    def __getitem__(self, i):
        if not 0 <= i < len(self):
            raise IndexError(i)
        idx = self.order[i * self.batch_size:(i + 1) * self.batch_size]
        return self.x[idx], self.y[idx]

    def on_epoch_end(self):
        self.order = self._rng.permutation(len(self.x))


def training_batches(recipe, x, y, batch_size, seed):
    """(Sequence, steps per epoch): the recipe's augmentation flow, or plain shuffled batches."""
    if recipe.augmentation:
        from cudnn_lite.preprocessing.image import ImageDataGenerator
        datagen = ImageDataGenerator(**recipe.augmentation)
        datagen.fit(x)
        flow = datagen.flow(x, y, batch_size=batch_size, seed=seed)
        return flow, max(1, len(x) // batch_size)   # the book's steps_per_epoch
    seq = EpochBatches(x, y, batch_size, seed)
    return seq, len(seq)


# ------------------------------------------------------------------ frameworks

def _timer_callback():
    from cudnn_lite.callbacks import Callback

    class SplitTimer(Callback):
        """Per epoch: seconds of the training steps and of the validation pass."""

        def __init__(self):
            super().__init__()
            self.train, self.val = [], []

        def on_epoch_begin(self, epoch, logs=None):
            self._t0 = self._t1 = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            self._t1 = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            t2 = time.perf_counter()
            self.train.append(self._t1 - self._t0)
            self.val.append(t2 - self._t1)

    return SplitTimer()


class RunState:
    """A resumable run's folder: ``latest.model.npz`` (the model with its optimizer, RNG and
    epoch, rewritten after every epoch), ``best.weights.npz`` (the best validation loss so
    far) and ``history.jsonl`` (one line per completed epoch, appended as it goes).

    Per epoch the order of writes is best weights, history line, latest model: every file is
    replaced atomically, and a run stopped anywhere resumes from ``latest.model.npz``, keeping
    only the history lines of the epochs that file has completed (an epoch redone after a stop
    gives the same bits on the CPU at the same thread count).
    """

    LATEST, BEST, HISTORY, META = "latest.model.npz", "best.weights.npz", "history.jsonl", "meta.json"

    def __init__(self, folder, meta):
        self.folder = folder
        os.makedirs(folder, exist_ok=True)
        self.path = lambda name: os.path.join(folder, name)  # noqa: E731
        meta_path = self.path(self.META)
        if os.path.exists(meta_path):
            with open(meta_path) as f:
                saved = json.load(f)
            differ = {k: (saved.get(k), v) for k, v in meta.items() if saved.get(k) != v}
            if differ:
                raise SystemExit(f"--checkpoint-dir {folder}: holds another run ({differ}); "
                                 "use a new folder")
        else:
            harness.atomic_write(meta_path, json.dumps(meta, indent=1) + "\n")
        self.lines = []

    def resumable(self):
        return os.path.exists(self.path(self.LATEST))

    def resume(self):
        """The saved model; self.lines = the history of its completed epochs."""
        from cudnn_lite.models import load_model
        model = load_model(self.path(self.LATEST))
        lines = []
        if os.path.exists(self.path(self.HISTORY)):
            with open(self.path(self.HISTORY)) as f:
                lines = [json.loads(line) for line in f if line.strip()]
        if len(lines) < model.epoch:
            raise SystemExit(f"{self.path(self.HISTORY)}: {len(lines)} epochs recorded, the "
                             f"checkpoint has completed {model.epoch}")
        self.lines = lines[:model.epoch]
        harness.atomic_write(self.path(self.HISTORY),
                             "".join(json.dumps(line) + "\n" for line in self.lines))
        return model

    def best(self):
        """(best val_loss, its 1-based epoch) among the completed epochs, or (inf, None)."""
        best, epoch = math.inf, None
        for line in self.lines:
            if line["val_loss"] < best:
                best, epoch = line["val_loss"], line["epoch"]
        return best, epoch

    def append(self, line):
        with open(self.path(self.HISTORY), "a") as f:
            f.write(json.dumps(line) + "\n")
            f.flush()
            os.fsync(f.fileno())
        self.lines.append(line)


def _state_callback(state, timer, threads):
    from cudnn_lite.callbacks import Callback
    commit = harness._git()["commit"]

    class SaveEveryEpoch(Callback):
        """After each epoch: best weights (on val_loss), the history line, the whole model."""

        def __init__(self):
            super().__init__()
            self.best, self.best_epoch = state.best()

        def on_epoch_end(self, epoch, logs=None):
            logs = {k: float(v) for k, v in (logs or {}).items()}
            if logs["val_loss"] < self.best:
                self.best, self.best_epoch = logs["val_loss"], epoch + 1
                self.model.save_weights(state.path(state.BEST))
            state.append({"epoch": epoch + 1, **logs, "train_seconds": timer.train[-1],
                          "val_seconds": timer.val[-1], "threads": threads,
                          "loadavg": harness._loadavg(), "date": time.strftime("%Y-%m-%d %H:%M:%S"),
                          "commit": commit})
            self.model.save(state.path(state.LATEST))

    return SaveEveryEpoch()


def run_cudnn_lite(key, recipe, data, args, batch_size, epochs, verbose, threads):
    from cudnn_lite import backend, zoo
    from cudnn_lite.callbacks import ModelCheckpoint
    (x, y), (xv, yv), (xt, yt) = data
    backend.set_device(args.device)
    backend.set_random_seed(args.seed)
    timer = _timer_callback()
    tmp = None
    if args.checkpoint_dir:
        state = RunState(args.checkpoint_dir, {
            "model": key, "framework": "cudnn_lite", "seed": args.seed, "device": args.device,
            "batch_size": batch_size, "max_train": args.max_train, "quick": bool(args.quick)})
        model = state.resume() if state.resumable() else zoo.build(key)
        done = model.epoch
        callbacks = [timer, _state_callback(state, timer, threads)]
        best_path = state.path(state.BEST)
        if done and verbose:
            print(f"resuming from {state.path(state.LATEST)}: {done} epochs completed", flush=True)
    else:
        state, done = None, 0
        model = zoo.build(key)
        tmp = tempfile.mkdtemp(prefix="reproduce-ckpt-")
        best_path = os.path.join(tmp, f"{key}.best.weights.npz")
        callbacks = [timer, ModelCheckpoint(best_path, monitor="val_loss", verbose=0,
                                            save_best_only=True, save_weights_only=True)]
    seq, steps = training_batches(recipe, x, y, batch_size, args.seed)
    for _ in range(done):  # the data stream of the epochs already done: order and augmentation
        seq.on_epoch_end()
    try:
        start = time.perf_counter()
        if done < epochs:
            model.fit(seq, steps_per_epoch=steps, epochs=epochs, verbose=verbose,
                      validation_data=(xv, yv), validation_batch_size=batch_size,
                      callbacks=callbacks, shuffle=False, initial_epoch=done)
        total = time.perf_counter() - start
        if state is not None:
            lines = state.lines[:epochs]
            hist = {k: [line[k] for line in lines]
                    for k in ("loss", "accuracy", "val_loss", "val_accuracy") if k in lines[0]}
            train_s = [line["train_seconds"] for line in lines]
            val_s = [line["val_seconds"] for line in lines]
            total = sum(train_s) + sum(val_s)
        else:
            hist = {k: [float(v) for v in vals] for k, vals in model.history.history.items()}
            train_s, val_s = timer.train, timer.val
        best_epoch = None
        if os.path.exists(best_path):
            model.load_weights(best_path)
            best_epoch = int(np.argmin(hist["val_loss"])) + 1
        score = model.evaluate(xt, yt, batch_size=max(batch_size, 128), verbose=0)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    score = [float(s) for s in np.ravel(score)]
    return {"history": hist, "train_seconds": train_s, "val_seconds": val_s,
            "total_seconds": total, "test_loss": score[0],
            "test_accuracy": score[1] if len(score) > 1 else float("nan"),
            "best_epoch": best_epoch, "optimizer": zoo.RECIPES[key].optimizer_text,
            "params": model.count_params(), "framework_version": _version("cudnn_lite"),
            "best_weights": best_path if state is not None else None}


def run_torch(key, recipe, data, args, batch_size, epochs, verbose, torch, threads):
    import torch_recipes
    (x, y), (xv, yv), (xt, yt) = data
    net = torch_recipes.build(key, torch, seed=args.seed, device=args.device)
    hist = {"loss": [], "accuracy": [], "val_loss": [], "val_accuracy": []}
    train_s, val_s = [], []
    best, best_state, best_epoch = math.inf, None, None
    done, state, commit = 0, None, None
    if args.checkpoint_dir:
        # resumable: <dir>/latest.torch.pt holds module, optimizer, torch RNG, epoch, best state
        state = RunState(args.checkpoint_dir, {
            "model": key, "framework": "torch", "seed": args.seed, "device": args.device,
            "batch_size": batch_size, "max_train": args.max_train, "quick": bool(args.quick)})
        commit = harness._git()["commit"]
        latest = state.path("latest.torch.pt")
        if os.path.exists(latest):
            ckpt = torch.load(latest, map_location=args.device, weights_only=False)
            net.module.load_state_dict(ckpt["module"])
            net.optimizer.load_state_dict(ckpt["optimizer"])
            if ckpt.get("iterations") is not None:  # the Keras-rule optimizers count steps outside state_dict
                net.optimizer.iterations = ckpt["iterations"]
            torch.set_rng_state(ckpt["torch_rng"])
            done = int(ckpt["epoch"])
            best, best_epoch, best_state = ckpt["best"], ckpt["best_epoch"], ckpt["best_state"]
            with open(state.path(state.HISTORY)) as f:
                lines = [json.loads(line) for line in f if line.strip()][:done]
            if len(lines) < done:
                raise SystemExit(f"{state.path(state.HISTORY)}: {len(lines)} epochs recorded, the "
                                 f"checkpoint has completed {done}")
            state.lines = lines
            harness.atomic_write(state.path(state.HISTORY), "".join(json.dumps(l) + "\n" for l in lines))
            for line in lines:
                for k in hist:
                    hist[k].append(line[k])
                train_s.append(line["train_seconds"])
                val_s.append(line["val_seconds"])
            if verbose:
                print(f"resuming from {latest}: {done} epochs completed", flush=True)
    seq, steps = training_batches(recipe, x, y, batch_size, args.seed)
    for _ in range(done):  # the data stream of the epochs already done
        seq.on_epoch_end()
    start = time.perf_counter()
    for epoch in range(done, epochs):
        t0 = time.perf_counter()
        total = torch.zeros((), dtype=torch.float64)
        correct = torch.zeros((), dtype=torch.float64)
        seen = 0
        for i in range(steps):
            xb, yb = seq[i]
            loss_sum, n_correct = net.train_batch(xb, yb)
            total += loss_sum.double().cpu() if args.device != "cpu" else loss_sum.double()
            correct += n_correct.double().cpu() if args.device != "cpu" else n_correct.double()
            seen += len(xb)
        seq.on_epoch_end()
        if args.device != "cpu":
            torch.cuda.synchronize()
        t1 = time.perf_counter()
        val_loss, val_acc = net.evaluate(xv, yv, batch_size)
        t2 = time.perf_counter()
        train_s.append(t1 - t0)
        val_s.append(t2 - t1)
        hist["loss"].append(float(total) / seen)
        hist["accuracy"].append(float(correct) / seen)
        hist["val_loss"].append(val_loss)
        hist["val_accuracy"].append(val_acc)
        if val_loss < best:  # ModelCheckpoint(save_best_only=True, monitor='val_loss')
            best, best_state, best_epoch = val_loss, torch_recipes.state_copy(net), epoch + 1
        if state is not None:
            state.append({"epoch": epoch + 1, **{k: v[-1] for k, v in hist.items()},
                          "train_seconds": t1 - t0, "val_seconds": t2 - t1, "threads": threads,
                          "loadavg": harness._loadavg(),
                          "date": time.strftime("%Y-%m-%d %H:%M:%S"), "commit": commit})
            tmp = state.path("latest.torch.pt.tmp")
            torch.save({"module": net.module.state_dict(), "optimizer": net.optimizer.state_dict(),
                        "iterations": getattr(net.optimizer, "iterations", None),
                        "torch_rng": torch.get_rng_state(), "epoch": epoch + 1, "best": best,
                        "best_epoch": best_epoch, "best_state": best_state}, tmp)
            os.replace(tmp, state.path("latest.torch.pt"))
        if verbose:
            print(f"Epoch {epoch + 1}/{epochs}: {steps} steps - {t2 - t0:.1f}s - loss: "
                  f"{hist['loss'][-1]:.4f} - accuracy: {hist['accuracy'][-1]:.4f} - val_loss: "
                  f"{val_loss:.4f} - val_accuracy: {val_acc:.4f}", flush=True)
    total_s = time.perf_counter() - start if state is None else sum(train_s) + sum(val_s)
    if best_state is not None:
        net.module.load_state_dict(best_state)
    test_loss, test_acc = net.evaluate(xt, yt, max(batch_size, 128))
    return {"history": hist, "train_seconds": train_s, "val_seconds": val_s,
            "total_seconds": total_s, "test_loss": test_loss, "test_accuracy": test_acc,
            "best_epoch": best_epoch, "optimizer": net.optimizer_text, "params": net.params,
            "framework_version": torch.__version__}


def _version(pkg):
    try:
        return getattr(__import__(pkg), "__version__", "?")
    except Exception:
        return None


# ------------------------------------------------------------------ record

def record_stem(key, framework, seed, epochs, recipe_epochs, max_train, quick):
    stem = f"{key}-{framework}-seed{seed}"
    if epochs != recipe_epochs or quick:
        stem += f"-e{epochs}"
    if max_train is not None:
        stem += f"-n{max_train}"
    if quick:
        stem += "-quick"
    return stem


def _command(argv):
    return "python benchmarks/reproduce.py " + " ".join(shlex.quote(a) for a in argv)


def _subset(pair, n):
    return pair if n is None else (pair[0][:n], pair[1][:n])


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("model", help="zoo name: perceptron, xor_mlp, blobs_mlp, mnist_mlp, mnist_cnn, "
                                 "mnist_cnn_dropout, cifar10_cnn, cifar10_improved")
    p.add_argument("--epochs", type=int, default=None, help="default: the recipe's")
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    p.add_argument("--framework", choices=["cudnn_lite", "torch"], default="cudnn_lite")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data", default=None,
                   help="data folder (default: $CUDNN_LITE_DATA, else ../shared/datasets, "
                        "else the loaders' cache)")
    p.add_argument("--out", default=DEFAULT_OUT)
    p.add_argument("--max-train", type=int, default=None,
                   help="use only the first N training samples (validation and test stay whole)")
    p.add_argument("--threads", type=int, default=None, help="default: the usable CPUs")
    p.add_argument("--quick", action="store_true",
                   help=f"smoke run: 1 epoch, {QUICK_TRAIN} training and {QUICK_EVAL} "
                        "validation/test samples (not a measurement)")
    p.add_argument("--verbose", type=int, default=2, choices=[0, 1, 2])
    p.add_argument("--checkpoint-dir", default=None,
                   help="keep the run resumable in this folder (the model after every "
                        "epoch, the best weights, the history so far); rerunning the same command "
                        "continues where it stopped. Copy the folder to move the run.")
    args = p.parse_args(argv)

    harness.import_cudnn_lite()
    from cudnn_lite import zoo
    key = zoo.canonical(args.model)
    recipe = zoo.RECIPES[key]
    torch = None
    if args.framework == "torch":
        torch = harness.import_torch()
        if torch is None:
            raise SystemExit("--framework torch: PyTorch is not installed")
    threads = args.threads or harness.default_threads()
    threads_done = harness.pin_threads(threads, torch)
    machine = harness.machine_record(threads_done, torch)

    epochs = 1 if args.quick and args.epochs is None else (args.epochs or recipe.epochs)
    max_train = args.max_train if args.max_train is not None else (QUICK_TRAIN if args.quick else None)
    batch_size = recipe.batch_size
    data_dir = args.data if args.data is not None else default_data_dir()
    t_load = time.perf_counter()
    train, valid, test = zoo.load_dataset(key, data_dir)
    load_seconds = time.perf_counter() - t_load
    full_train = int(len(train[0]))
    train = _subset(train, max_train)
    if args.quick:
        valid, test = _subset(valid, QUICK_EVAL), _subset(test, QUICK_EVAL)
    sizes = {"train": int(len(train[0])), "validation": int(len(valid[0])),
             "test": int(len(test[0])), "max_train": max_train, "full_train": full_train}
    verbose = args.verbose
    if verbose:
        print(f"{key} [{args.framework}, {args.device}, seed {args.seed}]: {recipe.description}; "
              f"train {sizes['train']}, validation {sizes['validation']} ({recipe.validation}), "
              f"test {sizes['test']}; batch {batch_size}, epochs {epochs}", flush=True)
    data = (train, valid, test)
    if args.framework == "torch":
        res = run_torch(key, recipe, data, args, batch_size, epochs, verbose, torch, threads_done)
    else:
        res = run_cudnn_lite(key, recipe, data, args, batch_size, epochs, verbose, threads_done)

    epoch_s = [a + b for a, b in zip(res["train_seconds"], res["val_seconds"])]
    rec = {
        "model": key, "framework": args.framework,
        "framework_version": res["framework_version"],
        "test_accuracy": res["test_accuracy"], "test_loss": res["test_loss"],
        "best_epoch": res["best_epoch"], "epochs": len(epoch_s), "recipe_epochs": recipe.epochs,
        "full_recipe": len(epoch_s) == recipe.epochs and max_train is None and not args.quick,
        "batch_size": batch_size, "optimizer": res["optimizer"], "loss": recipe.loss,
        "params": res["params"], "seed": args.seed, "device": args.device,
        "quick": bool(args.quick), "data": sizes, "data_dir": data_dir,
        "load_seconds": load_seconds,
        "seconds_per_epoch": statistics.median(epoch_s),
        "seconds_per_epoch_mean": statistics.fmean(epoch_s),
        "epoch_seconds": epoch_s, "train_seconds": res["train_seconds"],
        "validation_seconds": res["val_seconds"], "total_seconds": res["total_seconds"],
        "final": {k: v[-1] for k, v in res["history"].items()},
        "history": res["history"],
        "command": _command(argv),
        "date": machine["date"], "commit": machine["git"]["commit"],
        "dirty_tree": machine["git"]["dirty"],
        "machine": {"hostname": machine["hostname"], "platform": machine["platform"],
                    "cpu": machine["cpu"], "loadavg_start": machine["loadavg_start"],
                    "loadavg_end": harness._loadavg(), "versions": machine["versions"],
                    "env": machine["env"], "torch_config": machine.get("torch_config"),
                    "cudnn_lite_build_info": machine.get("cudnn_lite_build_info")},
        "threads": threads_done,
    }
    os.makedirs(args.out, exist_ok=True)
    stem = record_stem(key, args.framework, args.seed, len(epoch_s), recipe.epochs, max_train,
                       args.quick)
    png = os.path.join(args.out, stem + ".png")
    try:
        from cudnn_lite.plotting import plot_history
        plot_history(res["history"], png, title=f"{key} ({args.framework}, seed {args.seed})")
        rec["plot"] = os.path.basename(png)
    except ImportError as exc:
        rec["plot"] = None
        print(f"note: no learning-curve PNG ({exc})")
    path = os.path.join(args.out, stem + ".json")
    harness.atomic_write(path, json.dumps(rec, indent=1, default=harness._json_default) + "\n")
    print(f"test accuracy: {rec['test_accuracy']:.4f}  test loss: {rec['test_loss']:.4f}  "
          f"(best epoch {rec['best_epoch']}); {rec['seconds_per_epoch']:.3f} s/epoch "
          f"(median of {len(epoch_s)})")
    print(f"record: {path}")
    return rec


if __name__ == "__main__":
    main()
