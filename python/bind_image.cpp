// bind_image.cpp: image ops on NHWC batches: affine_transform (per-image affine
// resampling, the kernel behind preprocessing.image.ImageDataGenerator).
#include "args.h"
#include "cudnn_lite.h"
#include "tensor.h"

namespace cudnn_lite::binding {

namespace {

// ValueError naming `out` when its bytes overlap those of `in`
void expect_no_overlap(const Tensor& out, const Tensor& in) {
  if (out.numel() == 0 || in.numel() == 0) return;
  const auto o0 = reinterpret_cast<uintptr_t>(out.data), i0 = reinterpret_cast<uintptr_t>(in.data);
  const auto o1 = o0 + static_cast<uintptr_t>(out.numel()) * sizeof(float);
  const auto i1 = i0 + static_cast<uintptr_t>(in.numel()) * sizeof(float);
  if (o0 < i1 && i0 < o1)
    throw py::value_error(std::string(out.name) + ": must not overlap " + in.name +
                          " (the op reads neighbouring pixels; pass a separate output array)");
}

// x (n, h, w, c), matrices (n, 6) -> out (n, h, w, c)
void affine_transform(py::handle x_, py::handle matrices_, py::handle out_, py::handle fill,
                      float cval) {
  Tensor x = tensor_arg(x_, "x"), matrices = tensor_arg(matrices_, "matrices");
  Tensor out = tensor_arg(out_, "out", true);
  expect_same_device({&x, &matrices, &out});
  expect_rank(x, 4, "(n, h, w, c)");
  expect_shape(matrices, {x.dim(0), 6});
  expect_same_shape(out, x);
  const FillMode f = enum_arg<FillMode>(fill, "fill_mode");
  check_affine_transform(x.dim(0), x.dim(1), x.dim(2), x.dim(3), f);
  expect_no_overlap(out, x);
  expect_no_overlap(out, matrices);
  if (x.numel() == 0) return;
  CL_LAUNCH(x.gpu, affine_transform, x.dim(0), x.dim(1), x.dim(2), x.dim(3), x.data,
            matrices.data, f, cval, out.data);
}

}  // namespace

void register_image(py::module_& m) {
  using py::arg;
  m.def("affine_transform", &affine_transform, arg("x"), arg("matrices"), arg("out"),
        arg("fill_mode"), arg("cval"));
}

}  // namespace cudnn_lite::binding
