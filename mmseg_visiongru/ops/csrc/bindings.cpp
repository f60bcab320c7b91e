// Python bindings of the CPU kernels: the extension module mmseg_visiongru._ext.
#include "ops.h"

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("linear_scan", &linear_scan, "h_t = a_t * h_{t-1} + b_t over dim 1 (CPU)");
  m.def("min_gru_scan_forward", &min_gru_scan_forward,
        "minGRU gates and scan of K directions: proj (B, L, 2IK) -> h (B, L, IK) (CPU)");
  m.def("min_gru_scan_backward", &min_gru_scan_backward,
        "gradient of min_gru_scan_forward with respect to proj (CPU)");
}
