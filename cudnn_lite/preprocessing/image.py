"""Keras's ``ImageDataGenerator`` for channels-last (NHWC) images, on the CPU or the GPU.

The same code serves NumPy and CuPy images (``xp`` is the module of the input
array): ``flow(x, y)`` with CuPy arrays keeps images and labels on the GPU, so
a batch is gathered (``xp.take``), augmented (:func:`cudnn_lite.ops.affine_transform`)
and standardised (``xp`` arithmetic) where it lives; nothing image-sized crosses
the host.

Augmentation gives each image its own random affine transform (rotation,
shift, shear, zoom about the image centre, composed as Keras does; horizontal
and vertical flips folded into the same matrix), applied by one
:func:`~cudnn_lite.ops.affine_transform` call per batch: bilinear sampling (Keras's
default ``interpolation_order=1``), ``fill_mode`` saying what lies outside the
image ('nearest': the edge pixel, 'constant': ``cval``, 'reflect', 'wrap').
Identity and flip transforms copy pixels exactly. ``channel_shift_range`` then
adds a random offset per image, clipped to the image's own min/max. The random
parameters are drawn on the host with NumPy's generator; only the (n, 6)
matrices travel to the device.

``flow(x, y)`` returns a :class:`NumpyArrayIterator`, a Keras ``Sequence``:
``len()`` batches per epoch, ``it[i]`` is batch i, ``on_epoch_end()`` starts a
new epoch (new order with ``shuffle``, new transforms), and ``next(it)`` cycles
forever (for ``fit``/``fit_generator``). An epoch's order and every image's
transform are drawn together when the epoch starts, so batch i of an epoch is
the same whatever order the batches are asked for in, and NumPy and CuPy
inputs with the same seed give the same batches (up to float32 rounding).
"""
from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from .. import backend, ops, unsupported

__all__ = ["ImageDataGenerator", "NumpyArrayIterator", "apply_affine_transform_batch"]

_NO_FILES = ("reading image files needs an image decoder (Pillow), which cudnn_lite does not depend on; load the "
             "images into a (n, h, w, c) array and use flow(x, y)")
_IDENTITY6 = np.array([1, 0, 0, 0, 1, 0], dtype=np.float32)  # (m0 .. m5) of the identity


# ---------------------------------------------------------------- devices

_is_gpu = backend.is_device_array


def _xp(a):
    """The device's array module (CuPy, or cudnn_lite.emulator) for a device array, else numpy."""
    return backend.array_module(a)


def _to(xp, a, dtype=None):
    """``a`` as an array of module ``xp`` (a host <-> device copy when it lives elsewhere)."""
    if xp is np:
        return np.asarray(a.get() if _is_gpu(a) else a, dtype=dtype)
    return xp.asarray(a, dtype=dtype)


def _host(a):
    return a.get() if _is_gpu(a) else np.asarray(a)


# ----------------------------------------------------------------- geometry

def _range_pair(value, name):
    if isinstance(value, numbers.Real):
        return (1 - value, 1 + value)
    if len(value) == 2:
        return (float(value[0]), float(value[1]))
    raise ValueError(f"{name}: expected a float or a pair [lower, upper], got {value!r}")


def _eye(n):
    return np.repeat(np.eye(3)[None], n, axis=0)


def _transform_matrices(theta, tx, ty, shear, zx, zy, h, w):
    """Keras's composition, rotation . shift . shear . zoom about the image centre, for
    n images at once: (n, 3, 3) float64 maps of output (row, col, 1) to input coordinates.
    Zero rotation/shift/shear and unit zoom give exact identity factors."""
    theta, tx, ty, shear, zx, zy = (np.asarray(v, dtype=np.float64).reshape(-1)
                                    for v in (theta, tx, ty, shear, zx, zy))
    n = theta.shape[0]
    t = np.deg2rad(theta)
    rot = _eye(n)
    rot[:, 0, 0], rot[:, 0, 1] = np.cos(t), -np.sin(t)
    rot[:, 1, 0], rot[:, 1, 1] = np.sin(t), np.cos(t)
    shift = _eye(n)
    shift[:, 0, 2], shift[:, 1, 2] = tx, ty
    s = np.deg2rad(shear)
    sh = _eye(n)
    sh[:, 0, 1], sh[:, 1, 1] = -np.sin(s), np.cos(s)
    zoom = _eye(n)
    zoom[:, 0, 0], zoom[:, 1, 1] = zx, zy
    ox, oy = h / 2 - 0.5, w / 2 - 0.5
    offset = np.array([[1, 0, ox], [0, 1, oy], [0, 0, 1]])
    reset = np.array([[1, 0, -ox], [0, 1, -oy], [0, 0, 1]])
    return offset @ (rot @ shift @ sh @ zoom) @ reset


