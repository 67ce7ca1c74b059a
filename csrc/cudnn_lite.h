// cudnn_lite.h: every op of the library, declared once.
//
// Conventions (shared by csrc/cpu/*.cpp and csrc/cuda/*.cu, which implement the
// same functions with the same arguments; the CUDA versions take one extra
// trailing argument, the cudaStream_t as a void*):
//   * float32 everywhere, C-contiguous, channels-last like Keras:
//       activations NHWC, conv kernels HWIO (kh, kw, c_in, c_out), dense kernels (in, out).
//   * sizes are int64_t and index arithmetic is 64-bit.
//   * backward functions overwrite their outputs (they never accumulate).
//   * a function given an invalid descriptor throws std::invalid_argument; the
//     binding module validates shapes before calling, so kernels trust them.
// No Python and no CUDA headers here: this header is included by both compilers.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace cudnn_lite {

// ---------------------------------------------------------------------- enums
// Every enum's names, in value order, are its Python vocabulary, written here once:
// EnumNames<E>::names. The binding exports each table as a dict name -> value
// (cudnn_lite._C.ACTIVATIONS, LOSSES, OPTIMIZERS, FILL_MODES, which cudnn_lite.ops and
// cudnn_lite.reference read) and accepts a name or a value for an enum argument; a kernel given
// a value outside its table throws std::invalid_argument (enum_valid).
template <class E>
struct EnumNames;

template <class E>
constexpr int enum_count() {
  return static_cast<int>(sizeof(EnumNames<E>::names) / sizeof(EnumNames<E>::names[0]));
}
template <class E>
constexpr bool enum_valid(E value) {
  return static_cast<int>(value) >= 0 && static_cast<int>(value) < enum_count<E>();
}

// ---------------------------------------------------------------- descriptors

enum class Activation : int {
  linear = 0,
  relu = 1,
  sigmoid = 2,
  tanh = 3,
  leaky_relu = 4,  // y = x if x > 0 else alpha * x
  step = 5,        // y = 1 if x >= 0 else 0; gradient 0
};
template <>
struct EnumNames<Activation> {
  static constexpr const char* names[] = {"linear",     "relu", "sigmoid", "tanh",
                                          "leaky_relu", "step"};
};
static_assert(enum_count<Activation>() == static_cast<int>(Activation::step) + 1,
              "a name per value");
// The activations are defined once, in csrc/common/activation_math.h, and every kernel of both
// compilers computes them with those functions (explicit fmaf, no library maths). Promised:
//   * fused = separate: a producer op with a fused activation (dense_forward, conv2d_forward)
//     returns the bits of the same op with Activation::linear followed by activation_forward,
//     on the CPU and on CUDA;
//   * CPU = CUDA: activation_forward / activation_backward return the same bits on both for the
//     same inputs, except that a NaN result may carry another NaN payload on a GPU.
// Not promised: the producer's linear output itself is not bit-identical between the CPU and
// CUDA (their sums run in different orders), so neither is a fused result. Building with
// fast-math options (-ffast-math, --use_fast_math, -ftz=true) voids both promises.

// What a producer op (conv2d_forward, dense_forward) applies to each output
// element before storing it: y = act(acc + bias[col]).
struct Epilogue {
  const float* bias = nullptr;  // (out_channels) or nullptr
  Activation act = Activation::linear;
  float alpha = 0.0f;           // leaky_relu slope
};

// 2-D convolution over NHWC input with an HWIO kernel.
struct Conv2dDesc {
  int64_t n = 0, h = 0, w = 0, c = 0;  // input (n, h, w, c)
  int64_t kh = 0, kw = 0, k = 0;       // kernel (kh, kw, c, k)
  int64_t stride_h = 1, stride_w = 1;
  int64_t pad_top = 0, pad_bottom = 0, pad_left = 0, pad_right = 0;
  int64_t out_h = 0, out_w = 0;        // output (n, out_h, out_w, k)
};

// 2-D pooling window over NHWC input; padded cells never win a max and are
// not counted by an average (TensorFlow/Keras 'same' semantics).
struct Pool2dDesc {
  int64_t n = 0, h = 0, w = 0, c = 0;  // input (n, h, w, c)
  int64_t pool_h = 1, pool_w = 1;
  int64_t stride_h = 1, stride_w = 1;
  int64_t pad_top = 0, pad_bottom = 0, pad_left = 0, pad_right = 0;
  int64_t out_h = 0, out_w = 0;        // output (n, out_h, out_w, c)
};

