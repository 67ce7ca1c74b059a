// shapes.cpp: the ops' shape rules (see shapes.h) and their Python face, the geometry helpers
// of cudnn_lite._C that cudnn_lite.ops calls before it allocates an output.
#include "shapes.h"

#include <string>

#include "args.h"

namespace cudnn_lite::binding {

void expect_conv_shapes(const Shape& x, const char* x_name, const Shape& w, const char* w_name) {
  expect_rank(x, x_name, 4, "(batch, height, width, channels)");
  expect_rank(w, w_name, 4, "(kh, kw, in_channels, filters)");
  if (w[2] != x[3])
    throw py::value_error(std::string(w_name) + ": expected in_channels " + std::to_string(x[3]) +
                          " (the input's last axis), got kernel shape " + shape_str(w));
}

Conv2dDesc conv2d_desc(const Shape& x, const char* x_name, const Shape& w, const char* w_name,
                       std::array<int64_t, 2> strides, std::array<int64_t, 4> pads,
                       const char* window) {
  expect_conv_shapes(x, x_name, w, w_name);
  return make_conv2d_desc(x[0], x[1], x[2], x[3], w[0], w[1], w[3], strides[0], strides[1],
                          pads[0], pads[1], pads[2], pads[3], window ? window : "conv2d height",
                          window ? window : "conv2d width");
}

Pool2dDesc pool2d_desc(const Shape& x, const char* x_name, std::array<int64_t, 2> window,
                       std::array<int64_t, 2> strides, std::array<int64_t, 4> pads,
                       const char* window_name) {
  expect_rank(x, x_name, 4, "(batch, height, width, channels)");
  return make_pool2d_desc(x[0], x[1], x[2], x[3], window[0], window[1], strides[0], strides[1],
                          pads[0], pads[1], pads[2], pads[3],
                          window_name ? window_name : "pool2d height",
                          window_name ? window_name : "pool2d width");
}

Shape matmul_output_shape(const Shape& a, const char* a_name, const Shape& b, const char* b_name,
                          bool trans_a, bool trans_b) {
  expect_rank(a, a_name, 2, "matrix");
  expect_rank(b, b_name, 2, "matrix");
  const int64_t m = trans_a ? a[1] : a[0], k = trans_a ? a[0] : a[1];
  const int64_t n = trans_b ? b[0] : b[1];
  const Shape want = trans_b ? Shape{n, k} : Shape{k, n};
  if (b != want)
    throw py::value_error(std::string(b_name) + ": expected shape " + shape_str(want) + ", got " +
                          shape_str(b));
  return {m, n};
}

Shape dense_output_shape(const Shape& x, const char* x_name, const Shape& w, const char* w_name) {
  expect_rank(x, x_name, 2, "(batch, features)");
  expect_rank(w, w_name, 2, "(in, out)");
  if (w[0] != x[1])
    throw py::value_error(std::string(w_name) + ": expected shape " + shape_str({x[1], w[1]}) +
                          " (in = x's features), got " + shape_str(w));
  return {x[0], w[1]};
}

namespace {

py::tuple as_tuple(const Shape& s) {
  py::tuple t(s.size());
  for (size_t i = 0; i < s.size(); ++i) t[i] = s[i];
  return t;
}

// ((stride_h, stride_w, pad_top, pad_bottom, pad_left, pad_right), (n, out_h, out_w, k)):
// the geometry arguments of _C.conv2d_* and the output shape, from the user's values
py::tuple conv2d_geometry(py::handle x_shape, py::handle w_shape, py::handle strides,
                          py::handle padding, const char* x_name, const char* w_name) {
  const Shape x = shape_arg(x_shape, x_name), w = shape_arg(w_shape, w_name);
  expect_conv_shapes(x, x_name, w, w_name);
  const auto s = positive_pair_arg(strides, "strides");
  const auto p = padding_arg(padding, x[1], x[2], {w[0], w[1]}, s);
  const Conv2dDesc d = conv2d_desc(x, x_name, w, w_name, s, p, w_name);
  return py::make_tuple(as_tuple({s[0], s[1], p[0], p[1], p[2], p[3]}),
                        as_tuple({d.n, d.out_h, d.out_w, d.k}));
}

// ((pool_h, pool_w, stride_h, stride_w, pad_top, pad_bottom, pad_left, pad_right),
//  (n, out_h, out_w, c)) for _C.*pool2d_*
py::tuple pool2d_geometry(py::handle x_shape, py::handle pool_size, py::handle strides,
                          py::handle padding, const char* x_name) {
  const Shape x = shape_arg(x_shape, x_name);
  expect_rank(x, x_name, 4, "(batch, height, width, channels)");
  const auto win = positive_pair_arg(pool_size, "pool_size");
  const auto s = positive_pair_arg(strides, "strides");
  const auto p = padding_arg(padding, x[1], x[2], win, s);
  const Pool2dDesc d = pool2d_desc(x, x_name, win, s, p, "pool_size");
  return py::make_tuple(as_tuple({win[0], win[1], s[0], s[1], p[0], p[1], p[2], p[3]}),
                        as_tuple({d.n, d.out_h, d.out_w, d.c}));
}

// ((window_h, window_w, stride_h, stride_w, pad_top, pad_bottom, pad_left, pad_right),
//  (out_h, out_w)) of a window over an image of height x width
py::tuple window_geometry(int64_t height, int64_t width, py::handle window, py::handle strides,
                          py::handle padding, const char* window_name) {
  const auto win = positive_pair_arg(window, window_name);
  const auto s = positive_pair_arg(strides, "strides");
  const auto p = padding_arg(padding, height, width, win, s);
  const int64_t oh = window_output_size(height, win[0], s[0], p[0], p[1], window_name);
  const int64_t ow = window_output_size(width, win[1], s[1], p[2], p[3], window_name);
  return py::make_tuple(as_tuple({win[0], win[1], s[0], s[1], p[0], p[1], p[2], p[3]}),
                        as_tuple({oh, ow}));
}

// (top, bottom, left, right): the padding alone (a window may be larger than the input)
py::tuple window_padding(int64_t height, int64_t width, py::handle window, py::handle strides,
                         py::handle padding, const char* window_name) {
  const auto win = positive_pair_arg(window, window_name);
  const auto s = positive_pair_arg(strides, "strides");
  const auto p = padding_arg(padding, height, width, win, s);
  return as_tuple({p[0], p[1], p[2], p[3]});
}

}  // namespace

void register_shapes(py::module_& m) {
  using py::arg;
  m.def("conv2d_geometry", &conv2d_geometry, arg("x_shape"), arg("w_shape"), arg("strides"),
        arg("padding"), arg("x_name") = "x", arg("w_name") = "w",
        "((stride_h, stride_w, pad_top, pad_bottom, pad_left, pad_right), output shape)");
  m.def("pool2d_geometry", &pool2d_geometry, arg("x_shape"), arg("pool_size"), arg("strides"),
        arg("padding"), arg("x_name") = "x",
        "((pool_h, pool_w, stride_h, stride_w, pad_top, pad_bottom, pad_left, pad_right), "
        "output shape)");
  m.def("window_geometry", &window_geometry, arg("height"), arg("width"), arg("window"),
        arg("strides"), arg("padding"), arg("window_name"),
        "((window_h, window_w, stride_h, stride_w, pads...), (out_h, out_w))");
  m.def("window_padding", &window_padding, arg("height"), arg("width"), arg("window"),
        arg("strides"), arg("padding"), arg("window_name"), "(top, bottom, left, right)");
  m.def(
      "matmul_output_shape",
      [](py::handle a, py::handle b, bool trans_a, bool trans_b) {
        return as_tuple(
            matmul_output_shape(shape_arg(a, "a"), "a", shape_arg(b, "b"), "b", trans_a, trans_b));
      },
      arg("a_shape"), arg("b_shape"), arg("trans_a"), arg("trans_b"),
      "(m, n) of op(a) @ op(b) (sgemm)");
  m.def(
      "dense_output_shape",
      [](py::handle x, py::handle w) {
        return as_tuple(dense_output_shape(shape_arg(x, "x"), "x", shape_arg(w, "w"), "w"));
      },
      arg("x_shape"), arg("w_shape"), "(rows, out) of x (rows, in) @ w (in, out)");
  m.def(
      "image_shape",
      [](py::handle shape, const char* name) {
        const Shape s = shape_arg(shape, name);
        expect_rank(s, name, 4, "(batch, height, width, channels)");
        return as_tuple(s);
      },
      arg("shape"), arg("name"), "shape, if it is 4-D (batch, height, width, channels)");
}

}  // namespace cudnn_lite::binding
