"""sgemm, dense_forward, dense_backward, bias_backward against the reference."""
import numpy as np
import pytest

from helpers import Grad, assert_close, check_op, f32_rtol, ops, randn, ref, to_device, to_host


@pytest.mark.parametrize("trans_a", [False, True])
@pytest.mark.parametrize("trans_b", [False, True])
@pytest.mark.parametrize("m,n,k", [(7, 5, 3), (1, 9, 13), (33, 17, 65), (5, 1, 1)])
@pytest.mark.parametrize("beta", [0.0, 0.5])
def test_sgemm(device, trans_a, trans_b, m, n, k, beta):
    seed = 100 + m + 7 * n + 11 * k + 2 * trans_a + trans_b
    rng = np.random.default_rng(seed)
    a = randn(rng, *((k, m) if trans_a else (m, k)))
    b = randn(rng, *((n, k) if trans_b else (k, n)))
    c = randn(rng, m, n) if beta else np.full((m, n), np.nan)  # beta 0: out must not be read
    alpha = 1.5
    out = to_device(c.astype(np.float32), device)
    r = ops.sgemm(to_device(a.astype(np.float32), device), to_device(b.astype(np.float32), device),
                  trans_a=trans_a, trans_b=trans_b, alpha=alpha, beta=beta, out=out)
    assert r is out
    want = ref.sgemm(a, b, trans_a, trans_b, alpha, beta, c)
    assert_close(to_host(r), want, f32_rtol(k), f"sgemm[{device}] ta={trans_a} tb={trans_b} m,n,k={m},{n},{k} "
                 f"beta={beta} seed={seed}")


def test_sgemm_without_out(device):
    rng = np.random.default_rng(150)
    a, b = randn(rng, 6, 4), randn(rng, 4, 3)
    got = to_host(ops.sgemm(to_device(a.astype(np.float32), device), to_device(b.astype(np.float32), device)))
    assert got.dtype == np.float32
    assert_close(got, a @ b, f32_rtol(4), "sgemm default")


@pytest.mark.parametrize("activation", ["linear", "relu", "sigmoid", "tanh", "leaky_relu", "step"])
@pytest.mark.parametrize("rows,fin,fout", [(1, 3, 5), (3, 17, 9), (5, 64, 33)])
@pytest.mark.parametrize("bias", [True, False])
def test_dense_forward(device, activation, rows, fin, fout, bias):
    seed = 200 + rows + fin + fout + bias
    rng = np.random.default_rng(seed)
    inputs = dict(x=randn(rng, rows, fin), w=randn(rng, fin, fout), b=randn(rng, fout) if bias else None)
    if activation == "step":  # keep pre-activations away from the threshold 0
        inputs["w"][:] = np.abs(inputs["w"])
        inputs["x"][:] = np.abs(inputs["x"]) * np.where(np.arange(fin) % 2, 1, -1) + 0.1
        inputs["b"] = None
    check_op("dense_forward", inputs, dict(activation=activation, alpha=0.2), device=device, seed=seed,
             reduction=fin)


@pytest.mark.parametrize("rows,fin,fout", [(1, 3, 5), (3, 7, 4), (4, 40, 9)])
def test_dense_backward(device, rows, fin, fout):
    seed = 300 + rows + fin + fout
    rng = np.random.default_rng(seed)
    x, w, b, dy = randn(rng, rows, fin), randn(rng, fin, fout), randn(rng, fout), randn(rng, rows, fout)
    grad = Grad(lambda x, w, b: ref.dense_forward(x, w, b), dict(x=x, w=w, b=b), dy, ["x", "w", "b"])
    check_op("dense_backward", dict(x=x, w=w, dy=dy), device=device, seed=seed, reduction=max(rows, fout),
             grad_of=grad)
    got = ops.dense_backward(*(to_device(v.astype(np.float32), device) for v in (x, w, dy)),
                             with_bias=False, need_dx=False)
    assert got[0] is None and got[2] is None
    assert_close(to_host(got[1]), x.T @ dy, f32_rtol(rows), "dense_backward dw only")


@pytest.mark.parametrize("shape", [(1, 1), (3, 5), (97, 3), (2, 3, 4, 5)])
def test_bias_backward(device, shape):
    seed = 400 + sum(shape)
    rng = np.random.default_rng(seed)
    check_op("bias_backward", dict(dy=randn(rng, *shape)), device=device, seed=seed,
             reduction=int(np.prod(shape[:-1])))