// out = floor((in + pad_before + pad_after - window) / stride) + 1, or throws naming `what`.
// The one output-size rule: the binding derives every conv/pool output shape with it (and
// exports it to cudnn_lite.ops as _C.conv2d_geometry, pool2d_geometry, window_geometry).
inline int64_t window_output_size(int64_t in, int64_t window, int64_t stride,
                                  int64_t pad_before, int64_t pad_after,
                                  const char* what) {
  if (in <= 0 || window <= 0 || stride <= 0 || pad_before < 0 || pad_after < 0)
    throw std::invalid_argument(std::string(what) +
                                ": sizes and strides must be positive, paddings non-negative");
  // bound every term so that the sums below cannot overflow int64
  constexpr int64_t kMaxExtent = int64_t(1) << 40;
  if (in > kMaxExtent || window > kMaxExtent || stride > kMaxExtent ||
      pad_before > kMaxExtent || pad_after > kMaxExtent)
    throw std::invalid_argument(std::string(what) +
                                ": a size, stride or padding is too large (limit 2^40)");
  const int64_t padded = in + pad_before + pad_after;
  if (window > padded)
    throw std::invalid_argument(std::string(what) + ": window " + std::to_string(window) +
                                " is larger than the padded input " + std::to_string(padded));
  return (padded - window) / stride + 1;
}

inline Conv2dDesc make_conv2d_desc(int64_t n, int64_t h, int64_t w, int64_t c,
                                   int64_t kh, int64_t kw, int64_t k,
                                   int64_t stride_h, int64_t stride_w,
                                   int64_t pad_top, int64_t pad_bottom,
                                   int64_t pad_left, int64_t pad_right,
                                   const char* what_h = "conv2d height",
                                   const char* what_w = "conv2d width") {
  Conv2dDesc d;
  d.n = n; d.h = h; d.w = w; d.c = c; d.kh = kh; d.kw = kw; d.k = k;
  d.stride_h = stride_h; d.stride_w = stride_w;
  d.pad_top = pad_top; d.pad_bottom = pad_bottom; d.pad_left = pad_left; d.pad_right = pad_right;
  if (n < 0 || c <= 0 || k <= 0) throw std::invalid_argument("conv2d: n must be >= 0, c and k positive");
  d.out_h = window_output_size(h, kh, stride_h, pad_top, pad_bottom, what_h);
  d.out_w = window_output_size(w, kw, stride_w, pad_left, pad_right, what_w);
  return d;
}

inline Pool2dDesc make_pool2d_desc(int64_t n, int64_t h, int64_t w, int64_t c,
                                   int64_t pool_h, int64_t pool_w,
                                   int64_t stride_h, int64_t stride_w,
                                   int64_t pad_top, int64_t pad_bottom,
                                   int64_t pad_left, int64_t pad_right,
                                   const char* what_h = "pool2d height",
                                   const char* what_w = "pool2d width") {
  Pool2dDesc d;
  d.n = n; d.h = h; d.w = w; d.c = c; d.pool_h = pool_h; d.pool_w = pool_w;
  d.stride_h = stride_h; d.stride_w = stride_w;
  d.pad_top = pad_top; d.pad_bottom = pad_bottom; d.pad_left = pad_left; d.pad_right = pad_right;
  if (n < 0 || c <= 0) throw std::invalid_argument("pool2d: n must be >= 0 and c positive");
  d.out_h = window_output_size(h, pool_h, stride_h, pad_top, pad_bottom, what_h);
  d.out_w = window_output_size(w, pool_w, stride_w, pad_left, pad_right, what_w);
  return d;
}

enum class Loss : int {
  categorical_crossentropy = 0,  // -sum t * log(clip(p / sum(p), eps, 1 - eps))
  binary_crossentropy = 1,       // mean over cols of -(t log p + (1-t) log(1-p)), p clipped
  mse = 2,                       // mean over cols of (p - t)^2
  mae = 3,                       // mean over cols of |p - t|
};
template <>
struct EnumNames<Loss> {
  static constexpr const char* names[] = {"categorical_crossentropy", "binary_crossentropy", "mse",
                                          "mae"};
};
static_assert(enum_count<Loss>() == static_cast<int>(Loss::mae) + 1, "a name per value");
constexpr float kLossEpsilon = 1e-7f;  // Keras backend epsilon