def _transform_matrix(theta, tx, ty, shear, zx, zy, h, w):
    """One image's (3, 3) matrix (see :func:`_transform_matrices`)."""
    return _transform_matrices([theta], [tx], [ty], [shear], [zx], [zy], h, w)[0]


def _fold_flips(m, flip_h, flip_v, h, w):
    """m (n, 3, 3) followed by the flips: output (r, c) of a horizontally flipped image is
    (r, w-1-c) of the unflipped one, so the matrix becomes m @ F."""
    m = m.copy()
    if flip_h.any():
        f = _eye(int(flip_h.sum()))
        f[:, 1, 1], f[:, 1, 2] = -1.0, w - 1
        m[flip_h] = m[flip_h] @ f
    if flip_v.any():
        f = _eye(int(flip_v.sum()))
        f[:, 0, 0], f[:, 0, 2] = -1.0, h - 1
        m[flip_v] = m[flip_v] @ f
    return m


def _as_rows(m):
    """(n, 3, 3) matrices -> (n, 6) float32 rows (m0 .. m5) for ops.affine_transform."""
    m = np.asarray(m)
    return np.ascontiguousarray(m[:, :2, :].reshape(m.shape[0], 6), dtype=np.float32)


def apply_affine_transform_batch(x, matrices, fill_mode="nearest", cval=0.0):
    """Resample each image of ``x`` (n, h, w, c) through its 3x3 ``matrices[i]``.

    ``matrices`` (n, 3, 3) map output (row, col, 1) to input coordinates, as
    in ``scipy.ndimage.affine_transform``; sampling is bilinear
    (:func:`cudnn_lite.ops.affine_transform`, in float32, on x's device). Returns
    x's dtype (float32 for integer images).
    """
    xp = _xp(x)
    x = xp.asarray(x)
    if x.ndim != 4:
        raise ValueError(f"x: expected images of shape (n, h, w, c), got {tuple(x.shape)}")
    mats = _host(matrices)
    if mats.shape != (x.shape[0], 3, 3):
        raise ValueError(f"matrices: expected shape {(x.shape[0], 3, 3)}, got {tuple(mats.shape)}")
    out = ops.affine_transform(xp.ascontiguousarray(x, dtype=np.float32), _to(xp, _as_rows(mats)),
                               fill_mode, cval)
    return out.astype(x.dtype if x.dtype.kind == "f" else np.float32, copy=False)


# ---------------------------------------------------------------- generator

