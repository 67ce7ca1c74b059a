// args.cpp: the ops' non-array arguments (see args.h), and the enum tables of cudnn_lite._C.
#include "args.h"

#include <algorithm>
#include <string>

namespace cudnn_lite::binding {

namespace {

[[noreturn]] void value_error(const char* arg, const std::string& what) {
  throw py::value_error(std::string(arg) + ": " + what);
}

std::string repr_of(py::handle value) { return py::repr(value).cast<std::string>(); }

bool is_text(py::handle v) { return PyUnicode_Check(v.ptr()) || PyBytes_Check(v.ptr()); }

// int(v) as int64 (floats truncate, as int() does; strings are refused); false when int()
// fails or the result does not fit in 64 bits
bool int64_of(py::handle v, bool allow_float, int64_t* out) {
  if (is_text(v) || (!allow_float && !PyIndex_Check(v.ptr()))) return false;
  PyObject* as_long = allow_float ? PyNumber_Long(v.ptr()) : PyNumber_Index(v.ptr());
  if (as_long == nullptr) {
    PyErr_Clear();
    return false;
  }
  int overflow = 0;
  const long long x = PyLong_AsLongLongAndOverflow(as_long, &overflow);
  Py_DECREF(as_long);
  if (overflow != 0 || (x == -1 && PyErr_Occurred())) {
    PyErr_Clear();
    return false;
  }
  *out = static_cast<int64_t>(x);
  return true;
}

// the items of an iterable (strings are not sequences of ints here); false if not iterable
bool items_of(py::handle v, std::vector<py::object>* items) {
  if (is_text(v)) return false;
  PyObject* it = PyObject_GetIter(v.ptr());
  if (it == nullptr) {
    PyErr_Clear();
    return false;
  }
  while (PyObject* item = PyIter_Next(it))
    items->push_back(py::reinterpret_steal<py::object>(item));
  Py_DECREF(it);
  if (PyErr_Occurred()) {
    PyErr_Clear();
    return false;
  }
  return true;
}

bool ints_of(py::handle v, std::vector<int64_t>* out) {
  std::vector<py::object> items;
  if (!items_of(v, &items)) return false;
  for (const py::object& item : items) {
    int64_t x;
    if (!int64_of(item, true, &x)) return false;
    out->push_back(x);
  }
  return true;
}

template <class E>
std::string enum_choices() {
  std::string s = "one of ";
  for (int i = 0; i < enum_count<E>(); ++i)
    s += std::string(i ? ", '" : "'") + EnumNames<E>::names[i] + "'";
  return s + " (or its id, 0.." + std::to_string(enum_count<E>() - 1) + ")";
}

// 'same' padding of one axis: output ceil(size / stride), the extra cell after (TensorFlow).
// (out - 1) * stride < size, so nothing here can overflow.
void same_padding(int64_t size, int64_t window, int64_t stride, int64_t* before, int64_t* after) {
  const int64_t out = size / stride + (size % stride != 0);
  const int64_t total = std::max<int64_t>(window - (size - (out - 1) * stride), 0);
  *before = total / 2;
  *after = total - total / 2;
}

template <class E>
void export_table(py::module_& m, const char* table) {
  py::dict d;
  for (int i = 0; i < enum_count<E>(); ++i) d[EnumNames<E>::names[i]] = i;
  m.attr(table) = d;
}

}  // namespace

template <class E>
E enum_arg(py::handle value, const char* arg) {
  if (PyUnicode_Check(value.ptr())) {
    const std::string name = value.cast<std::string>();
    for (int i = 0; i < enum_count<E>(); ++i)
      if (name == EnumNames<E>::names[i]) return static_cast<E>(i);
  } else if (!PyBool_Check(value.ptr())) {
    int64_t id;
    if (int64_of(value, false, &id)) {
      if (id >= 0 && id < enum_count<E>()) return static_cast<E>(id);
      value_error(arg, "unknown id " + std::to_string(id) + "; expected " + enum_choices<E>());
    }
  }
  value_error(arg, "expected " + enum_choices<E>() + ", got " + repr_of(value));
}

template Activation enum_arg<Activation>(py::handle, const char*);
template Loss enum_arg<Loss>(py::handle, const char*);
template Optimizer enum_arg<Optimizer>(py::handle, const char*);
template FillMode enum_arg<FillMode>(py::handle, const char*);

Activation activation_arg(py::handle value) {
  return value.is_none() ? Activation::linear : enum_arg<Activation>(value, "activation");
}

std::array<int64_t, 2> positive_pair_arg(py::handle value, const char* arg) {
  std::vector<int64_t> v;
  int64_t one;
  if (!is_text(value) && PyIndex_Check(value.ptr())) {  // an int: the same on both axes
    if (!int64_of(value, false, &one))
      value_error(arg, "expected an int or a pair of ints below 2**63, got " + repr_of(value));
    v = {one, one};
  } else if (!ints_of(value, &v) || v.size() != 2) {
    value_error(arg, "expected an int or a pair of ints, got " + repr_of(value));
  }
  if (v[0] <= 0 || v[1] <= 0) value_error(arg, "expected positive values, got " + repr_of(value));
  return {v[0], v[1]};
}

std::vector<int64_t> shape_arg(py::handle value, const char* arg) {
  std::vector<int64_t> shape;
  if (!ints_of(value, &shape))
    value_error(arg, "expected a shape (a sequence of ints), got " + repr_of(value));
  for (int64_t s : shape)
    if (s < 0) value_error(arg, "expected non-negative sizes, got " + repr_of(value));
  return shape;
}

std::array<int64_t, 4> padding_arg(py::handle value, int64_t h, int64_t w,
                                   std::array<int64_t, 2> window, std::array<int64_t, 2> strides) {
  const std::string expected = "expected 'valid', 'same' or (top, bottom, left, right), got ";
  if (PyUnicode_Check(value.ptr())) {
    const std::string mode = value.attr("lower")().cast<std::string>();
    if (mode == "valid") return {0, 0, 0, 0};
    if (mode != "same") value_error("padding", expected + repr_of(value));
    std::array<int64_t, 4> p;
    same_padding(h, window[0], strides[0], &p[0], &p[1]);
    same_padding(w, window[1], strides[1], &p[2], &p[3]);
    return p;
  }
  std::vector<int64_t> p;
  if (!ints_of(value, &p)) value_error("padding", expected + repr_of(value));
  if (p.size() != 4 || *std::min_element(p.begin(), p.end()) < 0)
    value_error("padding", "explicit padding must be 4 non-negative ints (top, bottom, left, "
                           "right), got " + repr_of(value));
  return {p[0], p[1], p[2], p[3]};
}

double dropout_rate_arg(py::handle value) {
  const std::string expected = "expected a float in [0, 1), got " + repr_of(value);
  if (PyBool_Check(value.ptr()) || is_text(value)) value_error("rate", expected);
  const double rate = PyFloat_AsDouble(value.ptr());
  if (rate == -1.0 && PyErr_Occurred()) {
    PyErr_Clear();
    value_error("rate", expected);
  }
  if (!(rate >= 0.0 && rate < 1.0)) value_error("rate", expected);
  // the kernels compare in float32: a rate just below 1 must not round up to 1
  if (!(static_cast<float>(rate) < 1.0f)) value_error("rate", expected + " (1.0 in float32)");
  return rate;
}

uint64_t u64_arg(py::handle value, const char* arg) {
  if (!PyBool_Check(value.ptr()) && !is_text(value) && PyIndex_Check(value.ptr())) {
    PyObject* as_long = PyNumber_Index(value.ptr());
    if (as_long != nullptr) {
      const unsigned long long x = PyLong_AsUnsignedLongLong(as_long);
      Py_DECREF(as_long);
      if (!(x == static_cast<unsigned long long>(-1) && PyErr_Occurred())) return x;
    }
    PyErr_Clear();
  }
  value_error(arg, "expected an int in [0, 2**64), got " + repr_of(value));
}

void register_args(py::module_& m) {
  export_table<Activation>(m, "ACTIVATIONS");
  export_table<Loss>(m, "LOSSES");
  export_table<Optimizer>(m, "OPTIMIZERS");
  export_table<FillMode>(m, "FILL_MODES");
  m.def("check_dropout_rate", &dropout_rate_arg, py::arg("rate"),
        "rate as a float if the dropout kernels take it (a real number in [0, 1), also in "
        "float32), else ValueError naming rate");
}

}  // namespace cudnn_lite::binding