// What an affine resampling reads for a tap outside the image (Keras's fill_mode;
// scipy.ndimage's modes with the same names).
enum class FillMode : int {
  nearest = 0,   // the edge pixel:            a a a a | a b c d | d d d d
  constant = 1,  // the value cval:            k k k k | a b c d | k k k k
  reflect = 2,   // half-sample symmetric:     d c b a | a b c d | d c b a
  wrap = 3,      // periodic:                  a b c d | a b c d | a b c d
};
template <>
struct EnumNames<FillMode> {
  static constexpr const char* names[] = {"nearest", "constant", "reflect", "wrap"};
};
static_assert(enum_count<FillMode>() == static_cast<int>(FillMode::wrap) + 1, "a name per value");
// Source coordinates are clamped to +-kAffineCoordLimit before the floor (beyond it the
// float32 grid is coarser than a pixel anyway); a NaN coordinate gives NaN pixels.
constexpr float kAffineCoordLimit = 1073741824.0f;  // 2^30
// Images taller or wider than this have pixel indices that float32 cannot hold exactly.
constexpr int64_t kAffineMaxExtent = int64_t(1) << 24;
// std::invalid_argument unless affine_transform takes x (n, h, w, c) and this fill mode: the one
// check the binding and both kernels make
inline void check_affine_transform(int64_t n, int64_t h, int64_t w, int64_t c, FillMode fill) {
  if (n < 0 || h < 0 || w < 0 || c < 0)
    throw std::invalid_argument("x: sizes must be non-negative");
  if (h > kAffineMaxExtent || w > kAffineMaxExtent)
    throw std::invalid_argument("x: height and width must be at most 2**24 (float32 pixel "
                                "coordinates), got " + std::to_string(h) + " x " +
                                std::to_string(w));
  if (!enum_valid(fill))
    throw std::invalid_argument("fill_mode: unknown fill mode id " +
                                std::to_string(static_cast<int>(fill)));
}

enum class Optimizer : int { sgd = 0, adagrad = 1, rmsprop = 2, adadelta = 3, adam = 4, nadam = 5 };
template <>
struct EnumNames<Optimizer> {
  static constexpr const char* names[] = {"sgd", "adagrad", "rmsprop", "adadelta", "adam", "nadam"};
};
static_assert(enum_count<Optimizer>() == static_cast<int>(Optimizer::nadam) + 1,
              "a name per value");

// One optimizer step for one parameter array, Keras 3 update rules.
// g = grad + 2 * l2 * param  (Keras's l2 regularizer adds l2 * sum(w^2) to the loss)
//   sgd:      momentum == 0: p -= lr g
//             else slot1 = m = momentum m - lr g; p += nesterov ? momentum m - lr g : m
//   adagrad:  slot1 = a += g^2;  p -= lr g / sqrt(a + eps)
//   rmsprop:  slot1 = v = rho v + (1-rho) g^2; inc = lr g / sqrt(v + eps)
//             momentum == 0: p -= inc; else slot2 = m = momentum m + inc; p -= m
//   adadelta: slot1 = ag = rho ag + (1-rho) g^2; d = sqrt(slot2 + eps) / sqrt(ag + eps) * g
//             slot2 = rho slot2 + (1-rho) d^2; p -= lr d
//   adam:     slot1 = m += (g - m)(1-beta1); slot2 = v += (g^2 - v)(1-beta2)
//             p -= c1 m / (sqrt(v) + eps),  c1 = lr sqrt(1-beta2^t) / (1-beta1^t)
//   nadam:    m, v as adam; m_hat = c1 m + c2 g; v_hat = c3 v
//             p -= lr m_hat / (sqrt(v_hat) + eps)
//             c1 = mu_{t+1} / (1 - prod_{t+1}), c2 = (1 - mu_t) / (1 - prod_t), c3 = 1 / (1 - beta2^t)
// The caller (cudnn_lite/optimizers.py) folds learning-rate decay into lr and
// computes the per-step scalars c1..c3.
struct OptimizerStep {
  Optimizer kind = Optimizer::sgd;
  float lr = 0.01f;
  float momentum = 0.0f;
  bool nesterov = false;
  float rho = 0.9f;
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float epsilon = 1e-7f;
  float l2 = 0.0f;
  float c1 = 0.0f, c2 = 0.0f, c3 = 0.0f;
};

