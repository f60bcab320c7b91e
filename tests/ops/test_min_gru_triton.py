"""The Triton kernels of min_gru_scan: compiled for an H100 without one, and every launch config.

The compile tests build the kernels for sm_90 (and sm_80 in the slow sweep) on the CPU machine
with the ptxas in the Triton wheel (tools/analysis/kernel_report.py) and fail on a compile error,
a spill, or fewer resident programs than the chunking rule counts on; nothing is run there, so
warps and pipeline stages are checked only as compiled.  The config tests run each row of
``CONFIGS`` in Triton's interpreter (tests/conftest.py; on a GPU, on it) against the float64
recurrence: full tiles with a partial tail tile, a sequence shorter than one tile, and chunks.
"""
import pytest
import torch

from mmseg_visiongru.ops import min_gru_scan_naive
from mmseg_visiongru.ops.backend import TRITON_PROBLEM
from mmseg_visiongru.ops.min_gru import triton as triton_backend

from ..helpers import rel_err

pytestmark = pytest.mark.skipif(TRITON_PROBLEM is not None, reason=str(TRITON_PROBLEM))
DEVICE = 'cuda' if torch.cuda.is_available() else 'cpu'
CONFIGS = sorted({c for _, *configs in triton_backend.CONFIGS for c in configs})


def report():
    pytest.importorskip('triton', minversion='3.0')
    from tools.analysis import kernel_report
    return kernel_report


def check_compiled(launch, compiled, arch, config):
    kernel_report = report()
    assert compiled.spill_bytes == 0, \
        f'{launch.name} spills {compiled.spill_bytes} bytes on sm_{arch}'
    assert kernel_report.resident(compiled, kernel_report.GPUS[arch]) >= config.resident, \
        f'{launch.name}: {compiled.registers} registers, {compiled.shared} B shared memory'


@pytest.fixture(scope='module')
def stage_1_on_sm_90():
    """{(dtype, backward): (launch, compiled)} at VisionGRU-Ti's stage 1 at 512 x 512, batch 16
    (one pass each way), compiled in one go."""
    kernel_report = report()
    B, L, I = kernel_report.SHAPES['512x512 b16 stage 1']
    keys, launches = [], []
    for dtype in ('float32', 'bfloat16', 'float16'):
        for backward in (False, True):
            launch, = kernel_report.launches(B, L, I, 2, kernel_report.DTYPES[dtype],
                                             kernel_report.GPUS[90], backward)
            keys.append((dtype, backward))
            launches.append(launch)
    compiled = kernel_report.compile_launches(launches, 90)
    return dict(zip(keys, zip(launches, compiled)))


@pytest.mark.parametrize('dtype', ['float32', 'bfloat16', 'float16'])
def test_stage_1_kernels_compile_for_sm_90_without_spills(dtype, stage_1_on_sm_90):
    kernel_report = report()
    gpu = kernel_report.GPUS[90]
    B, L, I = kernel_report.SHAPES['512x512 b16 stage 1']
    for backward in (False, True):
        launch, compiled = stage_1_on_sm_90[dtype, backward]
        check_compiled(launch, compiled, 90, triton_backend.config_for(I, L, backward))
        loop = kernel_report.main_loop(kernel_report.sass(compiled))
        cost = kernel_report.loop_cost(loop, gpu, gpu.latency_us)
        # Software-pipelined: the tile loads are cp.async copies, none waited for in its own
        # iteration.
        assert any(op.startswith('LDGSTS') for op, *_ in loop)
        assert cost.exposed == 0, f'{launch.name}: {cost.exposed} exposed load waits'


@pytest.mark.slow
@pytest.mark.parametrize('arch', [90, 80])
def test_every_launch_compiles_without_spills(arch):
    # Every launch of the report: both passes, chunked and not, K = 1 and 2, every dtype, at
    # the shapes that cover every row of CONFIGS.
    kernel_report = report()
    gpu = kernel_report.GPUS[arch]
    launches, configs = [], []
    for B, L, I in kernel_report.SHAPES.values():
        for K in (1, 2):
            for dtype in kernel_report.DTYPES.values():
                for backward in (False, True):
                    for launch in kernel_report.launches(B, L, I, K, dtype, gpu, backward):
                        launches.append(launch)
                        configs.append(triton_backend.config_for(I, L, backward))
    for launch, compiled, config in zip(launches, kernel_report.compile_launches(launches, arch),
                                        configs):
        check_compiled(launch, compiled, arch, config)


def test_chunks_follow_occupancy():
    config = triton_backend.Config(64, 16, 4, 3, 4)
    # Every SM has a program: one pass (a chunked one reads proj twice).
    assert triton_backend.default_num_chunks(132, 160, 16384, config) == 1
    # 18 programs: enough chunks for 4 resident programs on each of 132 SMs.
    assert triton_backend.default_num_chunks(132, 18, 262144, config) == 30
    # Chunks of at least 16 tiles; none off the GPU.
    assert triton_backend.default_num_chunks(132, 18, 4096, config) == 4
    assert triton_backend.default_num_chunks(None, 1, 262144, config) == 1
    plan = triton_backend.plan(1, 262144, 4 * 144, (False, True), torch.float32, 132)
    assert plan.grid == (18, 30, 1) and plan.chunk % 64 == 0


def test_config_rows():
    assert triton_backend.config_for(144, 16384) == (64, 16, 4, 3, 4)
    assert triton_backend.config_for(144, 16384, backward=True) == (32, 16, 4, 3, 4)
    assert triton_backend.config_for(1152, 256, backward=True).BD == 32


def reference(proj, reverse, grad_h):
    """h and dL/dproj in float64 by autograd through the token-by-token recurrence."""
    proj = proj.detach().double().requires_grad_()
    h = min_gru_scan_naive(proj, reverse)
    grad, = torch.autograd.grad(h, proj, grad_h.double())
    return h.detach(), grad


def make_case(L, I, seed=0):
    g = torch.Generator().manual_seed(seed)
    proj = torch.randn(1, L, 4 * I, generator=g)
    proj[..., I:2 * I] -= 3  # long memory (1 - z near 0.95) in both directions' gates
    proj[..., 3 * I:] -= 3
    return proj.to(DEVICE), torch.randn(1, L, 2 * I, generator=g).to(DEVICE)


@pytest.mark.parametrize('config, case', [
    pytest.param(c, case, id=f'{c.BT}x{c.BD}-{case}')
    for c, case in [(c, 'tile and tail') for c in CONFIGS] + [(CONFIGS[0], 'chunks')]])
def test_every_config_matches_float64(config, case):
    # Both directions.  A full tile and a partial one, over two channel blocks, the second
    # partial; chunks: three of one tile each, the last partial, their states carried across
    # (chunked == whole, as both match float64).  The interpreter scans element by element:
    # one sequence, few tiles.
    L = config.BT + 5 if case == 'tile and tail' else 2 * config.BT + 5
    num_chunks = 3 if case == 'chunks' else 1
    proj, grad_h = make_case(L, 3 if case == 'chunks' else config.BD + 3)
    h_ref, grad_ref = reference(proj, (False, True), grad_h)
    h = triton_backend.forward(proj, (False, True), num_chunks=num_chunks, config=config)
    grad = triton_backend.backward(proj, h, grad_h, (False, True), num_chunks=num_chunks,
                                   config=config)
    assert rel_err(h, h_ref) < 1e-5
    assert rel_err(grad, grad_ref) < 1e-5

