"""Keras's ``ImageDataGenerator`` for channels-last (NHWC) images, in NumPy.

Augmentation is vectorised over the batch: each image gets its own random
affine transform (rotation, shift, shear, zoom about the image centre, as
Keras composes them), applied by computing every output pixel's source
coordinate and sampling the input bilinearly (Keras's default
``interpolation_order=1``); ``fill_mode`` says what lies outside the image
('nearest': the edge pixel, 'constant': ``cval``, 'reflect', 'wrap').
Flips are exact. No SciPy needed.

``flow(x, y)`` returns a :class:`NumpyArrayIterator`, a Keras ``Sequence``:
``len()`` batches per epoch, ``it[i]`` is batch i, ``on_epoch_end()``
reshuffles, and ``next(it)`` cycles forever (for ``fit``/``fit_generator``).
"""
from __future__ import annotations

import math
import numbers

import numpy as np

__all__ = ["ImageDataGenerator", "NumpyArrayIterator", "apply_affine_transform_batch"]

_FILL_MODES = ("nearest", "constant", "reflect", "wrap")


def _range_pair(value, name):
    if isinstance(value, numbers.Real):
        return (1 - value, 1 + value)
    if len(value) == 2:
        return (float(value[0]), float(value[1]))
    raise ValueError(f"{name}: expected a float or a pair [lower, upper], got {value!r}")


def _fill_index(idx, size, mode):
    """Map integer source indices into [0, size) by the fill mode; also an 'inside' mask."""
    inside = (idx >= 0) & (idx < size)
    if mode == "nearest":
        return np.clip(idx, 0, size - 1), None
    if mode == "wrap":
        return np.mod(idx, size), None
    if mode == "reflect":  # half-sample symmetric: d c b a | a b c d | d c b a
        period = 2 * size
        m = np.mod(idx, period)
        return np.where(m < size, m, period - 1 - m), None
    return np.clip(idx, 0, size - 1), inside  # constant: sample then mask with cval


def apply_affine_transform_batch(x, matrices, fill_mode="nearest", cval=0.0):
    """Resample each image of ``x`` (n, h, w, c) through its 3x3 ``matrices[i]``.

    ``matrices`` (n, 3, 3) map output (row, col, 1) to input coordinates, as
    in ``scipy.ndimage.affine_transform``; sampling is bilinear.
    """
    n, h, w, c = x.shape
    rows, cols = np.meshgrid(np.arange(h, dtype=np.float64), np.arange(w, dtype=np.float64),
                             indexing="ij")
    grid = np.stack([rows.ravel(), cols.ravel(), np.ones(h * w)])          # (3, h*w)
    src = np.einsum("nij,jk->nik", matrices[:, :2, :], grid)                # (n, 2, h*w)
    src_r, src_c = src[:, 0], src[:, 1]
    r0, c0 = np.floor(src_r), np.floor(src_c)
    fr, fc = (src_r - r0)[..., None], (src_c - c0)[..., None]
    r0, c0 = r0.astype(np.int64), c0.astype(np.int64)
    b = np.repeat(np.arange(n), h * w).reshape(n, h * w)
    out = np.zeros((n, h * w, c), dtype=np.float64)
    for dr, wr in ((0, 1 - fr), (1, fr)):
        ri, rin = _fill_index(r0 + dr, h, fill_mode)
        for dc, wc in ((0, 1 - fc), (1, fc)):
            ci, cin = _fill_index(c0 + dc, w, fill_mode)
            v = x[b, ri, ci].astype(np.float64)                            # (n, h*w, c)
            if rin is not None:
                v = np.where((rin & cin)[..., None], v, cval)
            out += wr * wc * v
    return out.reshape(n, h, w, c).astype(x.dtype if x.dtype.kind == "f" else np.float32)