class ImageDataGenerator:
    """Real-time image augmentation and normalisation, Keras's arguments and order.

    Supported: featurewise/samplewise centring and std normalisation, ZCA
    whitening, rotation_range (degrees), width/height_shift_range (fraction of the
    size when < 1, else pixels; or a list of allowed values), shear_range
    (degrees), zoom_range, channel_shift_range, fill_mode, cval,
    horizontal/vertical_flip, rescale, preprocessing_function, dtype.
    Not supported (raise): brightness_range, channels_first, validation_split.
    As in Keras, zca_whitening turns featurewise_center on and
    featurewise_std_normalization off, and a std normalisation turns its
    centring on (each with a warning). Every method takes NumPy or CuPy images and answers on
    their device; the geometric transforms are computed in float32 (a float64
    ``dtype`` gets float32-accurate warps). ``mean``/``std`` (after ``fit``) are
    NumPy arrays (1, 1, c).
    """

    def __init__(self, featurewise_center=False, samplewise_center=False,
                 featurewise_std_normalization=False, samplewise_std_normalization=False,
                 zca_whitening=False, zca_epsilon=1e-6, rotation_range=0, width_shift_range=0.0,
                 height_shift_range=0.0, brightness_range=None, shear_range=0.0, zoom_range=0.0,
                 channel_shift_range=0.0, fill_mode="nearest", cval=0.0, horizontal_flip=False,
                 vertical_flip=False, rescale=None, preprocessing_function=None,
                 data_format=None, validation_split=0.0, dtype="float32"):
        if brightness_range is not None:
            raise NotImplementedError("ImageDataGenerator: brightness_range is not supported")
        if data_format not in (None, "channels_last"):
            raise ValueError(f"data_format: only 'channels_last' (NHWC) is supported, "
                             f"got {data_format!r}")
        if validation_split:
            raise NotImplementedError("ImageDataGenerator: validation_split is not supported; "
                                      "split the arrays before calling flow()")
        from .. import ops
        if fill_mode not in ops.FILL_MODES:  # the kernel's names (csrc/cudnn_lite.h)
            raise ValueError(f"fill_mode: expected one of {tuple(ops.FILL_MODES)}, got {fill_mode!r}")
        for name, v in (("rotation_range", rotation_range), ("shear_range", shear_range),
                        ("channel_shift_range", channel_shift_range)):
            if not isinstance(v, numbers.Real) or v < 0:
                raise ValueError(f"{name}: expected a number >= 0, got {v!r}")
        if isinstance(zca_epsilon, bool) or not isinstance(zca_epsilon, numbers.Real) or not zca_epsilon > 0:
            raise ValueError(f"zca_epsilon: expected a number > 0, got {zca_epsilon!r}")
        if zca_whitening:  # Keras's overrides, with its warnings
            if not featurewise_center:
                featurewise_center = True
                warnings.warn("This ImageDataGenerator specifies `zca_whitening`, which overrides setting of "
                              "`featurewise_center`.", stacklevel=2)
            if featurewise_std_normalization:
                featurewise_std_normalization = False
                warnings.warn("This ImageDataGenerator specifies `zca_whitening` which overrides setting of "
                              "`featurewise_std_normalization`.", stacklevel=2)
        if featurewise_std_normalization and not featurewise_center:
            featurewise_center = True
            warnings.warn("This ImageDataGenerator specifies `featurewise_std_normalization`, which overrides "
                          "setting of `featurewise_center`.", stacklevel=2)
        if samplewise_std_normalization and not samplewise_center:
            samplewise_center = True
            warnings.warn("This ImageDataGenerator specifies `samplewise_std_normalization`, which overrides "
                          "setting of `samplewise_center`.", stacklevel=2)
        self.featurewise_center = featurewise_center
        self.samplewise_center = samplewise_center
        self.featurewise_std_normalization = featurewise_std_normalization
        self.samplewise_std_normalization = samplewise_std_normalization
        self.zca_whitening = bool(zca_whitening)
        self.zca_epsilon = float(zca_epsilon)
        self.zca_whitening_matrix = None  # (h*w*c, h*w*c), NumPy, after fit
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
        self._device_stats = {}  # 'mean'/'std' -> (the host array, its copy on the GPU)

    # ------------------------------------------------------------ statistics

    def fit(self, x, augment=False, rounds=1, seed=None):
        """Compute the featurewise mean/std (per channel) of the images ``x`` (n, h, w, c) and,
        with zca_whitening, the whitening matrix of the centred images (Keras's: from the SVD
        of the flattened images, u diag(sqrt(n) / (s + zca_epsilon)) u^T)."""
        xp = _xp(x)
        x = xp.array(x, dtype=self.dtype, copy=True)
        if x.ndim != 4:
            raise ValueError(f"fit: expected images of shape (n, h, w, c), got {tuple(x.shape)}")
        if self.rescale:
            x *= self.rescale
        if augment:
            rng = np.random.default_rng(seed)
            x = xp.concatenate([self._augment(x, rng) for _ in range(int(rounds))])
        if self.featurewise_center:
            mean = xp.mean(x, axis=(0, 1, 2)).reshape(1, 1, -1).astype(self.dtype)
            self.mean = _host(mean)
            x -= mean
        if self.featurewise_std_normalization:
            self.std = _host(xp.std(x, axis=(0, 1, 2)).reshape(1, 1, -1).astype(self.dtype))
        if self.zca_whitening:
            flat = _host(x).reshape(x.shape[0], -1)
            u, s, _ = np.linalg.svd(flat.T, full_matrices=False)
            s_inv = np.sqrt(flat.shape[0]) / (s + self.zca_epsilon)
            self.zca_whitening_matrix = np.ascontiguousarray((u * s_inv).dot(u.T), dtype=self.dtype)
        return self

    @property
    def principal_components(self):
        """Keras 2's name of zca_whitening_matrix."""
        return self.zca_whitening_matrix

    def _stat(self, name, xp):
        """self.mean or self.std as an array of module ``xp`` (the GPU copy is cached)."""
        value = getattr(self, name)
        if xp is np:
            return _to(np, value)
        cached = self._device_stats.get(name)
        if cached is None or cached[0] is not value:
            cached = (value, _to(xp, value))
            self._device_stats[name] = cached
        return cached[1]

    def standardize(self, x):
        """Apply preprocessing_function, rescale, then sample/featurewise normalisation.

        Works on one image (h, w, c) or a batch (n, h, w, c), NumPy or CuPy;
        returns a new array on x's device.
        """
        xp = _xp(x)
        return self._standardize(xp.array(x, dtype=self.dtype, copy=True))

    def _standardize(self, x):
        """standardize() in place on x, an array of dtype self.dtype the caller owns."""
        xp = _xp(x)
        if self.preprocessing_function is not None:
            x = xp.array(self.preprocessing_function(x), dtype=self.dtype, copy=True)
        if self.rescale:
            x *= self.rescale
        axes = tuple(range(x.ndim - 3, x.ndim))  # per image: h, w, c
        if self.samplewise_center:
            x -= xp.mean(x, axis=axes, keepdims=True)
        if self.samplewise_std_normalization:
            x /= xp.std(x, axis=axes, keepdims=True) + 1e-6
        if self.featurewise_center:
            if self.mean is None:
                raise ValueError("featurewise_center is set but the generator has not been fit "
                                 "on any data: call .fit(x_train) first")
            x -= self._stat("mean", xp)
        if self.featurewise_std_normalization:
            if self.std is None:
                raise ValueError("featurewise_std_normalization is set but the generator has "
                                 "not been fit on any data: call .fit(x_train) first")
            x /= self._stat("std", xp) + 1e-6
        if self.zca_whitening:
            if self.zca_whitening_matrix is None:
                raise ValueError("zca_whitening is set but the generator has not been fit on any data: "
                                 "call .fit(x_train) first")
            matrix = self._stat("zca_whitening_matrix", xp)
            if matrix.shape[0] != int(np.prod(x.shape[-3:])):
                raise ValueError(f"zca_whitening: the generator was fit on images of {matrix.shape[0]} values, "
                                 f"got images of shape {tuple(x.shape[-3:])}")
            x = xp.dot(x.reshape(-1, matrix.shape[0]), matrix).reshape(x.shape)  # both of dtype self.dtype
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

    def _draw(self, rng, n, h, w):
        """Random transforms of n images of size (h, w), drawn on the host from ``rng``.

        Returns (matrices (n, 6) float32 for ops.affine_transform, flips folded in;
        channel shifts (n,) float32 or None). Draw order: rotation, row shift, column
        shift, shear, zoom pair, horizontal flip, vertical flip, channel shift.
        """
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
        shift = rng.uniform(-self.channel_shift_range, self.channel_shift_range, n) \
            .astype(np.float32) if self.channel_shift_range else None
        m = _transform_matrices(theta, tx, ty, shear, zx, zy, h, w)
        return _as_rows(_fold_flips(m, flip_h, flip_v, h, w)), shift

    def _apply(self, x, matrices, shift, warp=True):
        """Transform the batch x (n, h, w, c) on its device: affine warp through ``matrices``
        (n, 6) float32 (skipped when ``warp`` is False: every matrix is the identity), then
        the channel shifts (n,) clipped to each image's min/max. Returns self.dtype."""
        xp = _xp(x)
        out = x
        if warp:
            out = ops.affine_transform(xp.ascontiguousarray(x, dtype=np.float32), matrices,
                                       self.fill_mode, self.cval)
        if shift is not None:
            lo = out.min(axis=(1, 2, 3), keepdims=True)
            hi = out.max(axis=(1, 2, 3), keepdims=True)
            out = xp.minimum(xp.maximum(out + shift.astype(out.dtype)[:, None, None, None], lo), hi)
        return out.astype(self.dtype, copy=False)

    def _augment(self, x, rng):
        """Random transforms of a float batch (n, h, w, c), one per image, on x's device."""
        xp = _xp(x)
        n, h, w, _ = x.shape
        matrices, shift = self._draw(rng, n, h, w)
        warp = bool((matrices != _IDENTITY6).any())
        return self._apply(x, _to(xp, matrices), None if shift is None else _to(xp, shift), warp)

    def random_transform(self, x, seed=None):
        """A randomly augmented copy of one image (h, w, c), or of each image of a batch."""
        xp = _xp(x)
        x = xp.asarray(x, dtype=self.dtype)
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        if x.ndim == 3:
            return self._augment(x[None], rng)[0]
        if x.ndim == 4:
            return self._augment(x, rng)
        raise ValueError(f"random_transform: expected (h, w, c) or (n, h, w, c), got {tuple(x.shape)}")

    def flow(self, x, y=None, batch_size=32, shuffle=True, sample_weight=None, seed=None):
        """A :class:`NumpyArrayIterator` of augmented, standardised batches (on x's device)."""
        return NumpyArrayIterator(x, y, self, batch_size=batch_size, shuffle=shuffle, seed=seed,
                                  sample_weight=sample_weight)

    def flow_from_directory(self, directory, *args, **kwargs):
        """Not supported: reading image files needs an image decoder (Pillow), which cudnn_lite does
        not depend on."""
        raise unsupported.UnsupportedFeatureError(
            "keras.preprocessing.image.ImageDataGenerator.flow_from_directory is not supported by cudnn_lite: "
            + _NO_FILES)

    def flow_from_dataframe(self, dataframe, *args, **kwargs):
        """Not supported (image files, see flow_from_directory)."""
        raise unsupported.UnsupportedFeatureError(
            "keras.preprocessing.image.ImageDataGenerator.flow_from_dataframe is not supported by cudnn_lite: "
            + _NO_FILES)


