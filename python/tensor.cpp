// tensor.cpp: array checks and pointer extraction (see tensor.h).
#include "tensor.h"

#include <sstream>

#ifdef CUDNN_LITE_CUDA_EMULATED
#include "emulator.h"
#endif

namespace cudnn_lite::binding {

std::string shape_str(const std::vector<int64_t>& shape) {
  std::ostringstream s;
  s << "(";
  for (size_t i = 0; i < shape.size(); ++i) s << (i ? ", " : "") << shape[i];
  if (shape.size() == 1) s << ",";
  s << ")";
  return s.str();
}

namespace {

[[noreturn]] void type_error(const std::string& msg) { throw py::type_error(msg); }
[[noreturn]] void value_error(const std::string& msg) { throw py::value_error(msg); }

std::string type_name(py::handle obj) { return py::str(py::type::handle_of(obj).attr("__name__")); }

Tensor numpy_tensor(py::handle obj, const char* name, bool writable) {
  auto arr = py::reinterpret_borrow<py::array>(obj);
  if (!arr.dtype().equal(py::dtype::of<float>()))
    type_error(std::string(name) + ": expected dtype float32, got " +
               std::string(py::str(arr.dtype())) + " (convert with .astype(numpy.float32))");
  if (!(arr.flags() & py::array::c_style))
    value_error(std::string(name) + ": expected a C-contiguous array, got a strided view " +
                "(use numpy.ascontiguousarray)");
  if (writable && !arr.writeable())
    value_error(std::string(name) + ": output array is read-only");
  Tensor t;
  t.name = name;
  t.data = static_cast<float*>(const_cast<void*>(arr.data()));
  t.shape.assign(arr.shape(), arr.shape() + arr.ndim());
  return t;
}

Tensor cuda_tensor(py::handle obj, const char* name, bool writable) {
#ifndef CUDNN_LITE_WITH_CUDA
  (void)obj;
  (void)writable;
  throw py::type_error(std::string(name) +
                       ": got a GPU array, but this cudnn_lite build has no CUDA kernels "
                       "(cudnn_lite.with_cuda is False); pass a NumPy array or rebuild with nvcc");
#else
  py::dict cai = obj.attr("__cuda_array_interface__");
  const std::string typestr = py::str(cai["typestr"]);
  if (typestr != "<f4")
    type_error(std::string(name) + ": expected dtype float32, got typestr '" + typestr +
               "' (convert with .astype(cupy.float32))");
  Tensor t;
  t.name = name;
  t.gpu = true;
  for (auto s : py::tuple(cai["shape"])) t.shape.push_back(s.cast<int64_t>());
  if (cai.contains("strides") && !cai["strides"].is_none()) {
    int64_t expected = 4;
    py::tuple strides = cai["strides"];
    for (int64_t i = t.ndim() - 1; i >= 0; --i) {
      if (t.shape[i] != 1 && strides[i].cast<int64_t>() != expected)
        value_error(std::string(name) + ": expected a C-contiguous array, got a strided view " +
                    "(use cupy.ascontiguousarray)");
      expected *= t.shape[i];
    }
  }
  py::tuple data = cai["data"];
  if (writable && data[1].cast<bool>()) value_error(std::string(name) + ": output array is read-only");
  t.data = reinterpret_cast<float*>(data[0].cast<uintptr_t>());
  if (t.data != nullptr) {  // an empty array may have no allocation at all
    const int where = cuda::pointer_device(t.data), current = cuda::current_device();
    if (where < 0)
      value_error(std::string(name) + ": its __cuda_array_interface__ points to host memory, "
                  "not GPU memory; pass a NumPy array for the CPU or a cupy.ndarray");
    if (where != current)
      value_error(std::string(name) + ": lives on GPU " + std::to_string(where) +
                  ", but the current CUDA device is GPU " + std::to_string(current) +
                  "; run the op inside `with cupy.cuda.Device(" + std::to_string(where) +
                  "):` or copy the array there");
    // __cuda_array_interface__ v3: the producer's stream (None: already synchronised). The
    // kernels run on CuPy's current stream; when that differs, it waits for the producer on
    // the device. 1 and 0 both name the legacy default stream.
    if (cai.contains("stream") && !cai["stream"].is_none()) {
      uintptr_t producer = cai["stream"].cast<uintptr_t>();
      uintptr_t consumer = reinterpret_cast<uintptr_t>(current_stream());
      if (producer == 0) producer = 1;
      if (consumer == 0) consumer = 1;
      if (producer != consumer)
        cuda::stream_wait(reinterpret_cast<void*>(consumer), reinterpret_cast<void*>(producer));
    }
  }
  return t;
#endif
}

}  // namespace

Tensor tensor_arg(py::handle obj, const char* name, bool writable) {
  if (py::isinstance<py::array>(obj)) return numpy_tensor(obj, name, writable);
  if (py::hasattr(obj, "__cuda_array_interface__")) return cuda_tensor(obj, name, writable);
  type_error(std::string(name) + ": expected a float32 numpy.ndarray or cupy.ndarray, got " +
             type_name(obj));
}

Tensor optional_tensor_arg(py::handle obj, const char* name, bool writable) {
  if (obj.is_none()) {
    Tensor t;
    t.name = name;
    return t;
  }
  return tensor_arg(obj, name, writable);
}

void expect_rank(const std::vector<int64_t>& shape, const char* name, int64_t rank,
                 const char* layout) {
  if (static_cast<int64_t>(shape.size()) != rank)
    value_error(std::string(name) + ": expected a " + std::to_string(rank) + "-D " + layout +
                " array, got shape " + shape_str(shape));
}

void expect_rank(const Tensor& t, int64_t rank, const char* layout) {
  expect_rank(t.shape, t.name, rank, layout);
}

void expect_shape(const Tensor& t, const std::vector<int64_t>& expected) {
  if (t.shape != expected)
    value_error(std::string(t.name) + ": expected shape " + shape_str(expected) + ", got " +
                shape_str(t.shape));
}

void expect_same_shape(const Tensor& t, const Tensor& like) {
  if (t.shape != like.shape)
    value_error(std::string(t.name) + ": expected the shape of " + like.name + ", " +
                shape_str(like.shape) + ", got " + shape_str(t.shape));
}

void expect_same_device(std::initializer_list<const Tensor*> tensors) {
  const Tensor* first = nullptr;
  for (const Tensor* t : tensors) {
    if (t->data == nullptr && t->shape.empty()) continue;  // an absent optional
    if (!first) {
      first = t;
    } else if (t->gpu != first->gpu) {
      auto where = [](const Tensor* x) { return x->gpu ? "a CuPy (GPU) array" : "a NumPy (CPU) array"; };
      value_error(std::string(t->name) + ": expected " + where(first) + " like " + first->name +
                  ", got " + where(t) + "; all arrays of one op must live on the same device");
    }
  }
}

#ifdef CUDNN_LITE_CUDA_EMULATED
// the emulated device has no CuPy: its current stream is the emulator's (emulator.py sets it)
void* current_stream() { return emulator::current_stream(); }
#else
void* current_stream() {
  static py::object* get_stream = nullptr;  // leaked on purpose: no teardown at exit
  if (!get_stream)
    get_stream = new py::object(py::module_::import("cupy.cuda").attr("get_current_stream"));
  return reinterpret_cast<void*>((*get_stream)().attr("ptr").cast<uintptr_t>());
}
#endif

}  // namespace cudnn_lite::binding
