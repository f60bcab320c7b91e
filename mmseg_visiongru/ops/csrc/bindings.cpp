// Python bindings of the CPU kernel: the extension module mmseg_visiongru.ops.kernels_cpu.
#include "ops.h"

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("min_gru_scan_forward", &min_gru_scan_forward,
        "minGRU gates and scan of K directions: proj (B, L, 2IK) -> h (B, L, IK) (CPU)");
  m.def("min_gru_scan_backward", &min_gru_scan_backward,
        "gradient of min_gru_scan_forward with respect to proj (CPU)");
}
