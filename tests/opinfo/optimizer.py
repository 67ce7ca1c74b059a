"""optimizer_update: several steps of every rule equal the reference within float32 tolerance."""
import numpy as np

from helpers import assert_close, ops, randn, ref, to_device, to_host

from .gpu import Out, compare, dev, f32, gpu_twice
from .core import Bad, BadInputs, OpInfo, Sample, f

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
KINDS = ["sgd", "adagrad", "rmsprop", "adadelta", "adam", "nadam"]


def case_id(kind, hp):
    return f"{kind}-" + "-".join(f"{a}{b}" for a, b in hp.items())


def _step_scalars(kind, hp, t):
    beta1, beta2 = hp.get("beta1", 0.9), hp.get("beta2", 0.999)
    if kind == "adam":
        return ref.adam_scalars(hp["lr"], beta1, beta2, t)
    if kind == "nadam":
        return ref.nadam_scalars(beta1, beta2, t)
    return {}


def _steps_check(case, n):
    """Five steps in place (the op returns param itself); param and slots after every step."""
    def check(device):
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
    return check


def _bench(rng, shapes, kind="adam"):
    """One step over a network's weights: a list of keyword-argument dicts, one per weight."""
    calls = []
    for shape in shapes:
        n = int(np.prod(shape))
        calls.append(dict(kind=kind, param=rng.standard_normal(n).astype(np.float32),
                          grad=rng.standard_normal(n).astype(np.float32), slot1=np.zeros(n, np.float32),
                          slot2=np.zeros(n, np.float32), lr=1e-3, **ref.adam_scalars(1e-3, 0.9, 0.999, 1)))
    return calls

# ------------------------------------------------ CUDA paths (tests/test_cuda_paths.py)

CUDA_OPTIMIZERS = [
    ("sgd", dict(momentum=0.0)), ("sgd", dict(momentum=0.9, nesterov=True)), ("adagrad", {}),
    ("rmsprop", dict(rho=0.9)), ("rmsprop", dict(rho=0.9, momentum=0.5)), ("adadelta", dict(rho=0.95)),
    ("adam", dict(c1=0.0031)), ("nadam", dict(c1=0.9, c2=0.05, c3=1.001)),
]


def cuda_optimizer_case(cp, kind, hyper, n, seed):
    rng = np.random.default_rng(seed)
    p, g = randn(rng, n), randn(rng, n)
    s1, s2 = np.abs(randn(rng, n)), np.abs(randn(rng, n))
    kw = dict(lr=0.01, l2=1e-4, **hyper)
    what = f"optimizer {kind} {hyper} n{n}"
    gg = dev(cp, g, 1)

    def run():
        gp, g1, g2 = Out(cp, (n,), 1, init=p), Out(cp, (n,), 2, init=s1), Out(cp, (n,), 3, init=s2)
        ops.optimizer_update(kind, gp.view, gg, g1.view, g2.view, **kw)
        return gp.host(what), g1.host(what), g2.host(what)

    got = gpu_twice(run, what)
    cpu = [f32(p.copy()), f32(s1.copy()), f32(s2.copy())]
    ops.optimizer_update(kind, cpu[0], f32(g), cpu[1], cpu[2], **kw)
    want = ref.optimizer_update(kind, p, g, s1, s2, **kw)
    for name, a, c, w in zip(("param", "slot1", "slot2"), got, cpu, want):
        compare(a, c, w if w is not None else s2 if name == "slot2" else s1, 1e-5, f"{what} {name}")


OPS = [
    OpInfo("optimizer_update", "optimizer",
           lambda: [Sample(f"{case_id(k, h)}-n{n}", check=_steps_check((k, h, s), n))
                    for n in [1, 7, 1000] for k, h, s in CASES],
           valid=lambda: dict(kind="adam", param=f(5), grad=f(5), slot1=f(5), slot2=f(5), lr=0.1, c1=0.1),
           bad=BadInputs(("param", "grad", "slot1", "slot2"), shape=dict(grad=f(6), slot1=f(4), slot2=f(6)),
                         has_out=False, writes=("param", "slot1", "slot2"),
                         empty=lambda: dict(kind="adam", param=f(0), grad=f(0), slot1=f(0), slot2=f(0), lr=0.1, c1=0.1),
                         variants=[Bad("unknown-kind", lambda: dict(kind="lion", param=np.zeros(3, np.float32),
                                                                    grad=np.zeros(3, np.float32), lr=0.1), "kind")]),
           # the leak check: every rule, slots kept, tiny steps
           variants=[dict(kind=k, lr=1e-6, momentum=0.9, c1=1e-6, c2=1e-6, c3=1.0) for k in KINDS],
           bench=_bench),
]
