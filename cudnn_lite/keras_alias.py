"""Run Keras code unchanged: ``import keras`` and ``from keras.x import y`` give cudnn_lite's modules.

    from cudnn_lite import keras_alias
    keras_alias.install()          # from now on `keras` is cudnn_lite
    import keras
    from keras.layers import Dense
    keras_alias.uninstall()        # `keras` means Keras again

    with keras_alias.aliased():    # the same, for one block (tests use this)
        runpy.run_path("mnist_mlp.py")

or, for a whole script: ``python -m cudnn_lite.keras_alias mnist_mlp.py [args...]``.

An import hook (a meta-path finder and loader, no text edits): ``keras.<path>`` is
``cudnn_lite.<path>``, the same module object, so ``keras.layers.Dense is
cudnn_lite.layers.Dense``. Keras 2's module paths resolve because cudnn_lite keeps them
(``keras.layers.core``, ``keras.layers.convolutional``, ``keras.utils.np_utils``,
``keras.preprocessing.image``, ``keras.datasets.mnist`` ...). A Keras module cudnn_lite does not
have raises ``ModuleNotFoundError`` naming the Keras module; a Keras name it deliberately lacks
raises :class:`~cudnn_lite.unsupported.UnsupportedFeatureError` naming the feature.
"""
from __future__ import annotations

import contextlib
import importlib
import importlib.abc
import importlib.util
import runpy
import sys

__all__ = ["KerasAliasFinder", "install", "uninstall", "installed", "aliased"]

_TARGET = "cudnn_lite"


class _AliasLoader(importlib.abc.Loader):
    """Hands the import system an already imported cudnn_lite module under the Keras name."""

    def __init__(self, module):
        self.module = module
        self.spec = module.__spec__

    def create_module(self, spec):
        return self.module

    def exec_module(self, module):
        # the import system has just set module.__spec__ to the alias's spec: give the module its own back
        module.__spec__ = self.spec


class KerasAliasFinder(importlib.abc.MetaPathFinder):
    """Finds ``alias`` and ``alias.*`` (default 'keras') as the cudnn_lite modules of the same path."""

    def __init__(self, alias: str = "keras"):
        if not isinstance(alias, str) or not alias.isidentifier():
            raise ValueError(f"alias: expected a module name such as 'keras', got {alias!r}")
        self.alias = alias

    def find_spec(self, fullname, path=None, target=None):
        if fullname != self.alias and not fullname.startswith(self.alias + "."):
            return None
        real = _TARGET + fullname[len(self.alias):]
        try:
            module = importlib.import_module(real)
        except ModuleNotFoundError as e:
            if e.name is not None and real.startswith(e.name) and e.name.startswith(_TARGET):
                parent, _, last = real.rpartition(".")
                if parent in sys.modules:  # a Keras module named as unsupported raises UnsupportedFeatureError
                    getattr(sys.modules[parent], last, None)
                raise ModuleNotFoundError(
                    f"No module named {fullname!r}: cudnn_lite has no {real!r} ({self.alias!r} is aliased to "
                    f"cudnn_lite by cudnn_lite.keras_alias; this part of Keras is not supported)",
                    name=fullname) from None
            raise
        return importlib.util.spec_from_loader(fullname, _AliasLoader(module), is_package=hasattr(module, "__path__"))


_finder: KerasAliasFinder | None = None


def installed() -> bool:
    """True while the alias is installed."""
    return _finder is not None


def install(alias: str = "keras") -> KerasAliasFinder:
    """Make ``import keras`` (or ``alias``) import cudnn_lite, until :func:`uninstall`.

    Refused (RuntimeError) when a module of that name is already imported, e.g. real Keras:
    the two cannot share the name in one process."""
    global _finder
    if _finder is not None:
        if _finder.alias == alias:
            return _finder
        raise RuntimeError(f"keras_alias: already installed for {_finder.alias!r}; uninstall() first")
    finder = KerasAliasFinder(alias)
    if any(name == alias or name.startswith(alias + ".") for name in sys.modules):
        raise RuntimeError(f"keras_alias: a module named {alias!r} is already imported (real Keras?); "
                           "install the alias before anything imports it, or in a fresh process")
    sys.meta_path.insert(0, finder)
    _finder = finder
    return finder


def uninstall() -> None:
    """Remove the alias: the finder, and the ``keras.*`` names it put in ``sys.modules``."""
    global _finder
    if _finder is None:
        return
    alias = _finder.alias
    if _finder in sys.meta_path:
        sys.meta_path.remove(_finder)
    for name in [n for n in sys.modules if n == alias or n.startswith(alias + ".")]:
        if sys.modules[name].__name__.startswith(_TARGET):
            del sys.modules[name]
    _finder = None


@contextlib.contextmanager
def aliased(alias: str = "keras"):
    """``with aliased(): ...``: the alias installed for the block only."""
    install(alias)
    try:
        yield
    finally:
        uninstall()


def main(argv=None) -> None:
    """``python -m cudnn_lite.keras_alias script.py [args...]``: run a Keras script on cudnn_lite."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: python -m cudnn_lite.keras_alias SCRIPT.py [ARGS...]\n"
              "Runs SCRIPT with `import keras` giving cudnn_lite.")
        raise SystemExit(0 if argv else 2)
    sys.argv = argv
    install()
    runpy.run_path(argv[0], run_name="__main__")


if __name__ == "__main__":
    main()
