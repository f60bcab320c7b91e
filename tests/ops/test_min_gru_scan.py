"""min_gru_scan on every backend against the float64 reference (the recurrence token by token).

Without a GPU the Triton kernels run in Triton's interpreter on CPU tensors (tests/conftest.py
sets TRITON_INTERPRET=1); it scans element by element, so the Triton cases use narrow channel
blocks and short sequences.  With a GPU they run on it with the real launch configs
(tests/ops/test_min_gru_triton.py tests each of those, and compiles them for sm_90).
"""
import pytest
import torch

from mmseg_visiongru.ops import min_gru_scan, min_gru_scan_naive, set_backend
from mmseg_visiongru.ops.backend import TRITON_PROBLEM, kernels_cpu, resolve
from mmseg_visiongru.ops.min_gru import triton as triton_backend

from ..helpers import rel_err

DEVICE = 'cuda' if torch.cuda.is_available() else 'cpu'
# The CPU kernel where it is built (always in this repository's install; tools/gpu_benchmark.sh
# runs these tests on a GPU machine from the source tree, without it).
CPU_BACKENDS = ['cpp', 'torch'] if kernels_cpu is not None else ['torch']
# The Triton kernels need torch >= 2.4 and Triton >= 3.0 (the classic stack has neither).
TRITON = ['triton'] if TRITON_PROBLEM is None else []
BACKENDS = CPU_BACKENDS + TRITON if DEVICE == 'cpu' else ['torch'] + TRITON
DIRECTIONS = [(False, ), (True, ), (False, True)]


@pytest.fixture(autouse=True)
def narrow_triton_blocks(monkeypatch):
    """4-channel Triton blocks in the interpreter; the GPU keeps the real configs."""
    if DEVICE == 'cpu':
        narrow = triton_backend.Config(64, 4, 4, 3, 4)
        monkeypatch.setattr(triton_backend, 'CONFIGS', (((None, None), narrow, narrow), ))


def make_proj(L, K, I=3, B=2, dtype=torch.float64, seed=0):
    g = torch.Generator().manual_seed(seed)
    # Gates around -3 keep a long memory (1 - z near 0.95): the hardest case for rounding.
    proj = torch.randn(B, L, 2 * I * K, generator=g, dtype=torch.float64)
    for k in range(K):
        proj[..., (2 * k + 1) * I:(2 * k + 2) * I] -= 3
    return proj.to(DEVICE, dtype)


def reference(proj, reverse, grad_h):
    """h and dL/dproj in float64 by autograd through the token-by-token recurrence."""
    proj = proj.detach().double().requires_grad_()
    h = min_gru_scan_naive(proj, reverse)
    grad, = torch.autograd.grad(h, proj, grad_h.double())
    return h.detach(), grad


def run(proj, reverse, grad_h, backend):
    proj = proj.detach().requires_grad_()
    h = min_gru_scan(proj, reverse, backend=backend)
    grad, = torch.autograd.grad(h, proj, grad_h)
    return h.detach(), grad