# Narrow products: n <= 16 columns (the Dense(10) forward and kernel gradient take the
# small-n path) and k <= 17 (the input gradient of a Dense(10): dy @ w^T), odd m, every
# transposition, alpha and beta.
@pytest.mark.parametrize("trans_a", [False, True])
@pytest.mark.parametrize("trans_b", [False, True])
@pytest.mark.parametrize("m", [1, 15, 17, 33, 131])
@pytest.mark.parametrize("n,k", [(1, 1), (2, 17), (3, 64), (9, 5), (10, 512), (10, 10), (15, 2), (16, 33),
                                 (17, 9), (40, 10), (600, 3), (257, 16)])
@pytest.mark.parametrize("beta", [0.0, 0.5])
def test_sgemm_narrow(device, trans_a, trans_b, m, n, k, beta):
    seed = 500 + m + 7 * n + 11 * k + 2 * trans_a + trans_b
    rng = np.random.default_rng(seed)
    a = randn(rng, *((k, m) if trans_a else (m, k)))
    b = randn(rng, *((n, k) if trans_b else (k, n)))
    c = randn(rng, m, n) if beta else np.full((m, n), np.nan)
    alpha = 0.75
    a_dev, b_dev = to_device(a.astype(np.float32), device), to_device(b.astype(np.float32), device)
    out = to_device(c.astype(np.float32), device)
    r = ops.sgemm(a_dev, b_dev, trans_a=trans_a, trans_b=trans_b, alpha=alpha, beta=beta, out=out)
    want = ref.sgemm(a, b, trans_a, trans_b, alpha, beta, c)
    assert_close(to_host(r), want, f32_rtol(k), f"sgemm narrow[{device}] ta={trans_a} tb={trans_b} "
                 f"m,n,k={m},{n},{k} beta={beta} seed={seed}")


@pytest.mark.parametrize("activation", ["linear", "relu", "sigmoid", "tanh", "leaky_relu"])
@pytest.mark.parametrize("rows,fin,fout", [(1, 1, 1), (7, 5, 10), (33, 512, 10), (131, 64, 10), (17, 9, 16),
                                           (45, 17, 3), (19, 2, 17)])
@pytest.mark.parametrize("bias", [True, False])
def test_dense_forward_narrow(device, activation, rows, fin, fout, bias):
    seed = 600 + rows + fin + fout + bias
    rng = np.random.default_rng(seed)
    inputs = dict(x=randn(rng, rows, fin), w=randn(rng, fin, fout), b=randn(rng, fout) if bias else None)
    check_op("dense_forward", inputs, dict(activation=activation, alpha=0.2), device=device, seed=seed,
             reduction=fin)


@pytest.mark.parametrize("rows,fin,fout", [(33, 512, 10), (1, 64, 10), (131, 17, 3), (15, 40, 16), (5, 3, 17)])
def test_dense_backward_narrow(device, rows, fin, fout):
    seed = 700 + rows + fin + fout
    rng = np.random.default_rng(seed)
    x, w, dy = randn(rng, rows, fin), randn(rng, fin, fout), randn(rng, rows, fout)
    got = ops.dense_backward(*(to_device(v.astype(np.float32), device) for v in (x, w, dy)))
    assert_close(to_host(got[0]), dy @ w.T, f32_rtol(fout), "dense_backward narrow dx")
    assert_close(to_host(got[1]), x.T @ dy, f32_rtol(rows), "dense_backward narrow dw")
    assert_close(to_host(got[2]), dy.sum(axis=0), f32_rtol(rows), "dense_backward narrow db")


def test_sgemm_narrow_same_bits_any_thread_count():
    import cudnn_lite
    rng = np.random.default_rng(800)
    x, dy = randn(rng, 1000, 512).astype(np.float32), randn(rng, 1000, 10).astype(np.float32)
    w = randn(rng, 512, 10).astype(np.float32)
    threads = cudnn_lite.get_num_threads()
    try:
        got = []
        for t in (1, 2, 3):
            cudnn_lite.set_num_threads(t)
            got.append((ops.sgemm(x, w), ops.sgemm(x, dy, trans_a=True), ops.sgemm(dy, w, trans_b=True)))
    finally:
        cudnn_lite.set_num_threads(threads)
    for g in got[1:]:
        assert all(np.array_equal(u, v) for u, v in zip(got[0], g))
