// minGRU's gates and scan in one pass over the data, for one or more scan directions at once.
//
// proj: (B, L, 2 * I * K) contiguous, per direction k the channels [hidden_k (I), gate_k (I)];
// reverse: K flags. Per direction: z = sigmoid(gate), g = candidate(hidden) (u + 0.5 for u >= 0,
// sigmoid(u) below) and h_t = (1 - z_t) * h_{t-1} + z_t * g_t, h_{-1} = 0, run from the last
// token to the first for a reversed direction. h: (B, L, I * K), [h_1, ..., h_K].
//
// The backward recomputes h in the scan order, keeping it in the hidden channels of the gradient
// it is about to write, then runs against the scan order: dL/db_t = dL/dh_t + a_{t+1} dL/db_{t+1}
// (b = z * g, a = 1 - z), dL/da_t = dL/db_t * h_{t-1}, and the chain rule to gate and hidden.
// The states accumulate in double for float inputs, like the plain scan.  The per-channel loops
// are written to vectorize (built with -fno-trapping-math, which lets the compiler turn the
// selects below into masks): no libm calls, no std::min/max.  With GCC on x86-64 they are
// compiled twice, for AVX2 + FMA and for the baseline, and picked at load time by the CPU.
#include "ops.h"

#include <torch/extension.h>

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

namespace {

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define VGRU_MULTIVERSION __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define VGRU_MULTIVERSION
#endif

constexpr int64_t kBlock = 256;  // channels per parallel task: whole rows, for the prefetcher

// exp(x) for float within a few ulp, written so that a loop over it vectorizes (no libm call):
// x = n ln2 + r with |r| <= ln2 / 2, exp(r) by the Cephes expf polynomial, 2^n from exponent bits.
inline float exp_vec(float x) {
  x = x < -87.f ? -87.f : x;
  x = x > 88.f ? 88.f : x;
  const float n = (x * 1.44269504088896341f + 12582912.f) - 12582912.f;  // round(x / ln 2)
  const float r = (x - n * 0.693359375f) + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof(scale));
  return p * scale;
}

inline double exp_vec(double x) { return std::exp(x); }  // double is for tests: exact, not fast

// The gates of one element: z = sigmoid(gate) and a = 1 - z from one exp(-|gate|) (no
// cancellation near z = 1), g = candidate(u) and its derivative.
template <typename T>
struct Gates {
  T z, a, g, dg;
  inline Gates(T u, T gate) {
    const T e = exp_vec(gate >= T(0) ? -gate : gate);
    const T s = T(1) / (T(1) + e);
    z = gate >= T(0) ? s : e * s;
    a = gate >= T(0) ? e * s : s;
    const T eu = exp_vec(u < T(0) ? u : T(0));
    const T sig = eu / (T(1) + eu);
    g = u >= T(0) ? u + T(0.5) : sig;
    dg = u >= T(0) ? T(1) : sig * (T(1) - sig);
  }
};

struct Layout {
  int64_t B, L, I, K, blocks;
  int64_t proj_row() const { return 2 * I * K; }
  int64_t h_row() const { return I * K; }
};

Layout layout_of(const torch::Tensor& proj, const std::vector<bool>& reverse) {
  const int64_t K = static_cast<int64_t>(reverse.size());
  TORCH_CHECK(proj.device().is_cpu() && proj.is_contiguous() && proj.dim() == 3 && K > 0 &&
                  proj.size(2) % (2 * K) == 0,
              "min_gru_scan: proj must be a contiguous CPU tensor (B, L, 2 * I * K) for K = ",
              K, " directions, got ", proj.sizes());
  const int64_t I = proj.size(2) / (2 * K);
  return {proj.size(0), proj.size(1), I, K, (I + kBlock - 1) / kBlock};
}

// Runs fn(n, k, d0, width) over the (batch, direction, channel block) tasks in parallel.
template <typename Fn>
void for_each_block(const Layout& s, const Fn& fn) {
  at::parallel_for(0, s.B * s.K * s.blocks, 1, [&](int64_t begin, int64_t end) {
    for (int64_t task = begin; task < end; ++task) {
      const int64_t block = task % s.blocks, nk = task / s.blocks;
      const int64_t d0 = block * kBlock;
      fn(nk / s.K, nk % s.K, d0, std::min(kBlock, s.I - d0));
    }
  });
}

constexpr int64_t kAhead = 4;  // rows prefetched ahead: a row is a page or more apart

// Asks for the cache lines of width values at p (a row kAhead steps ahead in the scan).
template <typename T>
inline void prefetch(const T* p, int64_t width) {
  for (int64_t d = 0; d < width; d += 64 / sizeof(T)) __builtin_prefetch(p + d);
}