@pytest.mark.parametrize('backend', BACKENDS)
@pytest.mark.parametrize('reverse', DIRECTIONS)
@pytest.mark.parametrize('L', [1, 2, 7, 64, 1000])
def test_float32_matches_float64_reference(backend, reverse, L):
    if backend == 'triton' and L == 1000 and reverse != (False, True):
        pytest.skip('one Triton case at L = 1000 (both directions) keeps the interpreter fast')
    proj = make_proj(L, len(reverse), dtype=torch.float32)
    grad_h = torch.randn(proj.shape[0], L, proj.shape[-1] // 2, device=DEVICE)
    h_ref, grad_ref = reference(proj, reverse, grad_h)
    h, grad = run(proj, reverse, grad_h, backend)
    assert h.dtype == grad.dtype == torch.float32
    assert h.shape == h_ref.shape and grad.shape == proj.shape
    assert rel_err(h, h_ref) < 1e-5
    assert rel_err(grad, grad_ref) < 1e-5


@pytest.mark.parametrize('backend', BACKENDS)
@pytest.mark.parametrize('reverse', [(False, True), (True, False, True)])
def test_gradcheck_float64(backend, reverse):
    # Triton: gradcheck's fast mode (a few random directions instead of every element), as
    # the interpreter runs each of the many forward passes slowly.
    proj = 2 * make_proj(7, len(reverse), I=2)
    assert torch.autograd.gradcheck(lambda p: min_gru_scan(p, reverse, backend=backend),
                                    proj.requires_grad_(), fast_mode=backend == 'triton')


def test_reference_gradcheck():
    # The ground truth's own gradient, by autograd through the token loop.
    proj = 2 * make_proj(5, 2, I=2)
    assert torch.autograd.gradcheck(lambda p: min_gru_scan_naive(p, (False, True)),
                                    proj.requires_grad_())


@pytest.mark.parametrize('backend', ['torch'] + TRITON)
def test_bfloat16_accumulates_in_float32(backend):
    # 1000 steps with 1 - z near 0.95: a bfloat16 state would drift by far more than 1e-2.
    proj = make_proj(1000, 2, dtype=torch.bfloat16)
    grad_h = torch.randn(2, 1000, 6, device=DEVICE, dtype=torch.bfloat16)
    h_ref, grad_ref = reference(proj, (False, True), grad_h)
    h, grad = run(proj, (False, True), grad_h, backend)
    assert h.dtype == grad.dtype == torch.bfloat16
    assert rel_err(h, h_ref) < 1e-2
    assert rel_err(grad, grad_ref) < 1e-2


@pytest.mark.slow
@pytest.mark.parametrize('backend', BACKENDS)
def test_exact_at_65536_tokens(backend, monkeypatch):
    # The stage-1 sequence of a 1024 x 1024 image: relative error <= 1e-5 in float32.
    if DEVICE == 'cpu':
        one = triton_backend.Config(64, 1, 4, 3, 4)
        monkeypatch.setattr(triton_backend, 'CONFIGS', (((None, None), one, one), ))
    proj = make_proj(65536, 1, I=1, B=1, dtype=torch.float32)
    h_ref = min_gru_scan(proj.double(), (True, ), backend='torch')
    assert rel_err(min_gru_scan(proj, (True, ), backend=backend), h_ref) < 1e-5


@pytest.mark.parametrize('backend', BACKENDS)
def test_empty_and_strided_inputs(backend):
    empty = torch.zeros(2, 0, 12, device=DEVICE, requires_grad=True)
    out = min_gru_scan(empty, (False, True), backend=backend)
    assert out.shape == (2, 0, 6)
    proj = make_proj(68, 1, I=5, dtype=torch.float32).detach()
    strided = proj.transpose(1, 2).contiguous().transpose(1, 2).requires_grad_()
    assert not strided.is_contiguous()
    torch.testing.assert_close(min_gru_scan(strided, (False, ), backend=backend),
                               min_gru_scan(proj, (False, ), backend=backend))
    min_gru_scan(strided, (False, ), backend=backend).sum().backward()
    assert torch.isfinite(strided.grad).all()


def test_each_direction_is_an_independent_min_gru():
    # I = 300 spans several channel blocks of each kernel.
    proj = make_proj(70, 2, I=300)
    h = min_gru_scan(proj, (False, True))
    torch.testing.assert_close(h[..., :300], min_gru_scan(proj[..., :600], (False, )))
    torch.testing.assert_close(h[..., 300:], min_gru_scan(proj[..., 600:], (True, )))


def test_default_backend_per_tensor_and_set_backend():
    cpu = torch.zeros(1, 2, 4)
    assert resolve('min_gru_scan', cpu, None) == CPU_BACKENDS[0]
    assert resolve('min_gru_scan', cpu.bfloat16(), None) == 'torch'
    with set_backend('torch'):
        assert resolve('min_gru_scan', cpu, None) == 'torch'
        assert resolve('min_gru_scan', cpu, CPU_BACKENDS[0]) == CPU_BACKENDS[0]  # explicit wins
    assert resolve('min_gru_scan', cpu, None) == CPU_BACKENDS[0]
    if torch.cuda.is_available():
        assert resolve('min_gru_scan', cpu.cuda(), None) == 'triton'


def test_bad_input_and_unusable_backends_are_named(monkeypatch):
    with pytest.raises(ValueError, match=r'2 \* I \* 2'):
        min_gru_scan(torch.zeros(1, 4, 6), (False, True))
    with pytest.raises(ValueError, match='floating point'):
        min_gru_scan(torch.zeros(1, 4, 4, dtype=torch.long))
    with pytest.raises(ValueError, match='float32/float64'):
        min_gru_scan(torch.zeros(1, 4, 4, dtype=torch.bfloat16), backend='cpp')
    with pytest.raises(ValueError, match="choose from"):
        min_gru_scan(torch.zeros(1, 4, 4), backend='cuda')
    monkeypatch.delenv('TRITON_INTERPRET', raising=False)
    with pytest.raises(ValueError, match='TRITON_INTERPRET=1' if TRITON else 'torch >= 2.4'):
        min_gru_scan(torch.zeros(1, 4, 4), backend='triton')
    with pytest.raises(ValueError, match='unknown'):
        with set_backend('unknown'):
            pass


@pytest.mark.skipif(not hasattr(torch.library, 'custom_op'),
                    reason='the op is an autograd Function below torch 2.4')
@pytest.mark.parametrize('backend', CPU_BACKENDS)
def test_compiles_as_one_graph_with_autograd(backend):
    # The op is a torch.library custom op: torch.compile captures it without a graph break
    # (fullgraph=True raises on one), forward and backward.
    proj = make_proj(33, 2, dtype=torch.float32).cpu().requires_grad_()
    fn = torch.compile(lambda p: min_gru_scan(p, (False, True), backend=backend).square().sum(),
                       fullgraph=True, backend='aot_eager')
    grad, = torch.autograd.grad(fn(proj), proj)
    ref = min_gru_scan(proj, (False, True), backend=backend).square().sum()
    grad_ref, = torch.autograd.grad(ref, proj)
    torch.testing.assert_close(grad, grad_ref)
