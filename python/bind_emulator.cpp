// bind_emulator.cpp: the emulated CUDA device, seen from Python (emulated build only).
//
//   _C.emulator_device_buffer(nbytes)   a uint8 NumPy array over emulator device memory,
//                                        freed when the array and its views are gone
//   _C.emulator_is_device_pointer(ptr)   inside a live device allocation?
//   _C.emulator_stream_create() / _destroy(ptr) / _set_current_stream(ptr) / _current_stream()
//   _C.emulator_options() / emulator_configure(**options)   schedules, block order, check, ...
//   _C.emulator_stats()                  launches, blocks, threads, switches, failures
//   _C.emulator_selftest_cases() / emulator_selftest(name)   kernels with planted undefined
//                                        behaviour: the message each launch fails with
// cudnn_lite/emulator.py builds its CuPy-shaped arrays on these.
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include "tensor.h"

#ifdef CUDNN_LITE_CUDA_EMULATED
#include "emulator.h"
#endif

namespace cudnn_lite::binding {

#ifdef CUDNN_LITE_CUDA_EMULATED
namespace emu = cudnn_lite::emulator;

namespace {

py::array device_buffer(int64_t nbytes) {
  if (nbytes < 0) throw py::value_error("nbytes: expected a non-negative size");
  const size_t n = nbytes == 0 ? 1 : static_cast<size_t>(nbytes);
  void* p = emu::device_malloc(n);
  if (p == nullptr) {
    const std::string msg = "emulated device: out of memory allocating " + std::to_string(n) +
                            " bytes (" + std::to_string(emu::device_bytes_in_use()) +
                            " in use; CUDNN_LITE_EMU_MEMORY_MB sets the size)";
    PyErr_SetString(PyExc_MemoryError, msg.c_str());
    throw py::error_already_set();
  }
  py::capsule owner(p, [](void* q) { emu::device_free(q); });
  return py::array(py::dtype::of<uint8_t>(), {static_cast<py::ssize_t>(n)}, {1}, p, owner);
}

py::dict options_dict(const emu::Options& o) {
  py::dict d;
  d["schedule"] = emu::schedule_name(o.schedule);
  d["block_order"] = emu::block_order_name(o.block_order);
  d["check_schedule"] = o.check ? emu::schedule_name(o.check_schedule) : "none";
  d["seed"] = o.seed;
  d["sms"] = o.sms;
  d["stack_kb"] = o.stack_bytes / 1024;
  d["memory_mb"] = o.memory_bytes >> 20;
  return d;
}

void configure(const py::kwargs& kw) {
  emu::Options o = emu::options();
  for (auto item : kw) {
    const std::string key = py::str(item.first);
    py::handle v = item.second;
    try {
      if (key == "schedule") {
        o.schedule = emu::parse_schedule(py::str(v));
      } else if (key == "block_order") {
        o.block_order = emu::parse_block_order(py::str(v));
      } else if (key == "check_schedule") {
        const std::string s = py::str(v);
        o.check = s != "none";
        if (o.check) o.check_schedule = emu::parse_schedule(s);
      } else if (key == "seed") {
        o.seed = v.cast<uint64_t>();
      } else if (key == "sms") {
        o.sms = v.cast<int>();
      } else if (key == "stack_kb") {
        o.stack_bytes = v.cast<size_t>() * 1024;
      } else if (key == "memory_mb") {
        o.memory_bytes = v.cast<size_t>() << 20;
      } else {
        throw py::type_error("emulator_configure: unknown option '" + key +
                             "' (schedule, block_order, check_schedule, seed, sms, stack_kb, "
                             "memory_mb)");
      }
    } catch (const py::cast_error&) {
      throw py::type_error("emulator_configure: " + key + " must be a non-negative int");
    }
  }
  emu::configure(o);  // std::invalid_argument -> ValueError
}

}  // namespace

void register_emulator(py::module_& m) {
  m.def("emulator_device_buffer", &device_buffer, py::arg("nbytes"),
        "uint8 array over emulated device memory (freed with the array)");
  m.def("emulator_is_device_pointer",
        [](uintptr_t p) { return emu::find_allocation(reinterpret_cast<void*>(p), nullptr); },
        py::arg("ptr"));
  m.def("emulator_stream_create", [] { return reinterpret_cast<uintptr_t>(emu::create_stream()); });
  m.def("emulator_stream_destroy", [](uintptr_t s) {
    if (!emu::destroy_stream(reinterpret_cast<void*>(s)))
      throw py::value_error("emulator_stream_destroy: not a live stream");
  });
  m.def("emulator_set_current_stream", [](uintptr_t s) {
    if (!emu::valid_stream(reinterpret_cast<void*>(s)))
      throw py::value_error("emulator_set_current_stream: not a live stream");
    emu::set_current_stream(reinterpret_cast<void*>(s));
  });
  m.def("emulator_current_stream",
        [] { return reinterpret_cast<uintptr_t>(emu::current_stream()); });
  m.def("emulator_options", [] { return options_dict(emu::options()); });
  m.def("emulator_configure", &configure,
        "Set emulator options: schedule, block_order, check_schedule ('none' or a schedule), "
        "seed, sms, stack_kb, memory_mb");
  m.def("emulator_stats", [] {
    const emu::Stats s = emu::stats();
    py::dict d;
    d["launches"] = s.launches;
    d["blocks"] = s.blocks;
    d["threads"] = s.threads;
    d["switches"] = s.switches;
    d["checked_launches"] = s.checked_launches;
    d["failures"] = s.failures;
    d["device_bytes_in_use"] = emu::device_bytes_in_use();
    return d;
  });
  m.def("emulator_selftest_cases", &emu::selftest_cases);
  m.def("emulator_selftest", [](const std::string& name) {
    py::gil_scoped_release release;
    return emu::run_selftest(name);
  });
}

#else

void register_emulator(py::module_&) {}

#endif

}  // namespace cudnn_lite::binding
