"""Input pipelines: image augmentation (``preprocessing.image.ImageDataGenerator``).

    from cudnn_lite.preprocessing.image import ImageDataGenerator
"""
from . import image
from .image import ImageDataGenerator, NumpyArrayIterator

__all__ = ["image", "ImageDataGenerator", "NumpyArrayIterator"]
