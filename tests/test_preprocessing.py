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
    with pytest.raises(NotImplementedError):
        ImageDataGenerator(zca_whitening=True)
