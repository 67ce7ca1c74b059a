"""Data sets with Keras's ``load_data()`` API, read from the official files.

    from cudnn_lite.datasets import mnist, cifar10
    (x_train, y_train), (x_test, y_test) = mnist.load_data()

Search order: ``path=``, ``$CUDNN_LITE_DATA/<name>/``, ``~/.cudnn_lite/datasets/<name>/``,
then a verified download into that cache. ``make_blobs`` reproduces scikit-learn's.
"""
from .. import unsupported
from . import blobs, cifar10, mnist
from ._files import ChecksumError, DatasetFormatError, DatasetNotFoundError
from .blobs import make_blobs

__all__ = ["mnist", "cifar10", "blobs", "make_blobs", "DatasetNotFoundError",
           "DatasetFormatError", "ChecksumError"]

__getattr__ = unsupported.module_getattr(__name__, "keras.datasets", {
    name: "only mnist and cifar10 are read here (and make_blobs generated)"
    for name in ("fashion_mnist", "cifar100", "imdb", "reuters", "boston_housing", "california_housing")})
