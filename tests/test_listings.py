"""The textbook's listings run under cudnn_lite and print the textbook's summary tables.

Source: ``../shared/textbook/LISTINGS.md`` (relative to the repository root; the
module is skipped where it is absent, as in users' clones without ``shared/``).
Each ```python block is taken from that file and changed in only these ways:

* imports: ``keras`` -> ``cudnn_lite`` (``from keras.x import y`` ->
  ``from cudnn_lite.x import y``; ``import keras`` -> ``import cudnn_lite as keras``,
  so ``keras.utils.to_categorical`` and ``keras.optimizers.Adam(lr=, decay=)`` resolve
  to cudnn_lite);
* epochs: the literal ``epochs=N`` values are lowered (1000 -> 2, anything else -> 1)
  so that the whole module runs in well under a minute on two cores. This is the only
  code change besides the imports, except for the documented completions below;
* completions, each documented where it is made: snippet listings (3 and 8) get a
  preamble defining ``model = Sequential()`` with an input shape and the free names;
  listings 5 and 9 get the book's own import lines that LISTINGS.md leaves out
  (written in keras spelling and rewritten like the listings); listing 8's free name
  ``lambda`` (a Python keyword) becomes ``lambda_``; listing 9's two abbreviation
  comments ("# likewise y_valid, y_test", "# CONV1..CONV6 ...") are expanded into the
  code the book prints (textbook_ko.txt), built from the listing's own lines.

Only the environment is patched: ``cifar10.load_data`` returns small synthetic uint8
arrays of the official shapes, ``sklearn.datasets.make_blobs`` is a fake module
forwarding to ``cudnn_lite.datasets.make_blobs`` (scikit-learn is not a dependency),
matplotlib draws with Agg (or a stub ``pyplot`` when matplotlib is absent), and every
listing runs in its own ``tmp_path`` so checkpoints land there.

The worked conv example of section 3 (first output row 6, 9, 11) is already tested
with ``cudnn_lite.ops.conv2d_forward`` by tests/test_ops.py::test_conv2d_forward_textbook
(and with the NumPy reference by tests/test_reference.py), so it is not repeated here.
"""
from __future__ import annotations

import re
import sys
import types
import warnings
from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
LISTINGS_MD = REPO_ROOT.parent / "shared" / "textbook" / "LISTINGS.md"

if not LISTINGS_MD.is_file():
    pytest.skip(f"the textbook's listings are not here ({LISTINGS_MD}): they live in the project's "
                "shared/ folder, which clones of the repository do not have", allow_module_level=True)

import cudnn_lite  # noqa: E402
from cudnn_lite import backend  # noqa: E402
import cudnn_lite.datasets.cifar10 as cifar10_module  # noqa: E402

# ------------------------------------------------------------------ reading LISTINGS.md

_TEXT = LISTINGS_MD.read_text(encoding="utf-8")


def _sections(text):
    """{number: section text} for the '## N. title' sections."""
    parts = re.split(r"^## (\d+)\. ", text, flags=re.M)
    return {int(parts[i]): parts[i + 1] for i in range(1, len(parts), 2)}


SECTIONS = _sections(_TEXT)
CODE = {n: m.group(1) for n, s in SECTIONS.items() if (m := re.search(r"```python\n(.*?)```", s, re.S))}
PROSE = {n: re.sub(r"```python\n.*?```", "", s, flags=re.S) for n, s in SECTIONS.items()}


def to_cudnn_lite(source):
    """Rewrite only the import lines: keras -> cudnn_lite."""
    source = re.sub(r"^(\s*)import keras\s*$", r"\1import cudnn_lite as keras", source, flags=re.M)
    source = re.sub(r"^(\s*)from keras(\.[\w.]+)? import ", r"\1from cudnn_lite\2 import ", source, flags=re.M)
    assert not re.search(r"^\s*(from|import) keras\b", source, flags=re.M), source
    return source