def _transform_matrix(theta, tx, ty, shear, zx, zy, h, w):
    """Keras's composition: rotation . shift . shear . zoom, about the image centre."""
    m = np.eye(3)
    if theta != 0:
        t = np.deg2rad(theta)
        m = m @ np.array([[np.cos(t), -np.sin(t), 0], [np.sin(t), np.cos(t), 0], [0, 0, 1]])
    if tx != 0 or ty != 0:
        m = m @ np.array([[1, 0, tx], [0, 1, ty], [0, 0, 1]])
    if shear != 0:
        s = np.deg2rad(shear)
        m = m @ np.array([[1, -np.sin(s), 0], [0, np.cos(s), 0], [0, 0, 1]])
    if zx != 1 or zy != 1:
        m = m @ np.array([[zx, 0, 0], [0, zy, 0], [0, 0, 1]])
    ox, oy = h / 2 - 0.5, w / 2 - 0.5
    offset = np.array([[1, 0, ox], [0, 1, oy], [0, 0, 1]])
    reset = np.array([[1, 0, -ox], [0, 1, -oy], [0, 0, 1]])
    return offset @ m @ reset


class ImageDataGenerator:
    """Real-time image augmentation and normalisation, Keras's arguments and order.

    Supported: featurewise/samplewise centring and std normalisation,
    rotation_range (degrees), width/height_shift_range (fraction of the
    size when < 1, else pixels; or a list of allowed values), shear_range
    (degrees), zoom_range, channel_shift_range, fill_mode, cval,
    horizontal/vertical_flip, rescale, preprocessing_function, dtype.
    Not supported (raise): zca_whitening, brightness_range, channels_first,
    validation_split.
    """

    def __init__(self, featurewise_center=False, samplewise_center=False,
                 featurewise_std_normalization=False, samplewise_std_normalization=False,
                 zca_whitening=False, zca_epsilon=1e-6, rotation_range=0, width_shift_range=0.0,
                 height_shift_range=0.0, brightness_range=None, shear_range=0.0, zoom_range=0.0,
                 channel_shift_range=0.0, fill_mode="nearest", cval=0.0, horizontal_flip=False,
                 vertical_flip=False, rescale=None, preprocessing_function=None,
                 data_format=None, validation_split=0.0, dtype="float32"):
        if zca_whitening:
            raise NotImplementedError("ImageDataGenerator: zca_whitening is not supported")
        if brightness_range is not None:
            raise NotImplementedError("ImageDataGenerator: brightness_range is not supported")
        if data_format not in (None, "channels_last"):
            raise ValueError(f"data_format: only 'channels_last' (NHWC) is supported, "
                             f"got {data_format!r}")
        if validation_split:
            raise NotImplementedError("ImageDataGenerator: validation_split is not supported; "
                                      "split the arrays before calling flow()")
        if fill_mode not in _FILL_MODES:
            raise ValueError(f"fill_mode: expected one of {_FILL_MODES}, got {fill_mode!r}")
        for name, v in (("rotation_range", rotation_range), ("shear_range", shear_range),
                        ("channel_shift_range", channel_shift_range)):
            if not isinstance(v, numbers.Real) or v < 0:
                raise ValueError(f"{name}: expected a number >= 0, got {v!r}")
        self.featurewise_center = featurewise_center
        self.samplewise_center = samplewise_center
        self.featurewise_std_normalization = featurewise_std_normalization
        self.samplewise_std_normalization = samplewise_std_normalization
        self.rotation_range = float(rotation_range)
        self.width_shift_range = width_shift_range
        self.height_shift_range = height_shift_range
        self.shear_range = float(shear_range)
        self.zoom_range = _range_pair(zoom_range, "zoom_range")
        self.channel_shift_range = float(channel_shift_range)
        self.fill_mode = fill_mode
        self.cval = cval
        self.horizontal_flip = horizontal_flip
        self.vertical_flip = vertical_flip
        self.rescale = rescale
        self.preprocessing_function = preprocessing_function
        self.dtype = np.dtype(dtype)
        self.mean = None
        self.std = None

    # ------------------------------------------------------------ statistics

    def fit(self, x, augment=False, rounds=1, seed=None):
        """Compute the featurewise mean/std (per channel) of the images ``x`` (n, h, w, c)."""
        x = np.array(x, dtype=self.dtype, copy=True)
        if x.ndim != 4:
            raise ValueError(f"fit: expected images of shape (n, h, w, c), got {x.shape}")
        if self.rescale:
            x *= self.rescale
        if augment:
            rng = np.random.default_rng(seed)
            x = np.concatenate([self._augment(x, rng) for _ in range(int(rounds))])
        if self.featurewise_center:
            self.mean = np.mean(x, axis=(0, 1, 2)).reshape(1, 1, -1).astype(self.dtype)
            x -= self.mean
        if self.featurewise_std_normalization:
            self.std = np.std(x, axis=(0, 1, 2)).reshape(1, 1, -1).astype(self.dtype)
        return self

    def standardize(self, x):
        """Apply preprocessing_function, rescale, then sample/featurewise normalisation.

        Works on one image (h, w, c) or a batch (n, h, w, c); returns a new array.
        """
        x = np.array(x, dtype=self.dtype, copy=True)
        if self.preprocessing_function is not None:
            x = np.asarray(self.preprocessing_function(x), dtype=self.dtype)
        if self.rescale:
            x *= self.rescale
        axes = tuple(range(x.ndim - 3, x.ndim))  # per image: h, w, c
        if self.samplewise_center:
            x -= np.mean(x, axis=axes, keepdims=True)
        if self.samplewise_std_normalization:
            x /= np.std(x, axis=axes, keepdims=True) + 1e-6
        if self.featurewise_center:
            if self.mean is None:
                raise ValueError("featurewise_center is set but the generator has not been fit "
                                 "on any data: call .fit(x_train) first")
            x -= self.mean
        if self.featurewise_std_normalization:
            if self.std is None:
                raise ValueError("featurewise_std_normalization is set but the generator has "
                                 "not been fit on any data: call .fit(x_train) first")
            x /= self.std + 1e-6
        return x

    # ---------------------------------------------------------- augmentation

    def _shift(self, rng, value, size, n):
        if isinstance(value, numbers.Real):
            if value == 0:
                return np.zeros(n)
            s = rng.uniform(-value, value, n)
            return s * size if abs(value) < 1 else s
        allowed = np.asarray(value, dtype=np.float64)
        if allowed.ndim != 1 or allowed.size == 0:
            raise ValueError(f"shift range: expected a float or a 1-D list, got {value!r}")
        return rng.choice(allowed, n)

    def _augment(self, x, rng):
        """Random transforms of a float batch (n, h, w, c), one per image."""
        n, h, w, _ = x.shape
        theta = rng.uniform(-self.rotation_range, self.rotation_range, n) \
            if self.rotation_range else np.zeros(n)
        tx = self._shift(rng, self.height_shift_range, h, n)
        ty = self._shift(rng, self.width_shift_range, w, n)
        shear = rng.uniform(-self.shear_range, self.shear_range, n) \
            if self.shear_range else np.zeros(n)
        if self.zoom_range == (1.0, 1.0):
            zx = zy = np.ones(n)
        else:
            zx = rng.uniform(self.zoom_range[0], self.zoom_range[1], n)
            zy = rng.uniform(self.zoom_range[0], self.zoom_range[1], n)
        flip_h = rng.random(n) < 0.5 if self.horizontal_flip else np.zeros(n, bool)
        flip_v = rng.random(n) < 0.5 if self.vertical_flip else np.zeros(n, bool)
        out = x
        moving = (theta != 0) | (tx != 0) | (ty != 0) | (shear != 0) | (zx != 1) | (zy != 1)
        if moving.any():
            out = out.copy()
            idx = np.nonzero(moving)[0]
            mats = np.stack([_transform_matrix(theta[i], tx[i], ty[i], shear[i], zx[i], zy[i],
                                               h, w) for i in idx])
            out[idx] = apply_affine_transform_batch(x[idx], mats, self.fill_mode, self.cval)
        if self.channel_shift_range:
            shift = rng.uniform(-self.channel_shift_range, self.channel_shift_range, n)
            lo = out.min(axis=(1, 2, 3), keepdims=True)
            hi = out.max(axis=(1, 2, 3), keepdims=True)
            out = np.clip(out + shift[:, None, None, None], lo, hi)
        if flip_h.any():
            out = out.copy() if out is x else out
            out[flip_h] = out[flip_h][:, :, ::-1]
        if flip_v.any():
            out = out.copy() if out is x else out
            out[flip_v] = out[flip_v][:, ::-1]
        return out.astype(self.dtype, copy=False)

    def random_transform(self, x, seed=None):
        """A randomly augmented copy of one image (h, w, c), or of each image of a batch."""
        x = np.asarray(x, dtype=self.dtype)
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        if x.ndim == 3:
            return self._augment(x[None], rng)[0]
        if x.ndim == 4:
            return self._augment(x, rng)
        raise ValueError(f"random_transform: expected (h, w, c) or (n, h, w, c), got {x.shape}")

    def flow(self, x, y=None, batch_size=32, shuffle=True, sample_weight=None, seed=None):
        """A :class:`NumpyArrayIterator` of augmented, standardised batches."""
        return NumpyArrayIterator(x, y, self, batch_size=batch_size, shuffle=shuffle, seed=seed,
                                  sample_weight=sample_weight)