// The slots a step's rule reads and writes, and what they hold ("" where unused): the one
// definition the binding, the CPU and the CUDA kernels check against.
struct OptimizerSlots {
  const char* slot1 = "";
  const char* slot2 = "";
};
inline OptimizerSlots optimizer_slots(Optimizer kind, float momentum) {
  OptimizerSlots s;
  switch (kind) {
    case Optimizer::sgd: s.slot1 = momentum != 0.0f ? "momentum" : ""; break;
    case Optimizer::adagrad: s.slot1 = "accumulator"; break;
    case Optimizer::rmsprop:
      s.slot1 = "velocity";
      s.slot2 = momentum != 0.0f ? "momentum" : "";
      break;
    case Optimizer::adadelta:
      s.slot1 = "accumulated grad^2";
      s.slot2 = "accumulated delta^2";
      break;
    case Optimizer::adam:
    case Optimizer::nadam: s.slot1 = "m"; s.slot2 = "v"; break;
  }
  return s;
}
// std::invalid_argument naming the first slot the rule needs but did not get (or the kind)
inline void check_optimizer_step(const OptimizerStep& s, const void* slot1, const void* slot2) {
  if (!enum_valid(s.kind))
    throw std::invalid_argument("kind: unknown optimizer id " +
                                std::to_string(static_cast<int>(s.kind)));
  const OptimizerSlots need = optimizer_slots(s.kind, s.momentum);
  const char* rule = EnumNames<Optimizer>::names[static_cast<int>(s.kind)];
  if (*need.slot1 && slot1 == nullptr)
    throw std::invalid_argument(std::string("slot1: required by ") + rule + " (" + need.slot1 +
                                ")");
  if (*need.slot2 && slot2 == nullptr)
    throw std::invalid_argument(std::string("slot2: required by ") + rule + " (" + need.slot2 +
                                ")");
}

// ------------------------------------------------------------------ CPU ops
namespace cpu {

// threads (OpenMP); 1 in a build without OpenMP
int get_num_threads();
void set_num_threads(int n);
std::string build_info();  // compiler, flags, ISA the kernels were compiled for

// --- matmul (csrc/cpu/sgemm.cpp)
// C(m, n) = alpha * op(A) * op(B) + beta * C, all row-major.
// op(A) is (m, k): A is (m, k) with lda >= k, or (k, m) with lda >= m when trans_a.
// op(B) is (k, n): B is (k, n) with ldb >= n, or (n, k) with ldb >= k when trans_b.
// beta == 0 means C is not read (it may hold NaN).
void sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
           const float* a, int64_t lda, const float* b, int64_t ldb, float beta,
           float* c, int64_t ldc);

// --- dense (csrc/cpu/dense.cpp)
// x (rows, in), w (in, out), y (rows, out): y = epilogue(x @ w)
void dense_forward(int64_t rows, int64_t in, int64_t out, const float* x, const float* w,
                   const Epilogue& ep, float* y);
// dy (rows, cols) -> db (cols): db[j] = sum_i dy[i, j]
void bias_backward(int64_t rows, int64_t cols, const float* dy, float* db);

// --- convolution (csrc/cpu/conv2d.cpp)
// x (n, h, w, c), w (kh, kw, c, k), y (n, out_h, out_w, k): y = epilogue(conv(x, w))
void conv2d_forward(const Conv2dDesc& d, const float* x, const float* w, const Epilogue& ep,
                    float* y);
// dy (n, out_h, out_w, k), w (kh, kw, c, k) -> dx (n, h, w, c)
void conv2d_backward_data(const Conv2dDesc& d, const float* dy, const float* w, float* dx);
// x (n, h, w, c), dy (n, out_h, out_w, k) -> dw (kh, kw, c, k)
void conv2d_backward_filter(const Conv2dDesc& d, const float* x, const float* dy, float* dw);

// --- pooling (csrc/cpu/pool2d.cpp)
// x (n, h, w, c) -> y (n, out_h, out_w, c)
void maxpool2d_forward(const Pool2dDesc& d, const float* x, float* y);
// dy (n, out_h, out_w, c) -> dx (n, h, w, c); each window's gradient goes to
// the first maximum in row-major window order (Keras/TensorFlow on ties)
void maxpool2d_backward(const Pool2dDesc& d, const float* x, const float* dy, float* dx);
void avgpool2d_forward(const Pool2dDesc& d, const float* x, float* y);
void avgpool2d_backward(const Pool2dDesc& d, const float* dy, float* dx);
// x (n, hw, c) -> y (n, c): mean over hw
void global_avgpool_forward(int64_t n, int64_t hw, int64_t c, const float* x, float* y);
// dy (n, c) -> dx (n, hw, c)
void global_avgpool_backward(int64_t n, int64_t hw, int64_t c, const float* dy, float* dx);