def fewer_epochs(source):
    """The only change to the listings' code besides imports: lower the literal epochs values."""
    return re.sub(r"\bepochs(\s*)=(\s*)(\d+)",
                  lambda m: f"epochs{m.group(1)}={m.group(2)}{2 if int(m.group(3)) >= 1000 else 1}", source)


# ------------------------------------------------------------------ the book's numbers

def _norm_shape(shape):
    return re.sub(r"\s+", "", shape)


def book_table(n):
    """[(name, type, shape, params)] from a markdown table in section n."""
    rows = re.findall(r"^\|\s*(\w+) \((\w+)\)\s*\|\s*(\([^|]*\))\s*\|\s*([\d,]+)\s*\|\s*$", PROSE[n], re.M)
    return [(a, b, _norm_shape(c), int(d.replace(",", ""))) for a, b, c, d in rows]


def book_shapes(n):
    """[(shape, params) or 'dropout'] from a 'Shapes...: (None,..) p / ... / dropout / ...' line."""
    line = re.search(r"^Shapes[^:]*:(.*?)\.\s*Total", PROSE[n], re.M | re.S).group(1)
    out = []
    for item in line.split("/"):
        item = item.strip()
        if item == "dropout":
            out.append("dropout")
        else:
            m = re.fullmatch(r"(\(.*\))\s+([\d,]+)", item)
            out.append((_norm_shape(m.group(1)), int(m.group(2).replace(",", ""))))
    return out


def book_number(pattern, text):
    return int(re.search(pattern, text).group(1).replace(",", ""))


# ------------------------------------------------------------------ the printed summary

def printed_rows(out):
    """[(name, type, shape, params)] of every summary row printed in out.

    Columns are cut at the header's positions; like Keras 2, text too long for its column
    continues on the next line (e.g. "batch_normalization (BatchN" / "ormalization)"),
    so a line with only the first column filled continues the previous row's name.
    """
    rows, lines = [], out.splitlines()
    for i, header in enumerate(lines):
        if not header.startswith(" Layer (type)"):
            continue
        p1, p2 = header.index("Output Shape"), header.index("Param #")
        fields = []
        for line in lines[i + 2:]:
            if line.startswith("="):
                break
            first, shape, params = line[1:p1].rstrip(), line[p1:p2].strip(), line[p2:].strip()
            if shape or params:
                fields.append([first, shape, params])
            elif first:
                fields[-1][0] += first
        for first, shape, params in fields:
            m = re.fullmatch(r"(\w+) \((\w+)\)", first)
            assert m, (first, out)
            rows.append((m.group(1), m.group(2), _norm_shape(shape), int(params)))
    return rows


def printed_totals(out):
    def one(label):
        found = re.findall(rf"^{label} params: ([\d,]+)$", out, re.M)
        assert len(found) == 1, (label, out)
        return int(found[0].replace(",", ""))
    return one("Total"), one("Trainable"), one("Non-trainable")


# ------------------------------------------------------------------ environment

N_TRAIN, N_TEST = 5256, 100   # listings 5 and 9 keep x_train[:5000] for validation, train on the rest


def fake_cifar10_load_data(path=None, download=True):
    """Synthetic data with the official shapes and dtypes (uint8 images, (N, 1) labels over 10 classes)."""
    rng = np.random.default_rng(10)
    def split(n):
        return (rng.integers(0, 256, size=(n, 32, 32, 3), dtype=np.uint8),
                (np.arange(n) % 10).astype(np.uint8).reshape(n, 1))
    return split(N_TRAIN), split(N_TEST)


