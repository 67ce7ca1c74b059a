// bind_layers.cpp: matmul, dense, convolution and pooling.
// Each binding derives the descriptor from the input shapes (shapes.h: the rules ops.py also
// calls), checks every other array against it, then launches the CPU or CUDA kernel.
#include "args.h"
#include "cudnn_lite.h"
#include "shapes.h"
#include "tensor.h"

namespace cudnn_lite::binding {

namespace {

// ---------------------------------------------------------------- matmul

// c (m, n) = alpha * op(a) @ op(b) + beta * c
void sgemm(py::handle a_, py::handle b_, py::handle c_, bool trans_a, bool trans_b, float alpha,
           float beta) {
  Tensor a = tensor_arg(a_, "a"), b = tensor_arg(b_, "b"), c = tensor_arg(c_, "out", true);
  expect_same_device({&a, &b, &c});
  const Shape c_shape = matmul_output_shape(a.shape, a.name, b.shape, b.name, trans_a, trans_b);
  const int64_t m = c_shape[0], n = c_shape[1], k = trans_a ? a.dim(0) : a.dim(1);
  expect_shape(c, c_shape);
  if (m == 0 || n == 0) return;
  CL_LAUNCH(a.gpu, sgemm, trans_a, trans_b, m, n, k, alpha, a.data, a.dim(1), b.data, b.dim(1),
            beta, c.data, n);
}

// y (rows, out) = act(x (rows, in) @ w (in, out) + b (out))
void dense_forward(py::handle x_, py::handle w_, py::handle b_, py::handle y_, py::handle act,
                   float alpha) {
  Tensor x = tensor_arg(x_, "x"), w = tensor_arg(w_, "w"), y = tensor_arg(y_, "out", true);
  Tensor b = optional_tensor_arg(b_, "b");
  expect_same_device({&x, &w, &b, &y});
  const Shape y_shape = dense_output_shape(x.shape, x.name, w.shape, w.name);
  const int64_t rows = y_shape[0], in = x.dim(1), out = y_shape[1];
  if (b.data) expect_shape(b, {out});
  expect_shape(y, y_shape);
  Epilogue ep;
  ep.bias = b.data;
  ep.act = activation_arg(act);
  ep.alpha = alpha;
  if (rows == 0 || out == 0) return;
  CL_LAUNCH(x.gpu, dense_forward, rows, in, out, x.data, w.data, ep, y.data);
}

// db (cols) = column sums of dy (rows, cols)
void bias_backward(py::handle dy_, py::handle db_) {
  Tensor dy = tensor_arg(dy_, "dy"), db = tensor_arg(db_, "out", true);
  expect_same_device({&dy, &db});
  expect_rank(dy, 2, "(rows, cols)");
  expect_shape(db, {dy.dim(1)});
  if (dy.dim(1) == 0) return;
  CL_LAUNCH(dy.gpu, bias_backward, dy.dim(0), dy.dim(1), dy.data, db.data);
}

// ----------------------------------------------------------- convolution

Conv2dDesc conv_desc(const Tensor& x, const Tensor& w, int64_t sh, int64_t sw, int64_t pt,
                     int64_t pb, int64_t pl, int64_t pr) {
  return conv2d_desc(x.shape, x.name, w.shape, w.name, {sh, sw}, {pt, pb, pl, pr});
}

std::vector<int64_t> conv_out_shape(const Conv2dDesc& d) { return {d.n, d.out_h, d.out_w, d.k}; }

void conv2d_forward(py::handle x_, py::handle w_, py::handle b_, py::handle y_, int64_t sh,
                    int64_t sw, int64_t pt, int64_t pb, int64_t pl, int64_t pr, py::handle act,
                    float alpha) {
  Tensor x = tensor_arg(x_, "x"), w = tensor_arg(w_, "w"), y = tensor_arg(y_, "out", true);
  Tensor b = optional_tensor_arg(b_, "b");
  expect_same_device({&x, &w, &b, &y});
  const Conv2dDesc d = conv_desc(x, w, sh, sw, pt, pb, pl, pr);
  if (b.data) expect_shape(b, {d.k});
  expect_shape(y, conv_out_shape(d));
  Epilogue ep;
  ep.bias = b.data;
  ep.act = activation_arg(act);
  ep.alpha = alpha;
  if (d.n == 0) return;
  CL_LAUNCH(x.gpu, conv2d_forward, d, x.data, w.data, ep, y.data);
}

void conv2d_backward_data(py::handle dy_, py::handle w_, py::handle dx_, int64_t sh, int64_t sw,
                          int64_t pt, int64_t pb, int64_t pl, int64_t pr) {
  Tensor dy = tensor_arg(dy_, "dy"), w = tensor_arg(w_, "w"), dx = tensor_arg(dx_, "out", true);
  expect_same_device({&dy, &w, &dx});
  const Conv2dDesc d = conv_desc(dx, w, sh, sw, pt, pb, pl, pr);
  expect_shape(dy, conv_out_shape(d));
  if (d.n == 0) return;
  CL_LAUNCH(dy.gpu, conv2d_backward_data, d, dy.data, w.data, dx.data);
}

void conv2d_backward_filter(py::handle x_, py::handle dy_, py::handle dw_, int64_t sh, int64_t sw,
                            int64_t pt, int64_t pb, int64_t pl, int64_t pr) {
  Tensor x = tensor_arg(x_, "x"), dy = tensor_arg(dy_, "dy"), dw = tensor_arg(dw_, "out", true);
  expect_same_device({&x, &dy, &dw});
  const Conv2dDesc d = conv_desc(x, dw, sh, sw, pt, pb, pl, pr);
  expect_shape(dy, conv_out_shape(d));
  CL_LAUNCH(x.gpu, conv2d_backward_filter, d, x.data, dy.data, dw.data);
}

// --------------------------------------------------------------- pooling

Pool2dDesc pool_desc(const Tensor& x, int64_t ph, int64_t pw, int64_t sh, int64_t sw, int64_t pt,
                     int64_t pb, int64_t pl, int64_t pr) {
  return pool2d_desc(x.shape, x.name, {ph, pw}, {sh, sw}, {pt, pb, pl, pr});
}

std::vector<int64_t> pool_out_shape(const Pool2dDesc& d) { return {d.n, d.out_h, d.out_w, d.c}; }

void maxpool2d_forward(py::handle x_, py::handle y_, int64_t ph, int64_t pw, int64_t sh,
                       int64_t sw, int64_t pt, int64_t pb, int64_t pl, int64_t pr) {
  Tensor x = tensor_arg(x_, "x"), y = tensor_arg(y_, "out", true);
  expect_same_device({&x, &y});
  const Pool2dDesc d = pool_desc(x, ph, pw, sh, sw, pt, pb, pl, pr);
  expect_shape(y, pool_out_shape(d));
  if (d.n == 0) return;
  CL_LAUNCH(x.gpu, maxpool2d_forward, d, x.data, y.data);
}

void maxpool2d_backward(py::handle x_, py::handle dy_, py::handle dx_, int64_t ph, int64_t pw,
                        int64_t sh, int64_t sw, int64_t pt, int64_t pb, int64_t pl, int64_t pr) {
  Tensor x = tensor_arg(x_, "x"), dy = tensor_arg(dy_, "dy"), dx = tensor_arg(dx_, "out", true);
  expect_same_device({&x, &dy, &dx});
  const Pool2dDesc d = pool_desc(x, ph, pw, sh, sw, pt, pb, pl, pr);
  expect_shape(dy, pool_out_shape(d));
  expect_same_shape(dx, x);
  if (d.n == 0) return;
  CL_LAUNCH(x.gpu, maxpool2d_backward, d, x.data, dy.data, dx.data);
}

void avgpool2d_forward(py::handle x_, py::handle y_, int64_t ph, int64_t pw, int64_t sh,
                       int64_t sw, int64_t pt, int64_t pb, int64_t pl, int64_t pr) {
  Tensor x = tensor_arg(x_, "x"), y = tensor_arg(y_, "out", true);
  expect_same_device({&x, &y});
  const Pool2dDesc d = pool_desc(x, ph, pw, sh, sw, pt, pb, pl, pr);
  expect_shape(y, pool_out_shape(d));
  if (d.n == 0) return;
  CL_LAUNCH(x.gpu, avgpool2d_forward, d, x.data, y.data);
}

void avgpool2d_backward(py::handle dy_, py::handle dx_, int64_t ph, int64_t pw, int64_t sh,
                        int64_t sw, int64_t pt, int64_t pb, int64_t pl, int64_t pr) {
  Tensor dy = tensor_arg(dy_, "dy"), dx = tensor_arg(dx_, "out", true);
  expect_same_device({&dy, &dx});
  const Pool2dDesc d = pool_desc(dx, ph, pw, sh, sw, pt, pb, pl, pr);
  expect_shape(dy, pool_out_shape(d));
  if (d.n == 0) return;
  CL_LAUNCH(dy.gpu, avgpool2d_backward, d, dy.data, dx.data);
}

// x (n, h, w, c) -> y (n, c)
void global_avgpool_forward(py::handle x_, py::handle y_) {
  Tensor x = tensor_arg(x_, "x"), y = tensor_arg(y_, "out", true);
  expect_same_device({&x, &y});
  expect_rank(x, 4, "(batch, height, width, channels)");
  expect_shape(y, {x.dim(0), x.dim(3)});
  const int64_t hw = x.dim(1) * x.dim(2);
  if (hw == 0) throw py::value_error("x: global average pooling needs height and width > 0");
  if (x.numel() == 0) return;
  CL_LAUNCH(x.gpu, global_avgpool_forward, x.dim(0), hw, x.dim(3), x.data, y.data);
}

void global_avgpool_backward(py::handle dy_, py::handle dx_) {
  Tensor dy = tensor_arg(dy_, "dy"), dx = tensor_arg(dx_, "out", true);
  expect_same_device({&dy, &dx});
  expect_rank(dx, 4, "(batch, height, width, channels)");
  expect_shape(dy, {dx.dim(0), dx.dim(3)});
  if (dx.numel() == 0) return;
  CL_LAUNCH(dy.gpu, global_avgpool_backward, dx.dim(0), dx.dim(1) * dx.dim(2), dx.dim(3), dy.data,
            dx.data);
}

}  // namespace

void register_layers(py::module_& m) {
  using py::arg;
  m.def("sgemm", &sgemm, arg("a"), arg("b"), arg("out"), arg("trans_a"), arg("trans_b"),
        arg("alpha"), arg("beta"), "out = alpha * op(a) @ op(b) + beta * out");
  m.def("dense_forward", &dense_forward, arg("x"), arg("w"), arg("b").none(true), arg("out"),
        arg("activation"), arg("alpha"));
  m.def("bias_backward", &bias_backward, arg("dy"), arg("out"));
  m.def("conv2d_forward", &conv2d_forward, arg("x"), arg("w"), arg("b").none(true), arg("out"),
        arg("stride_h"), arg("stride_w"), arg("pad_top"), arg("pad_bottom"), arg("pad_left"),
        arg("pad_right"), arg("activation"), arg("alpha"));
  m.def("conv2d_backward_data", &conv2d_backward_data, arg("dy"), arg("w"), arg("out"),
        arg("stride_h"), arg("stride_w"), arg("pad_top"), arg("pad_bottom"), arg("pad_left"),
        arg("pad_right"));
  m.def("conv2d_backward_filter", &conv2d_backward_filter, arg("x"), arg("dy"), arg("out"),
        arg("stride_h"), arg("stride_w"), arg("pad_top"), arg("pad_bottom"), arg("pad_left"),
        arg("pad_right"));
  m.def("maxpool2d_forward", &maxpool2d_forward);
  m.def("maxpool2d_backward", &maxpool2d_backward);
  m.def("avgpool2d_forward", &avgpool2d_forward);
  m.def("avgpool2d_backward", &avgpool2d_backward);
  m.def("global_avgpool_forward", &global_avgpool_forward);
  m.def("global_avgpool_backward", &global_avgpool_backward);
}

}  // namespace cudnn_lite::binding
