import os

import torch

# Without a GPU the Triton kernels run in Triton's interpreter on CPU tensors.  The flag is read
# when a kernel module is imported, so it is set here, before any test imports one.
if not torch.cuda.is_available():
    os.environ.setdefault('TRITON_INTERPRET', '1')
