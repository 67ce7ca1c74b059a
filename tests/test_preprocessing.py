"""ImageDataGenerator: shapes, exact flips, shifts and rotations that keep the
content, featurewise normalisation, and the flow Sequence (length, reshuffle)."""
from __future__ import annotations

import numpy as np
import pytest

from cudnn_lite.preprocessing.image import ImageDataGenerator, NumpyArrayIterator


def images(n=6, h=8, w=10, c=3, seed=0):
    return np.random.default_rng(seed).random((n, h, w, c)).astype(np.float32)


def test_identity_generator_returns_inputs():
    x = images()
    y = np.arange(6)
    it = ImageDataGenerator().flow(x, y, batch_size=4, shuffle=False)
    xb, yb = it[0]
    assert xb.dtype == np.float32 and yb.dtype == np.float32
    np.testing.assert_array_equal(xb, x[:4])
    np.testing.assert_array_equal(yb, [0, 1, 2, 3])
    xb, yb = it[1]
    assert xb.shape == (2, 8, 10, 3)  # the last, partial batch
    with pytest.raises(IndexError):
        it[2]


def test_flips_are_exact():
    x = images(n=64)
    out = ImageDataGenerator(horizontal_flip=True).random_transform(x, seed=1)
    flipped = np.array([np.array_equal(o, xi[:, ::-1]) for o, xi in zip(out, x)])
    same = np.array([np.array_equal(o, xi) for o, xi in zip(out, x)])
    assert np.all(flipped ^ same) and 10 < flipped.sum() < 54
    out = ImageDataGenerator(vertical_flip=True).random_transform(x, seed=2)
    flipped = np.array([np.array_equal(o, xi[::-1]) for o, xi in zip(out, x)])
    same = np.array([np.array_equal(o, xi) for o, xi in zip(out, x)])
    assert np.all(flipped ^ same) and 10 < flipped.sum() < 54
    single = ImageDataGenerator(horizontal_flip=True).random_transform(x[0], seed=3)
    assert single.shape == x[0].shape


def test_integer_shift_moves_pixels_exactly():
    x = images(n=1, h=12, w=12, c=2)
    gen = ImageDataGenerator(width_shift_range=[3], height_shift_range=[-2], fill_mode="constant",
                             cval=-1.0)
    out = gen.random_transform(x[0], seed=0)
    # Keras's convention: out[i, j] = in[i + tx, j + ty] with tx = -2 (rows), ty = 3 (cols)
    np.testing.assert_allclose(out[2:, :9], x[0, :10, 3:], atol=1e-6)
    assert np.all(out[:2] == -1.0) and np.all(out[:, 9:] == -1.0)


def test_shift_and_rotation_preserve_content_statistics():
    rng = np.random.default_rng(0)
    # a smooth image (a blob in the middle) on a constant background
    h = w = 32
    rr, cc = np.mgrid[0:h, 0:w]
    blob = np.exp(-((rr - 15.5) ** 2 + (cc - 15.5) ** 2) / 30.0)
    x = np.repeat(blob[None, :, :, None], 16, axis=0).astype(np.float32)
    x += 0.001 * rng.random(x.shape).astype(np.float32)
    gen = ImageDataGenerator(rotation_range=30, width_shift_range=0.1, height_shift_range=0.1)
    out = gen.random_transform(x, seed=4)
    assert out.shape == x.shape and out.dtype == np.float32
    assert not np.allclose(out, x)  # something moved
    # the blob's mass stays (it is away from the edges), values stay in range
    np.testing.assert_allclose(out.sum(axis=(1, 2, 3)), x.sum(axis=(1, 2, 3)), rtol=0.03)
    assert out.min() >= x.min() - 1e-6 and out.max() <= x.max() + 1e-6
    # pure rotation by any angle keeps the centred blob's mass too
    out = ImageDataGenerator(rotation_range=180).random_transform(x, seed=5)
    np.testing.assert_allclose(out.sum(axis=(1, 2, 3)), x.sum(axis=(1, 2, 3)), rtol=0.03)


def test_rotation_by_90_degrees_is_exact_for_square_images():
    from cudnn_lite.preprocessing.image import _transform_matrix, apply_affine_transform_batch
    x = images(n=1, h=6, w=6, c=1)
    m = _transform_matrix(90.0, 0, 0, 0, 1, 1, 6, 6)[None]
    out = apply_affine_transform_batch(x, m)
    # out[i, j] = in[c + R (o - c)], R = [[0, -1], [1, 0]]: out[i, j] = in[5 - j, i]
    np.testing.assert_allclose(out[0, :, :, 0], np.rot90(x[0, :, :, 0], k=-1), atol=1e-5)


