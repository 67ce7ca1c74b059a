"""Input pipelines: image augmentation (``preprocessing.image.ImageDataGenerator``).

    from cudnn_lite.preprocessing.image import ImageDataGenerator
"""
from .. import unsupported
from . import image
from .image import ImageDataGenerator, NumpyArrayIterator

__all__ = ["image", "ImageDataGenerator", "NumpyArrayIterator"]

__getattr__ = unsupported.module_getattr(__name__, "keras.preprocessing", {
    "text": "text preprocessing (Tokenizer) is not supported: cudnn_lite has no text layers",
    "sequence": "sequence preprocessing (pad_sequences) is not supported: cudnn_lite has no recurrent layers",
})
