"""optimizer_update: several steps of every rule equal the reference within float32 tolerance."""
import numpy as np
import pytest

from helpers import assert_close, ops, ref, to_device, to_host

# kind, hyper-parameters, which slots the rule uses
CASES = [
    ("sgd", dict(lr=0.1), ()),
    ("sgd", dict(lr=0.1, l2=0.01), ()),
    ("sgd", dict(lr=0.05, momentum=0.9), (1,)),
    ("sgd", dict(lr=0.05, momentum=0.9, nesterov=True), (1,)),
    ("sgd", dict(lr=0.05, momentum=0.5, nesterov=True, l2=0.02), (1,)),
    ("adagrad", dict(lr=0.1, epsilon=1e-7), (1,)),
    ("adagrad", dict(lr=0.01, l2=0.01), (1,)),
    ("rmsprop", dict(lr=0.01, rho=0.9), (1,)),
    ("rmsprop", dict(lr=0.01, rho=0.8, momentum=0.9), (1, 2)),
    ("rmsprop", dict(lr=0.001, rho=0.9, momentum=0.5, l2=0.01), (1, 2)),
    ("adadelta", dict(lr=1.0, rho=0.95, epsilon=1e-6), (1, 2)),
    ("adadelta", dict(lr=0.5, rho=0.9, l2=0.01), (1, 2)),
    ("adam", dict(lr=0.01), (1, 2)),
    ("adam", dict(lr=0.001, beta1=0.8, beta2=0.99, l2=0.01), (1, 2)),
    ("nadam", dict(lr=0.01), (1, 2)),
    ("nadam", dict(lr=0.002, beta1=0.85, beta2=0.995, l2=0.005), (1, 2)),
]
IDS = [f"{k}-" + "-".join(f"{a}{b}" for a, b in h.items()) for k, h, _ in CASES]


def _step_scalars(kind, hp, t):
    beta1, beta2 = hp.get("beta1", 0.9), hp.get("beta2", 0.999)
    if kind == "adam":
        return ref.adam_scalars(hp["lr"], beta1, beta2, t)
    if kind == "nadam":
        return ref.nadam_scalars(beta1, beta2, t)
    return {}


@pytest.mark.parametrize("case", CASES, ids=IDS)
@pytest.mark.parametrize("n", [1, 7, 1000])
def test_optimizer_steps(device, case, n):
    kind, hp, slots = case
    seed = 2200 + CASES.index(case) * 10 + n
    rng = np.random.default_rng(seed)
    p64 = rng.standard_normal(n).astype(np.float32).astype(np.float64)
    s64 = [np.zeros(n) if i in slots else None for i in (1, 2)]
    if kind in ("adagrad",):  # Keras's initial accumulator value
        s64[0] = np.full(n, 0.1)
    p = to_device(p64.astype(np.float32), device)
    s = [None if a is None else to_device(a.astype(np.float32), device) for a in s64]
    for t in range(1, 6):
        g64 = rng.standard_normal(n).astype(np.float32).astype(np.float64)
        scal = {k: float(np.float32(v)) for k, v in _step_scalars(kind, hp, t).items()}
        r = ops.optimizer_update(kind, p, to_device(g64.astype(np.float32), device), s[0], s[1], **hp, **scal)
        assert r is p
        p64, s64[0], s64[1] = ref.optimizer_update(kind, p64, g64, s64[0], s64[1], **hp, **scal)
        what = f"optimizer_update[{device}] {kind} {hp} n={n} step {t} seed={seed}"
        assert_close(to_host(p), p64, 2e-5, what + " param")
        for i in (0, 1):
            if s64[i] is not None:
                assert_close(to_host(s[i]), s64[i], 2e-5, what + f" slot{i + 1}")
