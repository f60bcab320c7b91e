import pytest
import torch

from mmseg_visiongru.ops import linear_scan, scan_doubling, scan_log_space, scan_loop
from mmseg_visiongru.ops.backend import kernels_cpu

SCANS = {'linear_scan': linear_scan, 'scan_doubling': scan_doubling}


def make_inputs(B, L, D, dtype=torch.float32, seed=0):
    g = torch.Generator().manual_seed(seed)
    # Decays close to 1 keep a long memory: the hardest case for accumulated rounding.
    a = 1 - 0.05 * torch.rand(B, L, D, generator=g)
    b = torch.randn(B, L, D, generator=g)
    h0 = torch.randn(B, D, generator=g)
    return a.to(dtype), b.to(dtype), h0.to(dtype)


def rel_err(h, ref):
    return ((h.double() - ref).abs().max() / ref.abs().max()).item()


def test_compiled_kernel_is_built():
    # Without it, CPU scans silently take the slower doubling path.
    assert kernels_cpu is not None


@pytest.mark.parametrize('name', SCANS)
@pytest.mark.parametrize('L', [1, 2, 7, 513, 4097])
@pytest.mark.parametrize('reverse', [False, True])
@pytest.mark.parametrize('with_h0', [False, True])
def test_matches_float64_loop(name, L, reverse, with_h0):
    a, b, h0 = make_inputs(2, L, 5)
    h0 = h0 if with_h0 else None
    ref = scan_loop(a.double(), b.double(), None if h0 is None else h0.double(), reverse)
    h = SCANS[name](a, b, h0, reverse=reverse)
    assert h.shape == (2, L, 5) and h.dtype == torch.float32
    assert rel_err(h, ref) <= 1e-5


@pytest.mark.parametrize('name', SCANS)
@pytest.mark.parametrize('reverse', [False, True])
def test_exact_at_65536(name, reverse):
    a, b, h0 = make_inputs(1, 65536, 8)
    ref = scan_loop(a.double(), b.double(), h0.double(), reverse)
    assert rel_err(SCANS[name](a, b, h0, reverse=reverse), ref) <= 1e-5


def test_log_space_formulation_is_not_exact_at_65536():
    # Why we do not use the log-space scan: at this length it loses about 1e-3.
    a, b, _ = make_inputs(1, 65536, 8)
    b = b.abs() + 0.1
    ref = scan_loop(a.double(), b.double())
    assert rel_err(scan_log_space(a.log(), b.log()), ref) > 1e-5
    assert rel_err(linear_scan(a, b), ref) <= 1e-5


@pytest.mark.parametrize('reverse', [False, True])
@pytest.mark.parametrize('L', [1, 6, 37])
def test_gradcheck(reverse, L):
    a, b, h0 = (t.double().requires_grad_() for t in make_inputs(2, L, 3))
    assert torch.autograd.gradcheck(
        lambda a, b, h0: linear_scan(a, b, h0, reverse=reverse), (a, b, h0))
    assert torch.autograd.gradcheck(lambda a, b: linear_scan(a, b, reverse=reverse), (a, b))


@pytest.mark.parametrize('reverse', [False, True])
def test_gradients_match_autograd_through_loop_float32(reverse):
    a, b, h0 = make_inputs(2, 3000, 4)
    weight = torch.randn(2, 3000, 4)
    grads = []
    for scan, cast in [(linear_scan, lambda t: t), (scan_loop, lambda t: t.double())]:
        leaves = [cast(t).clone().requires_grad_() for t in (a, b, h0)]
        (scan(*leaves, reverse=reverse) * cast(weight)).sum().backward()
        grads.append([t.grad for t in leaves])
    for ours, ref in zip(*grads):
        assert rel_err(ours, ref) <= 1e-5


@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16])
def test_half_precision_accumulates_in_float32(dtype):
    a, b, _ = make_inputs(2, 20000, 4, dtype=dtype)
    ref = scan_loop(a.double(), b.double())
    h = linear_scan(a, b)
    assert h.dtype == dtype
    # The only error left is the final rounding to the half type (relative 2^-8 / 2^-11),
    # where accumulating in the half type itself would drift far beyond it.
    assert rel_err(h, ref) <= 2**-7
    assert rel_err(scan_loop(a, b), ref) > rel_err(h, ref)


def test_non_contiguous_inputs():
    a, b, h0 = make_inputs(2, 50, 6)
    at = a.transpose(0, 1).contiguous().transpose(0, 1)
    bt = torch.stack([b, b], dim=-1)[..., 0]
    assert not (at.is_contiguous() or bt.is_contiguous())
    ref = scan_loop(a.double(), b.double(), h0.double())
    assert rel_err(linear_scan(at, bt, h0), ref) <= 1e-5


def test_bad_shapes_are_named():
    a, b, h0 = make_inputs(2, 10, 3)
    with pytest.raises(ValueError, match=r'\(B, L, D\)'):
        linear_scan(a, b[:, :5])
    with pytest.raises(ValueError, match='h0'):
        linear_scan(a, b, h0[:, :2])
