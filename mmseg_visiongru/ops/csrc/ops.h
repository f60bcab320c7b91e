// The CPU kernels of mmseg_visiongru.ops (see linear_scan.cpp and min_gru_scan.cpp).
#pragma once

#include <torch/extension.h>

#include <vector>

// h_t = a_t * h_{t-1} + b_t over dim 1; a, b: (B, L, D), h0: (B, D) or empty.
torch::Tensor linear_scan(const torch::Tensor& a, const torch::Tensor& b, const torch::Tensor& h0,
                          bool reverse);

// minGRU's gates and scan of K = reverse.size() directions: proj (B, L, 2IK) -> h (B, L, IK).
torch::Tensor min_gru_scan_forward(const torch::Tensor& proj, const std::vector<bool>& reverse);

// The gradient of min_gru_scan_forward with respect to proj, (B, L, 2IK).
torch::Tensor min_gru_scan_backward(const torch::Tensor& proj, const torch::Tensor& grad_h,
                                    const std::vector<bool>& reverse);