def test_fill_modes():
    x = images(n=1, h=5, w=5, c=1)
    for mode in ("nearest", "reflect", "wrap", "constant"):
        gen = ImageDataGenerator(width_shift_range=[2], fill_mode=mode)
        out = gen.random_transform(x[0], seed=0)
        assert np.all(np.isfinite(out))
    out = ImageDataGenerator(width_shift_range=[2], fill_mode="nearest").random_transform(x[0])
    np.testing.assert_allclose(out[:, 3:, 0], np.repeat(x[0, :, 4:5, 0], 2, axis=1), atol=1e-6)
    with pytest.raises(ValueError, match="fill_mode"):
        ImageDataGenerator(fill_mode="mirror")


def test_featurewise_normalisation():
    x = (np.random.default_rng(0).random((50, 4, 4, 3)) * [1, 10, 100] + [0, 5, -3]).astype(np.float32)
    gen = ImageDataGenerator(featurewise_center=True, featurewise_std_normalization=True)
    with pytest.raises(ValueError, match="fit"):
        gen.standardize(x)
    gen.fit(x)
    assert gen.mean.shape == (1, 1, 3) and gen.std.shape == (1, 1, 3)
    out = gen.standardize(x)
    np.testing.assert_allclose(out.mean(axis=(0, 1, 2)), 0, atol=1e-4)
    np.testing.assert_allclose(out.std(axis=(0, 1, 2)), 1, atol=1e-3)
    xb = next(iter(gen.flow(x, batch_size=50, shuffle=False)))
    np.testing.assert_allclose(xb, out, rtol=1e-6)  # y=None: batches are x only


def test_rescale_and_samplewise():
    x = np.full((2, 3, 3, 1), 255, np.uint8)
    out = ImageDataGenerator(rescale=1 / 255).standardize(x)
    np.testing.assert_allclose(out, 1.0)
    out = ImageDataGenerator(samplewise_center=True).standardize(images(2))
    np.testing.assert_allclose(out.mean(axis=(1, 2, 3)), 0, atol=1e-6)


def test_flow_length_reshuffle_and_endless_iteration():
    x = np.arange(10, dtype=np.float32).reshape(10, 1, 1, 1)
    y = np.arange(10)
    it = ImageDataGenerator().flow(x, y, batch_size=3, seed=0)
    assert isinstance(it, NumpyArrayIterator) and len(it) == 4
    epoch1 = np.concatenate([it[i][1] for i in range(len(it))])
    assert sorted(epoch1.tolist()) == list(range(10))  # each sample once
    it.on_epoch_end()
    epoch2 = np.concatenate([it[i][1] for i in range(len(it))])
    assert sorted(epoch2.tolist()) == list(range(10))
    assert epoch1.tolist() != epoch2.tolist()  # reshuffled
    # x and y stay paired
    xb, yb = it[0]
    np.testing.assert_array_equal(xb[:, 0, 0, 0], yb)
    # next() cycles through epochs forever
    it2 = ImageDataGenerator().flow(x, y, batch_size=4, shuffle=False)
    sizes = [len(next(it2)[1]) for _ in range(7)]
    assert sizes == [4, 4, 2, 4, 4, 2, 4]
    # same seed, same batches
    a = ImageDataGenerator(rotation_range=20).flow(images(8), batch_size=4, seed=7)
    b = ImageDataGenerator(rotation_range=20).flow(images(8), batch_size=4, seed=7)
    np.testing.assert_array_equal(a[0], b[0])


def test_flow_validation():
    gen = ImageDataGenerator()
    with pytest.raises(ValueError, match="different lengths"):
        gen.flow(images(4), np.arange(3))
    with pytest.raises(ValueError, match=r"\(n, h, w, c\)"):
        gen.flow(np.zeros((4, 5, 5)))
    with pytest.raises(ValueError, match="batch_size"):
        gen.flow(images(4), batch_size=0)
    with pytest.raises(NotImplementedError, match="brightness_range"):
        ImageDataGenerator(brightness_range=(0.5, 1.5))


# ------------------------------------------------- device-generic augmentation

AUG = dict(rotation_range=15, width_shift_range=0.1, height_shift_range=0.1, horizontal_flip=True)


def _host(a):
    return a.get() if hasattr(a, "get") and not isinstance(a, np.ndarray) else np.asarray(a)


def test_batches_do_not_depend_on_the_order_they_are_asked_for():
    x, y = images(n=10, h=9, w=7), np.arange(10)
    a = ImageDataGenerator(**AUG, channel_shift_range=0.2).flow(x, y, batch_size=4, seed=3)
    b = ImageDataGenerator(**AUG, channel_shift_range=0.2).flow(x, y, batch_size=4, seed=3)
    first = [a[i] for i in range(3)]
    second = {i: b[i] for i in (2, 0, 1, 0)}
    for i in range(3):
        np.testing.assert_array_equal(first[i][0], second[i][0])
        np.testing.assert_array_equal(first[i][1], second[i][1])
    a.on_epoch_end()
    b.on_epoch_end()
    np.testing.assert_array_equal(a[1][0], b[1][0])
    assert not np.array_equal(a[1][0], first[1][0])  # a new epoch: new order and transforms