// h of direction k over channels [d0, d0 + width) into out (row stride out_row) in scan order.
template <typename T>
VGRU_MULTIVERSION void scan_block(const T* proj, T* out, int64_t out_row, const Layout& s,
                                  int64_t n, int64_t k, int64_t d0, int64_t width,
                                  bool reverse) {
  using acc_t = std::conditional_t<std::is_same_v<T, float>, double, T>;
  acc_t state[kBlock] = {};
  for (int64_t step = 0; step < s.L; ++step) {
    const int64_t t = reverse ? s.L - 1 - step : step;
    const T* hidden = proj + (n * s.L + t) * s.proj_row() + 2 * s.I * k + d0;
    const T* gate = hidden + s.I;
    T* h = out + (n * s.L + t) * out_row + d0;
    if (step + kAhead < s.L) {
      const int64_t ahead = (reverse ? -kAhead : kAhead) * s.proj_row();
      prefetch(hidden + ahead, width);
      prefetch(gate + ahead, width);
    }
#pragma omp simd
    for (int64_t d = 0; d < width; ++d) {
      const Gates<T> q(hidden[d], gate[d]);
      state[d] = acc_t(q.a) * state[d] + acc_t(q.z * q.g);
      h[d] = T(state[d]);
    }
  }
}

template <typename T>
void forward_cpu(const T* proj, T* h, const Layout& s, const std::vector<bool>& reverse) {
  for_each_block(s, [&](int64_t n, int64_t k, int64_t d0, int64_t width) {
    scan_block(proj, h + s.I * k, s.h_row(), s, n, k, d0, width, reverse[k]);
  });
}

// The gradient of direction k over channels [d0, d0 + width): h in the scan order, then dL/db
// against it.
template <typename T>
VGRU_MULTIVERSION void backward_block(const T* proj, const T* grad_h, T* grad_proj,
                                      const Layout& s, int64_t n, int64_t k, int64_t d0,
                                      int64_t width, bool rev) {
  using acc_t = std::conditional_t<std::is_same_v<T, float>, double, T>;
  const int64_t offset = 2 * s.I * k;  // this direction's hidden channels in proj / grad_proj
  // h_t, parked in grad_proj's hidden channels until step t + 1 has read it as h_{t-1}.
  scan_block(proj, grad_proj + offset, s.proj_row(), s, n, k, d0, width, rev);
  acc_t grad_b[kBlock] = {}, a_next[kBlock] = {};
  const T zeros[kBlock] = {};  // h_{-1}
  for (int64_t step = s.L - 1; step >= 0; --step) {
    const int64_t t = rev ? s.L - 1 - step : step;
    const int64_t row = (n * s.L + t) * s.proj_row() + offset + d0;
    const T* hidden = proj + row;
    const T* gate = hidden + s.I;
    const T* dh = grad_h + (n * s.L + t) * s.h_row() + s.I * k + d0;
    const T* h_prev = step > 0 ? grad_proj + row + (rev ? 1 : -1) * s.proj_row() : zeros;
    T* d_hidden = grad_proj + row;
    T* d_gate = d_hidden + s.I;
    if (step >= kAhead) {
      const int64_t ahead = (rev ? kAhead : -kAhead) * s.proj_row();
      prefetch(hidden + ahead, width);
      prefetch(gate + ahead, width);
      prefetch(d_hidden + ahead, width);
      prefetch(dh + (rev ? kAhead : -kAhead) * s.h_row(), width);
    }
#pragma omp simd
    for (int64_t d = 0; d < width; ++d) {
      const Gates<T> q(hidden[d], gate[d]);
      grad_b[d] = acc_t(dh[d]) + a_next[d] * grad_b[d];
      a_next[d] = acc_t(q.a);
      const T gb = T(grad_b[d]);
      const T grad_a = gb * h_prev[d];
      // a = sigmoid(-gate), b = z * g: da/dgate = -z a, db/dgate = z a g, db/dg = z.
      d_gate[d] = q.z * q.a * (gb * q.g - grad_a);
      d_hidden[d] = gb * q.z * q.dg;
    }
  }
}

template <typename T>
void backward_cpu(const T* proj, const T* grad_h, T* grad_proj, const Layout& s,
                  const std::vector<bool>& reverse) {
  for_each_block(s, [&](int64_t n, int64_t k, int64_t d0, int64_t width) {
    backward_block(proj, grad_h, grad_proj, s, n, k, d0, width, reverse[k]);
  });
}

}  // namespace

torch::Tensor min_gru_scan_forward(const torch::Tensor& proj, const std::vector<bool>& reverse) {
  const Layout s = layout_of(proj, reverse);
  auto h = torch::empty({s.B, s.L, s.h_row()}, proj.options());
  AT_DISPATCH_FLOATING_TYPES(proj.scalar_type(), "min_gru_scan_forward", [&] {
    forward_cpu<scalar_t>(proj.data_ptr<scalar_t>(), h.data_ptr<scalar_t>(), s, reverse);
  });
  return h;
}

torch::Tensor min_gru_scan_backward(const torch::Tensor& proj, const torch::Tensor& grad_h,
                                    const std::vector<bool>& reverse) {
  const Layout s = layout_of(proj, reverse);
  TORCH_CHECK(grad_h.is_contiguous() && grad_h.scalar_type() == proj.scalar_type() &&
                  grad_h.sizes() == torch::IntArrayRef({s.B, s.L, s.h_row()}),
              "min_gru_scan: grad_h must be a contiguous (B, L, I * K) tensor like h");
  auto grad_proj = torch::empty_like(proj);
  AT_DISPATCH_FLOATING_TYPES(proj.scalar_type(), "min_gru_scan_backward", [&] {
    backward_cpu<scalar_t>(proj.data_ptr<scalar_t>(), grad_h.data_ptr<scalar_t>(),
                           grad_proj.data_ptr<scalar_t>(), s, reverse);
  });
  return grad_proj;
}