// --- elementwise activations (csrc/cpu/activation.cpp); x, y, dy, dx have n elements
void activation_forward(Activation act, float alpha, int64_t n, const float* x, float* y);
// x is the forward input, y the forward output (either may be used)
void activation_backward(Activation act, float alpha, int64_t n, const float* x, const float* y,
                         const float* dy, float* dx);

// --- softmax over the last axis (csrc/cpu/softmax.cpp); (rows, cols)
void softmax_forward(int64_t rows, int64_t cols, const float* x, float* y);
// dx = y * (dy - sum(dy * y))
void softmax_backward(int64_t rows, int64_t cols, const float* y, const float* dy, float* dx);

// --- losses (csrc/cpu/loss.cpp); p (prediction) and t (target) are (rows, cols)
// loss_per_row (rows): the per-sample loss; the batch loss is its mean (Keras)
void loss_forward(Loss loss, int64_t rows, int64_t cols, const float* p, const float* t,
                  float* loss_per_row);
// dp (rows, cols) = gradient of mean(loss_per_row) with respect to p
void loss_backward(Loss loss, int64_t rows, int64_t cols, const float* p, const float* t,
                   float* dp);
// fused softmax + categorical cross-entropy: p = softmax(logits) -> dlogits = (p - t) / rows
void softmax_cross_entropy_backward(int64_t rows, int64_t cols, const float* p, const float* t,
                                    float* dlogits);

// --- batch normalization over the last axis (csrc/cpu/batchnorm.cpp)
// x, y (rows, c) with rows = n*h*w; gamma, beta, moving_*, save_* (c)
// training: mean, biased var of the batch; y = gamma (x - mean) invstd + beta,
// invstd = 1 / sqrt(var + eps); moving = moving * momentum + batch * (1 - momentum)
void batchnorm_forward_train(int64_t rows, int64_t c, const float* x, const float* gamma,
                             const float* beta, float eps, float momentum, float* moving_mean,
                             float* moving_var, float* y, float* save_mean, float* save_invstd);
void batchnorm_forward_inference(int64_t rows, int64_t c, const float* x, const float* gamma,
                                 const float* beta, const float* moving_mean,
                                 const float* moving_var, float eps, float* y);
void batchnorm_backward(int64_t rows, int64_t c, const float* x, const float* dy,
                        const float* gamma, const float* save_mean, const float* save_invstd,
                        float* dx, float* dgamma, float* dbeta);

// --- dropout (csrc/cpu/dropout.cpp); n elements
// keep element i iff philox_uniform(seed, offset + i) >= rate (csrc/common/philox.h);
// y = keep ? x / (1 - rate) : 0. The backward recomputes the same mask.
void dropout_forward(int64_t n, const float* x, float* y, float rate, uint64_t seed,
                     uint64_t offset);
void dropout_backward(int64_t n, const float* dy, float* dx, float rate, uint64_t seed,
                      uint64_t offset);

// --- affine resampling of images (csrc/cpu/affine_transform.cpp)
// x, y (n, h, w, c); matrices (n, 6), row i = (m0 .. m5) of image i. Output pixel
// (r, col) of image i samples x[i] at
//   src_r = fma(m1, col, fma(m0, r, m2)),  src_c = fma(m4, col, fma(m3, r, m5))
// (scipy.ndimage.affine_transform's convention), bilinearly: with r0 = floor(src_r),
// fr = src_r - r0 (c0, fc likewise), taps (r0 + dr, c0 + dc) weigh
// (dr ? fr : 1 - fr) * (dc ? fc : 1 - fc); a tap outside the image reads what `fill`
// says. Taps of weight exactly 0 are skipped and the sum is fma(weight, value, acc) from
// acc = -0.0f in the order (0,0), (0,1), (1,0), (1,1), so identity and flip matrices
// copy pixels exactly (Inf/NaN neighbours included) and CPU and CUDA agree bit for bit.
// y must not overlap x or matrices.
void affine_transform(int64_t n, int64_t h, int64_t w, int64_t c, const float* x,
                      const float* matrices, FillMode fill, float cval, float* y);

// --- optimizers (csrc/cpu/optimizer.cpp); in place on n elements
// slot1/slot2 may be nullptr where the rule does not use them
void optimizer_update(const OptimizerStep& s, int64_t n, float* param, const float* grad,
                      float* slot1, float* slot2);

}  // namespace cpu