def test_new_transforms_every_epoch_without_shuffle():
    x = images(n=4)
    it = ImageDataGenerator(rotation_range=30).flow(x, batch_size=4, shuffle=False, seed=0)
    e1 = it[0]
    it.on_epoch_end()
    assert not np.allclose(e1, it[0])


def test_apply_affine_transform_batch_matches_the_reference():
    from cudnn_lite import reference as ref
    from cudnn_lite.preprocessing.image import _transform_matrices, apply_affine_transform_batch
    rng = np.random.default_rng(1)
    x = rng.standard_normal((5, 9, 7, 2)).astype(np.float32)
    m = _transform_matrices(rng.uniform(-90, 90, 5), rng.uniform(-3, 3, 5), rng.uniform(-3, 3, 5),
                            rng.uniform(-20, 20, 5), rng.uniform(0.7, 1.3, 5), rng.uniform(0.7, 1.3, 5),
                            9, 7)
    for mode in ("nearest", "constant", "reflect", "wrap"):
        got = apply_affine_transform_batch(x, m, mode, cval=0.25)
        want = ref.affine_transform(x.astype(np.float64), m[:, :2].reshape(5, 6).astype(np.float32)
                                    .astype(np.float64), mode, 0.25)
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * np.abs(want).max(), err_msg=mode)
    with pytest.raises(ValueError, match="matrices"):
        apply_affine_transform_batch(x, m[:4])


def test_channel_shift_stays_within_each_images_range():
    x = images(n=32)
    out = ImageDataGenerator(channel_shift_range=0.5).random_transform(x, seed=0)
    lo, hi = x.min(axis=(1, 2, 3)), x.max(axis=(1, 2, 3))
    assert (out.min(axis=(1, 2, 3)) >= lo).all() and (out.max(axis=(1, 2, 3)) <= hi).all()
    shifted = (out - x).reshape(32, -1)
    assert np.ptp(np.median(shifted, axis=1)) > 0.1  # different images, different shifts


def test_host_and_device_flows_give_the_same_batches(cp):
    rng = np.random.default_rng(0)
    x = (rng.random((20, 12, 10, 3)) * 255).astype(np.uint8)
    y = np.eye(5, dtype=np.float32)[rng.integers(0, 5, 20)]
    kw = dict(AUG, featurewise_center=True, featurewise_std_normalization=True,
              channel_shift_range=10.0, zoom_range=0.2, shear_range=10)
    host, dev = ImageDataGenerator(**kw), ImageDataGenerator(**kw)
    host.fit(x)
    dev.fit(cp.asarray(x))
    np.testing.assert_allclose(dev.mean, host.mean, rtol=1e-5)
    np.testing.assert_allclose(dev.std, host.std, rtol=1e-5)
    a = host.flow(x, y, batch_size=8, seed=4)
    b = dev.flow(cp.asarray(x), cp.asarray(y), batch_size=8, seed=4)
    for epoch in range(2):
        for i in (2, 0, 1):
            (xa, ya), (xb, yb) = a[i], b[i]
            assert isinstance(xb, cp.ndarray) and isinstance(yb, cp.ndarray)
            assert xb.dtype == np.float32 and yb.dtype == np.float32
            np.testing.assert_allclose(_host(xb), xa, rtol=1e-4, atol=1e-4)
            np.testing.assert_array_equal(_host(yb), ya)
        a.on_epoch_end()
        b.on_epoch_end()


def test_fit_on_a_device_flow_keeps_batches_on_the_device(cp, monkeypatch):
    from cudnn_lite import backend, models
    from cudnn_lite.layers import Conv2D, Dense, Flatten
    from cudnn_lite.models import data
    monkeypatch.setattr(backend, "_device", "cuda")
    rng = np.random.default_rng(0)
    x = cp.asarray(rng.random((16, 8, 8, 3)).astype(np.float32))
    y = cp.asarray(np.eye(3, dtype=np.float32)[rng.integers(0, 3, 16)])
    model = models.Sequential([Conv2D(4, 3, input_shape=(8, 8, 3)), Flatten(), Dense(3, activation="softmax")])
    model.compile(optimizer="sgd", loss="categorical_crossentropy")

    seen = []
    host_float32 = data.host_float32
    monkeypatch.setattr(data, "host_float32", lambda a, name: seen.append(name) or host_float32(a, name))
    flow = ImageDataGenerator(**AUG).flow(x, y, batch_size=8, seed=0)
    history = model.fit(flow, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    assert "x batch" not in seen, "device batches for a GPU model must not take the host path"
