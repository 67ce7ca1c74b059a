"""FLOPs and minimum bytes moved per layer and per network, from a built model's layer shapes.

    from flop_count import layer_costs, network_flops_per_image
    costs = layer_costs(model, batch=128)   # one dict per layer, plus the optimizer
    python benchmarks/flop_count.py         # MFLOP per image of the textbook networks

FLOPs (issue 14's count, multiply-adds of the conv and dense layers only):
- forward: 2 x MACs;
- backward: 2 x MACs for the weight gradient, plus 2 x MACs for the input gradient
  of every layer but the first with weights (the network's input needs no gradient).
Bias adds, fused activations, pooling, batch norm, softmax and the loss are not counted
as FLOPs: they are memory-bound, and are measured in bytes instead.

Bytes (float32, per batch) for the memory-bound layers, counted as the least traffic
one pass over each tensor needs (reads + writes, caches assumed cold):
- MaxPooling2D / AveragePooling2D / GlobalAveragePooling2D: forward x, y; backward
  x (max-pool re-reads it to find the maximum), dy, dx (average: dy, dx);
- Activation: forward x, y; backward y, dy, dx;
- BatchNormalization (training): forward x twice (statistics, then normalize), y;
  backward x and dy twice (sums, then dx), dx;
- Dropout: forward x, y; backward dy, dx (the mask is regenerated, not stored);
- Flatten: nothing (a view);
- the optimizer: per parameter, read weight, gradient and each slot, write weight and
  each slot (Adam 7 floats, RMSprop 5, SGD 3).
"""
from __future__ import annotations

import math
import os
import sys

F32 = 4
SLOTS = {"SGD": 0, "RMSprop": 1, "Adagrad": 1, "Adadelta": 2, "Adam": 2, "Nadam": 2}


def _size(shape) -> int:
    return math.prod(int(s) for s in shape if s is not None)


def _kernel_shape(layer):
    for w in getattr(layer, "weights", []):
        if len(getattr(w, "shape", ())) >= 2:
            return tuple(int(s) for s in w.shape)
    return None


def macs_per_image(layer) -> int:
    """Multiply-adds of one image through a Conv2D or Dense layer (0 for any other layer)."""
    kind = type(layer).__name__
    k = _kernel_shape(layer)
    if kind == "Conv2D" and k is not None:
        kh, kw, cin, cout = k
        _, oh, ow, _ = layer.output_shape
        return oh * ow * cout * kh * kw * cin
    if kind == "Dense" and k is not None:
        fin, fout = k
        rows = _size(layer.input_shape[1:-1]) if len(layer.input_shape) > 2 else 1
        return rows * fin * fout
    return 0


def _memory_bytes(layer, batch):
    """(forward bytes, backward bytes) per batch of a memory-bound layer, or None."""
    kind = type(layer).__name__
    x = _size(layer.input_shape[1:]) * batch * F32
    y = _size(layer.output_shape[1:]) * batch * F32
    if kind == "MaxPooling2D":
        return x + y, x + y + x
    if kind in ("AveragePooling2D", "GlobalAveragePooling2D"):
        return x + y, y + x
    if kind in ("Activation", "LeakyReLU"):
        return x + y, y + y + x
    if kind == "BatchNormalization":
        return 2 * x + y, 4 * x + x
    if kind == "Dropout":
        return x + y, y + x
    return None


def layer_costs(model, batch: int):
    """One dict per layer: index, name, kind ('compute', 'memory', 'free'), flops and bytes
    forward / backward per batch; then one for the optimizer (bytes only)."""
    rows, first = [], True
    for i, layer in enumerate(model.layers):
        name = f"{i} {type(layer).__name__}"
        macs = macs_per_image(layer) * batch
        if macs:
            bwd = 2 * macs + (0 if first else 2 * macs)
            rows.append({"index": i, "layer": name, "kind": "compute", "fwd_flops": 2 * macs,
                         "bwd_flops": bwd, "fwd_bytes": 0, "bwd_bytes": 0})
            first = False
            continue
        mem = _memory_bytes(layer, batch)
        rows.append({"index": i, "layer": name, "kind": "memory" if mem else "free",
                     "fwd_flops": 0, "bwd_flops": 0,
                     "fwd_bytes": mem[0] if mem else 0, "bwd_bytes": mem[1] if mem else 0})
    opt = getattr(model, "optimizer", None)
    if opt is not None:
        slots = SLOTS.get(type(opt).__name__, getattr(opt, "n_slots", 0))
        params = sum(_size(w.shape) for layer in model.layers
                     for w in getattr(layer, "trainable_weights", []))
        rows.append({"index": None, "layer": "optimizer", "kind": "memory", "fwd_flops": 0,
                     "bwd_flops": 0, "fwd_bytes": 0, "bwd_bytes": (3 + 2 * slots) * params * F32,
                     "optimizer": type(opt).__name__, "params": params})
    return rows


def network_flops_per_image(model) -> int:
    """Training FLOPs of one image: the sum of the compute layers' forward and backward."""
    return sum(r["fwd_flops"] + r["bwd_flops"] for r in layer_costs(model, 1))


def main() -> int:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from cudnn_lite import zoo
    for name in ("mnist_mlp", "mnist_cnn", "cifar10_cnn", "cifar10_improved"):
        model = zoo.build(name, seed=0)
        print(f"{name:18s} {network_flops_per_image(model) / 1e6:8.2f} MFLOP per training image")
    return 0


if __name__ == "__main__":
    sys.exit(main())