// ----------------------------------------------------------------- CUDA ops
// Same functions and arguments as cpu::, plus a trailing stream (cudaStream_t
// passed as void*). Compiled only when the build has CUDA
// (CUDNN_LITE_WITH_CUDA is defined). Errors throw cudnn_lite::cuda::Error.
namespace cuda {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

int device_count();            // 0 when no driver or no device (never throws)
std::string runtime_version(); // e.g. "13.0"
void synchronize();
// The device ordinal a pointer's memory belongs to (device, managed or pinned host memory);
// -1 for ordinary host memory that CUDA does not know. Throws Error on a driver error.
int pointer_device(const void* p);
int current_device();
// Make `stream` wait (on the device, no host sync) for the work queued so far on `producer`.
void stream_wait(void* stream, void* producer);

void sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
           const float* a, int64_t lda, const float* b, int64_t ldb, float beta,
           float* c, int64_t ldc, void* stream);
void dense_forward(int64_t rows, int64_t in, int64_t out, const float* x, const float* w,
                   const Epilogue& ep, float* y, void* stream);
void bias_backward(int64_t rows, int64_t cols, const float* dy, float* db, void* stream);
void conv2d_forward(const Conv2dDesc& d, const float* x, const float* w, const Epilogue& ep,
                    float* y, void* stream);
void conv2d_backward_data(const Conv2dDesc& d, const float* dy, const float* w, float* dx,
                          void* stream);
void conv2d_backward_filter(const Conv2dDesc& d, const float* x, const float* dy, float* dw,
                            void* stream);
void maxpool2d_forward(const Pool2dDesc& d, const float* x, float* y, void* stream);
void maxpool2d_backward(const Pool2dDesc& d, const float* x, const float* dy, float* dx,
                        void* stream);
void avgpool2d_forward(const Pool2dDesc& d, const float* x, float* y, void* stream);
void avgpool2d_backward(const Pool2dDesc& d, const float* dy, float* dx, void* stream);
void global_avgpool_forward(int64_t n, int64_t hw, int64_t c, const float* x, float* y,
                            void* stream);
void global_avgpool_backward(int64_t n, int64_t hw, int64_t c, const float* dy, float* dx,
                             void* stream);
void activation_forward(Activation act, float alpha, int64_t n, const float* x, float* y,
                        void* stream);
void activation_backward(Activation act, float alpha, int64_t n, const float* x, const float* y,
                         const float* dy, float* dx, void* stream);
void softmax_forward(int64_t rows, int64_t cols, const float* x, float* y, void* stream);
void softmax_backward(int64_t rows, int64_t cols, const float* y, const float* dy, float* dx,
                      void* stream);
void loss_forward(Loss loss, int64_t rows, int64_t cols, const float* p, const float* t,
                  float* loss_per_row, void* stream);
void loss_backward(Loss loss, int64_t rows, int64_t cols, const float* p, const float* t,
                   float* dp, void* stream);
void softmax_cross_entropy_backward(int64_t rows, int64_t cols, const float* p, const float* t,
                                    float* dlogits, void* stream);
void batchnorm_forward_train(int64_t rows, int64_t c, const float* x, const float* gamma,
                             const float* beta, float eps, float momentum, float* moving_mean,
                             float* moving_var, float* y, float* save_mean, float* save_invstd,
                             void* stream);
void batchnorm_forward_inference(int64_t rows, int64_t c, const float* x, const float* gamma,
                                 const float* beta, const float* moving_mean,
                                 const float* moving_var, float eps, float* y, void* stream);
void batchnorm_backward(int64_t rows, int64_t c, const float* x, const float* dy,
                        const float* gamma, const float* save_mean, const float* save_invstd,
                        float* dx, float* dgamma, float* dbeta, void* stream);
void dropout_forward(int64_t n, const float* x, float* y, float rate, uint64_t seed,
                     uint64_t offset, void* stream);
void dropout_backward(int64_t n, const float* dy, float* dx, float rate, uint64_t seed,
                      uint64_t offset, void* stream);
void affine_transform(int64_t n, int64_t h, int64_t w, int64_t c, const float* x,
                      const float* matrices, FillMode fill, float cval, float* y, void* stream);
void optimizer_update(const OptimizerStep& s, int64_t n, float* param, const float* grad,
                      float* slot1, float* slot2, void* stream);

}  // namespace cuda
}  // namespace cudnn_lite
