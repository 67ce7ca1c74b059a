// bind_pointwise.cpp: activations, softmax, losses, batch norm, dropout and
// optimizer updates: the ops whose shapes are (rows, cols) or flat.
#include "args.h"
#include "cudnn_lite.h"
#include "tensor.h"

namespace cudnn_lite::binding {

namespace {

// (rows, cols) view of an array whose last axis is cols; a 1-D array is (n, 1)
void rows_cols(const Tensor& t, int64_t* rows, int64_t* cols) {
  if (t.ndim() < 1) throw py::value_error(std::string(t.name) + ": expected at least 1-D, got a scalar");
  *cols = t.ndim() == 1 ? 1 : t.dim(-1);
  *rows = *cols == 0 ? 0 : t.numel() / *cols;
}

// ----------------------------------------------------------- activations

void activation_forward(py::handle x_, py::handle y_, py::handle act, float alpha) {
  Tensor x = tensor_arg(x_, "x"), y = tensor_arg(y_, "out", true);
  expect_same_device({&x, &y});
  expect_same_shape(y, x);
  const Activation a = activation_arg(act);
  if (x.numel() == 0) return;
  CL_LAUNCH(x.gpu, activation_forward, a, alpha, x.numel(), x.data, y.data);
}

void activation_backward(py::handle x_, py::handle y_, py::handle dy_, py::handle dx_,
                         py::handle act, float alpha) {
  Tensor x = tensor_arg(x_, "x"), y = tensor_arg(y_, "y"), dy = tensor_arg(dy_, "dy");
  Tensor dx = tensor_arg(dx_, "out", true);
  expect_same_device({&x, &y, &dy, &dx});
  expect_same_shape(y, x);
  expect_same_shape(dy, x);
  expect_same_shape(dx, x);
  const Activation a = activation_arg(act);
  if (x.numel() == 0) return;
  CL_LAUNCH(x.gpu, activation_backward, a, alpha, x.numel(), x.data, y.data, dy.data, dx.data);
}

// --------------------------------------------------------------- softmax

void softmax_forward(py::handle x_, py::handle y_) {
  Tensor x = tensor_arg(x_, "x"), y = tensor_arg(y_, "out", true);
  expect_same_device({&x, &y});
  expect_same_shape(y, x);
  int64_t rows, cols;
  rows_cols(x, &rows, &cols);
  if (rows == 0) return;
  CL_LAUNCH(x.gpu, softmax_forward, rows, cols, x.data, y.data);
}

void softmax_backward(py::handle y_, py::handle dy_, py::handle dx_) {
  Tensor y = tensor_arg(y_, "y"), dy = tensor_arg(dy_, "dy"), dx = tensor_arg(dx_, "out", true);
  expect_same_device({&y, &dy, &dx});
  expect_same_shape(dy, y);
  expect_same_shape(dx, y);
  int64_t rows, cols;
  rows_cols(y, &rows, &cols);
  if (rows == 0) return;
  CL_LAUNCH(y.gpu, softmax_backward, rows, cols, y.data, dy.data, dx.data);
}

// ---------------------------------------------------------------- losses
// p, t: (batch, ...) -> rows = batch, cols = the rest flattened

void loss_shapes(const Tensor& p, const Tensor& t, Loss loss, int64_t* rows, int64_t* cols) {
  if (p.ndim() < 1) throw py::value_error("p: expected a (batch, ...) array, got a scalar");
  if (loss == Loss::categorical_crossentropy) expect_rank(p, 2, "(batch, classes)");
  expect_same_shape(t, p);
  *rows = p.dim(0);
  *cols = *rows == 0 ? 0 : p.numel() / *rows;
  if (*rows > 0 && *cols == 0) throw py::value_error("p: expected at least one value per sample");
}

void loss_forward(py::handle p_, py::handle t_, py::handle out_, py::handle loss) {
  Tensor p = tensor_arg(p_, "p"), t = tensor_arg(t_, "t"), out = tensor_arg(out_, "out", true);
  expect_same_device({&p, &t, &out});
  const Loss l = enum_arg<Loss>(loss, "loss");
  int64_t rows, cols;
  loss_shapes(p, t, l, &rows, &cols);
  expect_shape(out, {rows});
  if (rows == 0) return;
  CL_LAUNCH(p.gpu, loss_forward, l, rows, cols, p.data, t.data, out.data);
}

void loss_backward(py::handle p_, py::handle t_, py::handle dp_, py::handle loss) {
  Tensor p = tensor_arg(p_, "p"), t = tensor_arg(t_, "t"), dp = tensor_arg(dp_, "out", true);
  expect_same_device({&p, &t, &dp});
  const Loss l = enum_arg<Loss>(loss, "loss");
  int64_t rows, cols;
  loss_shapes(p, t, l, &rows, &cols);
  expect_same_shape(dp, p);
  if (rows == 0) return;
  CL_LAUNCH(p.gpu, loss_backward, l, rows, cols, p.data, t.data, dp.data);
}

void softmax_cross_entropy_backward(py::handle p_, py::handle t_, py::handle d_) {
  Tensor p = tensor_arg(p_, "p"), t = tensor_arg(t_, "t"), d = tensor_arg(d_, "out", true);
  expect_same_device({&p, &t, &d});
  expect_rank(p, 2, "(batch, classes)");
  expect_same_shape(t, p);
  expect_same_shape(d, p);
  if (p.numel() == 0) return;
  CL_LAUNCH(p.gpu, softmax_cross_entropy_backward, p.dim(0), p.dim(1), p.data, t.data, d.data);
}

// ------------------------------------------------------------ batch norm
// x (..., c) is (rows, c); per-channel vectors are (c,)

int64_t bn_channels(const Tensor& x, std::initializer_list<const Tensor*> vectors) {
  if (x.ndim() < 2) throw py::value_error("x: expected a (batch, ..., channels) array, got shape " + shape_str(x.shape));
  const int64_t c = x.dim(-1);
  for (const Tensor* v : vectors) expect_shape(*v, {c});
  return c;
}

void batchnorm_forward_train(py::handle x_, py::handle gamma_, py::handle beta_, py::handle mm_,
                             py::handle mv_, py::handle y_, py::handle sm_, py::handle si_,
                             float eps, float momentum) {
  Tensor x = tensor_arg(x_, "x"), gamma = tensor_arg(gamma_, "gamma"), beta = tensor_arg(beta_, "beta");
  Tensor mm = tensor_arg(mm_, "moving_mean", true), mv = tensor_arg(mv_, "moving_var", true);
  Tensor y = tensor_arg(y_, "out", true), sm = tensor_arg(sm_, "save_mean", true);
  Tensor si = tensor_arg(si_, "save_invstd", true);
  expect_same_device({&x, &gamma, &beta, &mm, &mv, &y, &sm, &si});
  const int64_t c = bn_channels(x, {&gamma, &beta, &mm, &mv, &sm, &si});
  expect_same_shape(y, x);
  if (!(eps > 0.0f)) throw py::value_error("epsilon: expected a positive float");
  if (!(momentum >= 0.0f && momentum <= 1.0f)) throw py::value_error("momentum: expected a float in [0, 1]");
  const int64_t rows = c == 0 ? 0 : x.numel() / c;
  if (rows == 0) throw py::value_error("x: batch statistics need at least one sample (got an empty batch)");
  CL_LAUNCH(x.gpu, batchnorm_forward_train, rows, c, x.data, gamma.data, beta.data, eps, momentum,
            mm.data, mv.data, y.data, sm.data, si.data);
}

void batchnorm_forward_inference(py::handle x_, py::handle gamma_, py::handle beta_, py::handle mm_,
                                 py::handle mv_, py::handle y_, float eps) {
  Tensor x = tensor_arg(x_, "x"), gamma = tensor_arg(gamma_, "gamma"), beta = tensor_arg(beta_, "beta");
  Tensor mm = tensor_arg(mm_, "moving_mean"), mv = tensor_arg(mv_, "moving_var");
  Tensor y = tensor_arg(y_, "out", true);
  expect_same_device({&x, &gamma, &beta, &mm, &mv, &y});
  const int64_t c = bn_channels(x, {&gamma, &beta, &mm, &mv});
  expect_same_shape(y, x);
  if (!(eps > 0.0f)) throw py::value_error("epsilon: expected a positive float");
  const int64_t rows = c == 0 ? 0 : x.numel() / c;
  if (rows == 0) return;
  CL_LAUNCH(x.gpu, batchnorm_forward_inference, rows, c, x.data, gamma.data, beta.data, mm.data,
            mv.data, eps, y.data);
}

void batchnorm_backward(py::handle x_, py::handle dy_, py::handle gamma_, py::handle sm_,
                        py::handle si_, py::handle dx_, py::handle dgamma_, py::handle dbeta_) {
  Tensor x = tensor_arg(x_, "x"), dy = tensor_arg(dy_, "dy"), gamma = tensor_arg(gamma_, "gamma");
  Tensor sm = tensor_arg(sm_, "save_mean"), si = tensor_arg(si_, "save_invstd");
  Tensor dx = tensor_arg(dx_, "out", true), dgamma = tensor_arg(dgamma_, "dgamma", true);
  Tensor dbeta = tensor_arg(dbeta_, "dbeta", true);
  expect_same_device({&x, &dy, &gamma, &sm, &si, &dx, &dgamma, &dbeta});
  const int64_t c = bn_channels(x, {&gamma, &sm, &si, &dgamma, &dbeta});
  expect_same_shape(dy, x);
  expect_same_shape(dx, x);
  const int64_t rows = c == 0 ? 0 : x.numel() / c;
  if (rows == 0) throw py::value_error("x: batch norm backward needs at least one sample (got an empty batch)");
  CL_LAUNCH(x.gpu, batchnorm_backward, rows, c, x.data, dy.data, gamma.data, sm.data, si.data,
            dx.data, dgamma.data, dbeta.data);
}

// --------------------------------------------------------------- dropout

// the rate, seed and offset of a call over n elements
struct DropoutArgs {
  float rate;
  uint64_t seed, offset;
};
DropoutArgs dropout_args(py::handle rate, py::handle seed, py::handle offset, int64_t n) {
  DropoutArgs a{static_cast<float>(dropout_rate_arg(rate)), u64_arg(seed, "seed"),
                u64_arg(offset, "offset")};
  // element indices offset .. offset + n - 1 must not wrap around 2^64
  if (a.offset > UINT64_MAX - static_cast<uint64_t>(n))
    throw py::value_error("offset: offset + number of elements must stay below 2**64");
  return a;
}

void dropout_forward(py::handle x_, py::handle y_, py::handle rate, py::handle seed,
                     py::handle offset) {
  Tensor x = tensor_arg(x_, "x"), y = tensor_arg(y_, "out", true);
  expect_same_device({&x, &y});
  expect_same_shape(y, x);
  const DropoutArgs a = dropout_args(rate, seed, offset, x.numel());
  if (x.numel() == 0) return;
  CL_LAUNCH(x.gpu, dropout_forward, x.numel(), x.data, y.data, a.rate, a.seed, a.offset);
}

void dropout_backward(py::handle dy_, py::handle dx_, py::handle rate, py::handle seed,
                      py::handle offset) {
  Tensor dy = tensor_arg(dy_, "dy"), dx = tensor_arg(dx_, "out", true);
  expect_same_device({&dy, &dx});
  expect_same_shape(dx, dy);
  const DropoutArgs a = dropout_args(rate, seed, offset, dy.numel());
  if (dy.numel() == 0) return;
  CL_LAUNCH(dy.gpu, dropout_backward, dy.numel(), dy.data, dx.data, a.rate, a.seed, a.offset);
}

// ------------------------------------------------------------ optimizers

void optimizer_update(py::handle param_, py::handle grad_, py::handle slot1_, py::handle slot2_,
                      py::handle kind, float lr, float momentum, bool nesterov, float rho,
                      float beta1, float beta2, float epsilon, float l2, float c1, float c2,
                      float c3) {
  Tensor param = tensor_arg(param_, "param", true), grad = tensor_arg(grad_, "grad");
  Tensor slot1 = optional_tensor_arg(slot1_, "slot1", true);
  Tensor slot2 = optional_tensor_arg(slot2_, "slot2", true);
  expect_same_device({&param, &grad, &slot1, &slot2});
  expect_same_shape(grad, param);
  OptimizerStep s;
  s.kind = enum_arg<Optimizer>(kind, "kind");
  s.lr = lr; s.momentum = momentum; s.nesterov = nesterov; s.rho = rho;
  s.beta1 = beta1; s.beta2 = beta2; s.epsilon = epsilon; s.l2 = l2;
  s.c1 = c1; s.c2 = c2; s.c3 = c3;
  check_optimizer_step(s, slot1.data, slot2.data);  // the slots the rule needs (cudnn_lite.h)
  if (slot1.data) expect_same_shape(slot1, param);
  if (slot2.data) expect_same_shape(slot2, param);
  if (param.numel() == 0) return;
  CL_LAUNCH(param.gpu, optimizer_update, s, param.numel(), param.data, grad.data, slot1.data,
            slot2.data);
}

}  // namespace

void register_pointwise(py::module_& m) {
  using py::arg;
  m.def("activation_forward", &activation_forward, arg("x"), arg("out"), arg("activation"), arg("alpha"));
  m.def("activation_backward", &activation_backward, arg("x"), arg("y"), arg("dy"), arg("out"),
        arg("activation"), arg("alpha"));
  m.def("softmax_forward", &softmax_forward, arg("x"), arg("out"));
  m.def("softmax_backward", &softmax_backward, arg("y"), arg("dy"), arg("out"));
  m.def("loss_forward", &loss_forward, arg("p"), arg("t"), arg("out"), arg("loss"));
  m.def("loss_backward", &loss_backward, arg("p"), arg("t"), arg("out"), arg("loss"));
  m.def("softmax_cross_entropy_backward", &softmax_cross_entropy_backward, arg("p"), arg("t"), arg("out"));
  m.def("batchnorm_forward_train", &batchnorm_forward_train);
  m.def("batchnorm_forward_inference", &batchnorm_forward_inference);
  m.def("batchnorm_backward", &batchnorm_backward);
  m.def("dropout_forward", &dropout_forward, arg("x"), arg("out"), arg("rate"), arg("seed"), arg("offset"));
  m.def("dropout_backward", &dropout_backward, arg("dy"), arg("out"), arg("rate"), arg("seed"), arg("offset"));
  m.def("optimizer_update", &optimizer_update, arg("param"), arg("grad"), arg("slot1").none(true),
        arg("slot2").none(true), arg("kind"), arg("lr"), arg("momentum"), arg("nesterov"), arg("rho"),
        arg("beta1"), arg("beta2"), arg("epsilon"), arg("l2"), arg("c1"), arg("c2"), arg("c3"));
}

}  // namespace cudnn_lite::binding