class NumpyArrayIterator:
    """Batches ``(x, y)`` of augmented images; a Keras ``Sequence`` and an endless iterator.

    ``len(it)`` = ceil(n / batch_size); ``it[i]`` = batch i of the current
    epoch's order; ``on_epoch_end()`` reshuffles (with ``shuffle``);
    ``next(it)`` walks the batches and starts a new epoch after the last.
    """

    def __init__(self, x, y, image_data_generator, batch_size=32, shuffle=True, seed=None,
                 sample_weight=None):
        x = np.asarray(x)
        if x.ndim != 4:
            raise ValueError(f"flow: expected images of shape (n, h, w, c), got {x.shape}")
        if y is not None:
            y = np.asarray(y)
            if len(y) != len(x):
                raise ValueError(f"flow: x and y have different lengths: {len(x)} and {len(y)}")
        if sample_weight is not None:
            sample_weight = np.asarray(sample_weight)
            if len(sample_weight) != len(x):
                raise ValueError("flow: sample_weight and x have different lengths")
        if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) \
                or batch_size < 1:
            raise ValueError(f"batch_size: expected a positive int, got {batch_size!r}")
        self.x, self.y, self.sample_weight = x, y, sample_weight
        self.image_data_generator = image_data_generator
        self.n = len(x)
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.seed = seed
        self._rng = np.random.default_rng(seed)
        self.batch_index = 0
        self.total_batches_seen = 0
        self.index_array = None
        self._set_index_array()

    def _set_index_array(self):
        self.index_array = self._rng.permutation(self.n) if self.shuffle else np.arange(self.n)

    def __len__(self):
        return math.ceil(self.n / self.batch_size)

    def on_epoch_end(self):
        self._set_index_array()

    def reset(self):
        self.batch_index = 0

    def __getitem__(self, idx):
        if not isinstance(idx, numbers.Integral):
            raise TypeError(f"batch index must be an int, got {type(idx).__name__}")
        if idx < 0:
            idx += len(self)
        if not 0 <= idx < len(self):
            raise IndexError(f"batch index {idx} out of range for a Sequence of length "
                             f"{len(self)}")
        sel = self.index_array[idx * self.batch_size:(idx + 1) * self.batch_size]
        return self._batch(sel)

    def _batch(self, sel):
        gen = self.image_data_generator
        xb = self.x[sel].astype(gen.dtype)
        xb = gen._augment(xb, self._rng)
        xb = gen.standardize(xb)
        self.total_batches_seen += 1
        if self.y is None:
            return xb
        yb = self.y[sel]
        if yb.dtype.kind in "biuf":
            yb = yb.astype(np.float32)
        if self.sample_weight is None:
            return xb, yb
        return xb, yb, self.sample_weight[sel]

    def __iter__(self):
        return self

    def __next__(self):
        if self.batch_index >= len(self):
            self.batch_index = 0
            self.on_epoch_end()
        i = self.batch_index
        self.batch_index += 1
        return self[i]

    next = __next__