class NumpyArrayIterator:
    """Batches ``(x, y)`` of augmented images; a Keras ``Sequence`` and an endless iterator.

    ``len(it)`` = ceil(n / batch_size); ``it[i]`` = batch i of the current
    epoch; ``on_epoch_end()`` starts the next epoch (reshuffled with
    ``shuffle``, new random transforms); ``next(it)`` walks the batches and
    starts a new epoch after the last. NumPy or CuPy arrays: every batch is
    built on the device its source array lives on (x and y may differ).
    """

    def __init__(self, x, y, image_data_generator, batch_size=32, shuffle=True, seed=None,
                 sample_weight=None):
        x = x if _is_gpu(x) else np.asarray(x)
        if x.ndim != 4:
            raise ValueError(f"flow: expected images of shape (n, h, w, c), got {tuple(x.shape)}")
        if y is not None:
            y = y if _is_gpu(y) else np.asarray(y)
            if len(y) != len(x):
                raise ValueError(f"flow: x and y have different lengths: {len(x)} and {len(y)}")
        if sample_weight is not None:
            sample_weight = sample_weight if _is_gpu(sample_weight) else np.asarray(sample_weight)
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
        """A new epoch: its order, then (from the same generator) every position's transform;
        the matrices go to x's device once, here."""
        self.index_array = self._rng.permutation(self.n) if self.shuffle else np.arange(self.n)
        h, w = int(self.x.shape[1]), int(self.x.shape[2])
        matrices, shift = self.image_data_generator._draw(self._rng, self.n, h, w)
        self._moving = (matrices != _IDENTITY6).any(axis=1)  # host: which positions warp
        xp = _xp(self.x)
        self._matrices = _to(xp, matrices)
        self._channel_shift = None if shift is None else _to(xp, shift)
        self._device_index = None  # (index_array, its GPU copy), made on first use

    def _index_for(self, xp):
        if xp is np:
            return self.index_array
        if self._device_index is None or self._device_index[0] is not self.index_array:
            self._device_index = (self.index_array, xp.asarray(self.index_array))
        return self._device_index[1]

    def _take(self, a, sl):
        """Rows of ``a`` at the epoch positions ``sl`` (a slice), gathered on a's device."""
        xp = _xp(a)
        return xp.take(a, self._index_for(xp)[sl], axis=0)

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
        return self._batch(slice(idx * self.batch_size, (idx + 1) * self.batch_size))

    def _batch(self, sl):
        """Batch of the epoch positions ``sl``: gathered, augmented, standardised on x's device."""
        gen = self.image_data_generator
        xb = self._take(self.x, sl).astype(gen.dtype, copy=False)
        shift = None if self._channel_shift is None else self._channel_shift[sl]
        xb = gen._apply(xb, self._matrices[sl], shift, warp=bool(self._moving[sl].any()))
        xb = gen._standardize(xb)  # in place: xb is this batch's own array
        self.total_batches_seen += 1
        if self.y is None:
            return xb
        yb = self._take(self.y, sl)
        if yb.dtype.kind in "biuf":
            yb = yb.astype(np.float32, copy=False)
        if self.sample_weight is None:
            return xb, yb
        return xb, yb, self._take(self.sample_weight, sl)

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


__getattr__ = unsupported.module_getattr(__name__, "keras.preprocessing.image", {
    name: _NO_FILES for name in ("load_img", "img_to_array", "array_to_img", "save_img", "DirectoryIterator")})