@pytest.fixture
def book_env(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(cifar10_module, "load_data", fake_cifar10_load_data)
    sklearn = types.ModuleType("sklearn")
    sklearn_datasets = types.ModuleType("sklearn.datasets")
    sklearn_datasets.make_blobs = cudnn_lite.datasets.make_blobs
    sklearn.datasets = sklearn_datasets
    monkeypatch.setitem(sys.modules, "sklearn", sklearn)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", sklearn_datasets)
    try:
        import matplotlib
        matplotlib.use("Agg", force=True)
        import matplotlib.pyplot as plt
    except ImportError:  # a stub pyplot: every call does nothing
        plt = None
        stub = types.ModuleType("matplotlib.pyplot")
        stub.__getattr__ = lambda name: (lambda *a, **k: None)
        mpl = types.ModuleType("matplotlib")
        mpl.pyplot = stub
        monkeypatch.setitem(sys.modules, "matplotlib", mpl)
        monkeypatch.setitem(sys.modules, "matplotlib.pyplot", stub)
    backend.clear_session()            # layer names start at 'dense', as in a fresh session
    backend.set_random_seed(0)
    yield tmp_path
    if plt is not None:
        plt.close("all")


def run_listing(source, capsys, preamble=""):
    """exec() the rewritten listing in a fresh namespace; return (namespace, stdout)."""
    code = to_cudnn_lite(preamble) + to_cudnn_lite(fewer_epochs(source))
    namespace = {"__name__": "__textbook__"}
    capsys.readouterr()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # the book's strides='1', Agg's show(), lr=/decay= spellings
        exec(compile(code, "<LISTINGS.md>", "exec"), namespace)
    return namespace, capsys.readouterr().out


def assert_rows_match_shapes(rows, shapes):
    """rows against the book's (shape, params) list, where 'dropout' stands for a Dropout row."""
    assert len(rows) == len(shapes), (rows, shapes)
    for (name, kind, shape, params), want in zip(rows, shapes):
        if want == "dropout":
            assert kind == "Dropout" and params == 0, (name, kind, shape, params)
        else:
            assert (shape, params) == want, (name, kind, shape, params)


# ------------------------------------------------------------------ the listings

def test_listings_are_all_there():
    assert set(CODE) == {2, 3, 4, 5, 7, 8, 9}, sorted(CODE)


def test_listing_2_mnist_mlp(book_env, capsys):
    _, out = run_listing(CODE[2], capsys)
    assert printed_rows(out) == book_table(2)
    prose = PROSE[2]
    assert printed_totals(out) == (book_number(r"Total params: ([\d,]+)", prose),
                                   book_number(r"Trainable params: ([\d,]+)", prose),
                                   book_number(r"Non-trainable params: ([\d,]+)", prose)) == (669706, 669706, 0)


# A snippet: the book adds these two layers to a model built earlier; here an empty model
# with MNIST's input shape, and the names the snippet uses.
PREAMBLE_3 = """\
from keras.models import Sequential
from keras.layers import Conv2D, MaxPooling2D, InputLayer
model = Sequential()
model.add(InputLayer(input_shape=(28, 28, 1)))
"""


def test_listing_3_conv_and_pool_calls(book_env, capsys):
    ns, _ = run_listing(CODE[3], capsys, PREAMBLE_3)
    model = ns["model"]
    conv, pool = model.layers
    assert conv.strides == (1, 1)                      # the book's strides='1' means stride 1
    assert model.output_shape == (None, 14, 14, 16)    # "halves height and width, keeps depth"
    assert conv.output_shape == (None, 28, 28, 16) and conv.count_params() == 2 * 2 * 1 * 16 + 16


def test_listing_4_mnist_cnn(book_env, capsys):
    _, out = run_listing(CODE[4], capsys)
    assert_rows_match_shapes(printed_rows(out), book_shapes(4))
    total = book_number(r"Total params: ([\d,]+)", PROSE[4])
    assert printed_totals(out) == (total, total, 0) == (220234, 220234, 0)


def test_listing_4_dropout_version(book_env, capsys):
    # "adds Dropout(rate=0.3) after Flatten() and Dropout(rate=0.5) after Dense(64); same parameter count"
    assert "Dropout(rate=0.3)" in PROSE[4] and "Dropout(rate=0.5)" in PROSE[4]
    source = CODE[4].replace("model.add(Flatten())\n", "model.add(Flatten())\nmodel.add(Dropout(rate=0.3))\n")
    source = re.sub(r"(model\.add\(Dense\(64,[^\n]*\n)", r"\1model.add(Dropout(rate=0.5))\n", source)
    _, out = run_listing(source, capsys)
    rows = printed_rows(out)
    assert [r[1] for r in rows].count("Dropout") == 2
    assert_rows_match_shapes([r for r in rows if r[1] != "Dropout"], book_shapes(4))
    assert printed_totals(out) == (220234, 220234, 0)


# The book imports these in earlier cells of the same notebook (textbook_ko.txt: "import numpy
# as np" beside the CIFAR-10 download, the model imports above this network's definition).
PREAMBLE_5 = """\
import numpy as np
from keras.models import Sequential
from keras.layers import Conv2D, MaxPooling2D, Flatten, Dense, Dropout
"""


def test_listing_5_cifar10_cnn(book_env, capsys):
    ns, out = run_listing(CODE[5], capsys, PREAMBLE_5)
    assert_rows_match_shapes(printed_rows(out), book_shapes(5))
    total = book_number(r"Total params: ([\d,]+)", PROSE[5])
    assert printed_totals(out) == (total, total, 0) == (528054, 528054, 0)
    assert re.search(r"^ Test accuracy: \d\.\d+", out, re.M), out
    assert (book_env / "model.weights.best.hdf5").is_file()
    assert "val_loss improved from inf to" in out and "saving model to model.weights.best.hdf5" in out
    assert ns["x_train"].shape == (N_TRAIN - 5000, 32, 32, 3) and ns["y_train"].shape == (N_TRAIN - 5000, 10)


def test_listing_7_make_blobs_mlp(book_env, capsys):
    ns, out = run_listing(CODE[7], capsys)
    # the book's table is in the listing's comment: "dense (None, 25) 75; dense_1 (None, 3) 78; Total params: 153"
    comment = re.search(r"model\.summary\(\)\s*#(.*)$", CODE[7], re.M).group(1)
    want = [(a, _norm_shape(b), int(c)) for a, b, c in re.findall(r"(\w+) (\([^)]*\)) (\d+)", comment)]
    assert [(r[0], r[2], r[3]) for r in printed_rows(out)] == want
    total = book_number(r"Total params: ([\d,]+)", comment)
    assert printed_totals(out) == (total, total, 0) == (153, 153, 0)
    assert re.search(r"^Train: \d\.\d{3}, Test: \d\.\d{3}$", out, re.M), out
    assert len(ns["history"].history["accuracy"]) == 2


# A snippet of separate one-liners: an empty model with an input shape, the names the lines
# use (`lambda` is a Python keyword, so the book's "lambda: a number" becomes `lambda_`), and
# a small synthetic `training_set` of images.
PREAMBLE_8 = """\
import numpy as np
from keras.models import Sequential
from keras.layers import Dense, Dropout, Flatten, InputLayer
from keras.callbacks import EarlyStopping
from keras import regularizers
lambda_ = 0.01
hidden_units = 32
training_set = np.random.default_rng(8).random((16, 32, 32, 3)).astype('float32')
model = Sequential()
model.add(InputLayer(input_shape=(32, 32, 3)))
model.add(Flatten())
"""


def test_listing_8_regularisation_snippets(book_env, capsys):
    source = CODE[8].replace("l2(lambda)", "l2(lambda_)")
    ns, _ = run_listing(source, capsys, PREAMBLE_8)
    model = ns["model"]
    assert [type(layer).__name__ for layer in model.layers] == [
        "Flatten", "Dense", "Dense", "BatchNormalization", "Dropout"]
    assert model.output_shape == (None, 32)
    assert model.count_params() == (3072 * 16 + 16) + (16 * 32 + 32) + 4 * 32
    assert model.layers[1].kernel_regularizer is not None
    assert ns["datagen"].horizontal_flip and ns["datagen"].vertical_flip


# The book's import cell for this network (textbook_ko.txt, "의존 라이브러리 임포트하기"), the
# lines LISTINGS.md leaves out.
PREAMBLE_9 = """\
import keras
from keras.datasets import cifar10
from keras.preprocessing.image import ImageDataGenerator
from keras.models import Sequential
import numpy as np
from matplotlib import pyplot
"""


def expand_listing_9(source):
    """Expand LISTINGS.md's two abbreviations into the code the book prints, from the listing's own lines."""
    one_hot = re.search(r"^(y_train = np_utils\.to_categorical\(y_train, num_classes\))\s*# likewise y_valid, y_test$",
                        source, re.M)
    source = source.replace(one_hot.group(0), "\n".join(
        [one_hot.group(1)] + [one_hot.group(1).replace("y_train", name) for name in ("y_valid", "y_test")]))
    # "# CONV1..CONV6: filters 32, 32, 64, 64, 128, 128; each:" then one conv block, then
    # "# after CONV2, CONV4, CONV6: MaxPooling2D(pool_size=(2,2)) then Dropout(0.2), Dropout(0.3), Dropout(0.4)"
    m = re.search(r"^# CONV1\.\.CONV6: filters ([\d, ]+); each:\n(.*?)^# after CONV2, CONV4, CONV6: (MaxPooling2D\(.*?\)) "
                  r"then (Dropout\([\d.]+\)), (Dropout\([\d.]+\)), (Dropout\([\d.]+\))\n", source, re.M | re.S)
    filters = [int(f) for f in m.group(1).split(",")]
    block, pool, dropouts = m.group(2), m.group(3), m.group(4, 5, 6)
    assert filters == [32, 32, 64, 64, 128, 128]
    first_only = re.search(r",\s*input_shape=x_train\.shape\[1:\]\)\)", block).group(0)
    lines = []
    for i, f in enumerate(filters):
        conv = block.replace("base_hidden_units,", f"base_hidden_units * {f // 32}," if f != 32 else "base_hidden_units,")
        if i:
            conv = conv.replace(first_only, "))")
        lines.append(f"# CONV{i + 1}\n" + conv)
        if i % 2:
            lines.append(f"model.add({pool})\nmodel.add({dropouts[i // 2]})\n")
    return source.replace(m.group(0), "".join(lines))


def test_listing_9_improved_cifar10(book_env, capsys):
    source = expand_listing_9(CODE[9])
    ns, out = run_listing(source, capsys, PREAMBLE_9)
    rows = printed_rows(out)
    kinds = [r[1] for r in rows]
    assert kinds.count("Conv2D") == 6 and kinds.count("BatchNormalization") == 6
    assert kinds.count("MaxPooling2D") == 3 and kinds.count("Dropout") == 3
    assert [r[2] for r in rows if r[1] == "Conv2D"] == [
        "(None,32,32,32)", "(None,32,32,32)", "(None,16,16,64)", "(None,16,16,64)", "(None,8,8,128)", "(None,8,8,128)"]
    assert rows[-1][1:] == ("Dense", "(None,10)", 2048 * 10 + 10)
    m = re.search(r"([\d,]+) trainable \+ ([\d,]+) non-trainable.*?= ([\d,]+)", PROSE[9])
    trainable, non_trainable, total = (int(g.replace(",", "")) for g in m.groups())
    assert printed_totals(out) == (total, trainable, non_trainable) == (309290, 308394, 896)
    assert re.search(r"^Test result: \d+\.\d{3} loss: \d+\.\d{3}$", out, re.M), out
    assert (book_env / "model.100epochs.hdf5").is_file()
    optimizer = ns["optimizer"]
    assert optimizer.decay == 1e-6 and np.isclose(float(optimizer.learning_rate), 1e-4)
