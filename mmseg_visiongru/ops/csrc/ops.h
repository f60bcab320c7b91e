// The CPU kernel of mmseg_visiongru.ops (min_gru_scan.cpp).
#pragma once

#include <torch/extension.h>

#include <vector>

// minGRU's gates and scan of K = reverse.size() directions: proj (B, L, 2IK) -> h (B, L, IK).
torch::Tensor min_gru_scan_forward(const torch::Tensor& proj, const std::vector<bool>& reverse);

// The gradient of min_gru_scan_forward with respect to proj, (B, L, 2IK).
torch::Tensor min_gru_scan_backward(const torch::Tensor& proj, const torch::Tensor& grad_h,
                                    const std::vector<bool>& reverse);
