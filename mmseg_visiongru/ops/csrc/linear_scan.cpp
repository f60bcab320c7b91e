// First-order linear recurrence h_t = a_t * h_{t-1} + b_t on the CPU.
//
// a, b: (B, L, D) contiguous; h0: (B, D) or empty; returns h: (B, L, D).
// One sequential pass over L per (batch, channel block): O(B*L*D) work and memory, exact up to
// one rounding per output (float32 inputs accumulate in double).  Channels are the innermost,
// contiguous dimension, so the per-step update over a channel block vectorizes.
#include "ops.h"

#include <torch/extension.h>

#include <ATen/Parallel.h>

#include <algorithm>
#include <type_traits>
#include <vector>

namespace {

constexpr int64_t kBlock = 32;  // channels per parallel task

template <typename scalar_t>
void scan_cpu(const scalar_t* a, const scalar_t* b, const scalar_t* h0, scalar_t* h, int64_t B,
              int64_t L, int64_t D, bool reverse) {
  using acc_t = std::conditional_t<std::is_same_v<scalar_t, float>, double, scalar_t>;
  const int64_t blocks = (D + kBlock - 1) / kBlock;
  at::parallel_for(0, B * blocks, 1, [&](int64_t begin, int64_t end) {
    for (int64_t task = begin; task < end; ++task) {
      const int64_t n = task / blocks;
      const int64_t d0 = (task % blocks) * kBlock;
      const int64_t width = std::min(kBlock, D - d0);
      acc_t state[kBlock];
      for (int64_t d = 0; d < width; ++d) state[d] = h0 ? acc_t(h0[n * D + d0 + d]) : acc_t(0);
      for (int64_t s = 0; s < L; ++s) {
        const int64_t t = reverse ? L - 1 - s : s;
        const int64_t offset = (n * L + t) * D + d0;
        for (int64_t d = 0; d < width; ++d) {
          state[d] = acc_t(a[offset + d]) * state[d] + acc_t(b[offset + d]);
          h[offset + d] = scalar_t(state[d]);
        }
      }
    }
  });
}

}  // namespace

torch::Tensor linear_scan(const torch::Tensor& a, const torch::Tensor& b, const torch::Tensor& h0,
                          bool reverse) {
  TORCH_CHECK(a.device().is_cpu() && a.is_contiguous() && b.is_contiguous() && a.dim() == 3 &&
                  a.sizes() == b.sizes() && a.scalar_type() == b.scalar_type(),
              "linear_scan: a and b must be contiguous CPU tensors of one shape (B, L, D)");
  const bool has_h0 = h0.numel() > 0;
  TORCH_CHECK(!has_h0 || (h0.is_contiguous() && h0.scalar_type() == a.scalar_type() &&
                          h0.dim() == 2 && h0.size(0) == a.size(0) && h0.size(1) == a.size(2)),
              "linear_scan: h0 must be a contiguous (B, D) tensor of the same dtype as a");
  auto h = torch::empty_like(a);
  AT_DISPATCH_FLOATING_TYPES(a.scalar_type(), "linear_scan", [&] {
    scan_cpu<scalar_t>(a.data_ptr<scalar_t>(), b.data_ptr<scalar_t>(),
                       has_h0 ? h0.data_ptr<scalar_t>() : nullptr, h.data_ptr<scalar_t>(),
                       a.size(0), a.size(1), a.size(2), reverse);
  });
  return h;
}
