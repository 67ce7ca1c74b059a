"""Batch normalization: training forward (moving statistics updated in place), inference, backward."""
import numpy as np
import pytest

from helpers import Grad, assert_close, check_op, f32_rtol, randn, ref, to_device, to_host

SHAPES = [(1, 1), (3, 1), (7, 3), (3, 5, 5, 3), (1, 7, 9, 3), (64, 17), (2, 4, 4, 1)]


def _params(rng, c):
    return (randn(rng, c), randn(rng, c), randn(rng, c),
            rng.uniform(0.5, 2.0, c).astype(np.float32).astype(np.float64))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("momentum,epsilon", [(0.99, 1e-3), (0.9, 1e-5)])
def test_batchnorm_forward_train(device, shape, momentum, epsilon):
    seed = 1900 + sum(shape)
    rng = np.random.default_rng(seed)
    c = shape[-1]
    x = randn(rng, *shape) * 2 + 0.5
    gamma, beta, mm, mv = _params(rng, c)
    f32 = lambda a: to_device(a.astype(np.float32), device)  # noqa: E731
    moving_mean, moving_var = f32(mm), f32(mv)
    y, save_mean, save_invstd = ops.batchnorm_forward_train(f32(x), f32(gamma), f32(beta), moving_mean, moving_var,
                                                            momentum=momentum, epsilon=epsilon)
    want = ref.batchnorm_forward_train(x, gamma, beta, mm, mv, momentum=momentum, epsilon=epsilon)
    rows = int(np.prod(shape[:-1]))
    what = f"batchnorm_forward_train[{device}] shape={shape} seed={seed}"
    rtol = f32_rtol(rows) * 4  # the variance is a reduction of squares; invstd amplifies near-constant columns
    if rows == 1:  # variance 0: y = beta exactly, invstd = 1/sqrt(eps)
        rtol = 1e-4
    for name, got, w in [("y", y, want[0]), ("save_mean", save_mean, want[1]), ("save_invstd", save_invstd, want[2]),
                         ("moving_mean (in place)", moving_mean, want[3]),
                         ("moving_var (in place)", moving_var, want[4])]:
        assert_close(to_host(got), w, rtol, f"{what} {name}")


from helpers import ops  # noqa: E402


@pytest.mark.parametrize("shape", SHAPES)
def test_batchnorm_forward_inference(device, shape):
    seed = 2000 + sum(shape)
    rng = np.random.default_rng(seed)
    gamma, beta, mm, mv = _params(rng, shape[-1])
    check_op("batchnorm_forward_inference",
             dict(x=randn(rng, *shape), gamma=gamma, beta=beta, moving_mean=mm, moving_var=mv),
             device=device, seed=seed)


@pytest.mark.parametrize("shape", [s for s in SHAPES if int(np.prod(s[:-1])) > 1])
def test_batchnorm_backward(device, shape):
    seed = 2100 + sum(shape)
    rng = np.random.default_rng(seed)
    c = shape[-1]
    x = randn(rng, *shape) * 2 + 0.5
    gamma, beta, mm, mv = _params(rng, c)
    _, mean, invstd, _, _ = ref.batchnorm_forward_train(x, gamma, beta, mm, mv)
    mean = mean.astype(np.float32).astype(np.float64)
    invstd = invstd.astype(np.float32).astype(np.float64)
    dy = randn(rng, *shape)
    grad = Grad(lambda x, gamma: ref.batchnorm_forward_train(x, gamma, beta, mm, mv)[0], dict(x=x, gamma=gamma),
                dy, ["x", "gamma", None])
    rows = int(np.prod(shape[:-1]))
    got, want = check_op("batchnorm_backward", dict(x=x, dy=dy, gamma=gamma, save_mean=mean, save_invstd=invstd),
                         device=device, seed=seed, reduction=rows * 4)
    # finite differences against the reference evaluated at the exact statistics
    _, mean64, invstd64, _, _ = ref.batchnorm_forward_train(x, gamma, beta, mm, mv)
    from helpers import check_finite_differences
    check_finite_differences(grad, ref.batchnorm_backward(x, dy, gamma, mean64, invstd64),
                             f"batchnorm_backward shape={shape}", seed)
