"""What the Triton kernels of ``min_gru_scan`` compile to on an A100 / H100, without a GPU.

    .venv/bin/python -m tools.analysis.kernel_report                      # every variant
    .venv/bin/python -m tools.analysis.kernel_report --arch 90 --dtype float32 --k 2
    python -m tools.analysis.kernel_report --arch 90 --name H200 --hbm-tbps 4.8   # another GPU

Every launch the dispatch makes (``triton.plan``: forward and backward; one pass, or chunk
summary, carry across chunks and carry-in pass) is compiled with Triton for ``sm_80`` / ``sm_90``
(``triton.compile`` with a ``GPUTarget``, ptxas and cuobjdump from the Triton wheel) at the
shapes of VisionGRU-Ti's four stages at 512 x 512, batch 16, and at 2048 x 2048, batch 1.
Per launch it prints registers, spilled bytes, shared memory, programs against
multiprocessors (resident per SM), main-loop iterations per program, and per iteration: SASS
instructions per element (warp-instructions per tile element), global loads, and load waits
(an instruction waiting on a global load's scoreboard or a ``cp.async`` group), of which
*exposed*: the walk below stalls there for more than half the load latency (the load was issued
too close before its use to hide it).

Time model (an estimate, stated with its constants; only a GPU measures):

- one warp walks the main loop's SASS in order, one instruction every ``1 / (ipc * clock)``; a
  global load's data arrives ``latency`` after its issue and a wait stalls until then; the
  iteration time is that of the third iteration of this walk (steady state, earlier
  iterations' loads in flight);
- a program takes iterations x iteration time (the latency chain); the busiest SM runs
  ``ceil(programs / SMs)`` programs in waves of the resident count, each wave no faster than its
  warp-instructions over ``schedulers x clock`` (one instruction per scheduler per cycle);
- a launch takes the largest of: the busiest SM's waves, the issue floor (all warp-instructions
  over every scheduler) and the HBM floor (its unavoidable bytes over the bandwidth); the op's
  time is the sum of its launches.
"""
import argparse
import functools
import importlib.util
import os
import os.path as osp
import pickle
import re
import subprocess
import sys
import tempfile
from math import ceil
from typing import Dict, List, NamedTuple, Optional, Sequence

import torch

from .report import markdown


class GPU(NamedTuple):
    """A GPU model: the constants of the time model."""
    name: str
    arch: int
    sms: int
    clock_ghz: float
    hbm_tbps: float
    latency_us: float = 0.8  # global-load latency under load
    ipc: float = 0.45  # per warp
    schedulers: int = 4  # per SM
    registers: int = 65536  # per SM
    max_warps: int = 64  # per SM
    max_programs: int = 32  # per SM
    shared_kb: int = 228  # per SM


GPUS = {90: GPU('H100', 90, 132, 1.755, 3.0),
        80: GPU('A100', 80, 108, 1.41, 2.0, shared_kb=164)}
LATENCY_RANGE_US = (0.6, 1.0)
# (B, L, I) of VisionGRU-Ti's minGRUs (I = 2C, C = 72, 144, 288, 576).
SHAPES = {f'{size}x{size} b{B} stage {s + 1}': (B, (size // 2**(s + 2))**2, 144 * 2**s)
          for size, B in ((512, 16), (2048, 1)) for s in range(4)}
DTYPES = {'float32': torch.float32, 'bfloat16': torch.bfloat16, 'float16': torch.float16}
REVERSE = {1: (False, ), 2: (False, True)}


@functools.lru_cache
def compiled_module():
    """A copy of ``mmseg_visiongru/ops/min_gru/triton.py`` whose kernels compile (also where
    ``TRITON_INTERPRET=1`` made the package's own copy interpreted)."""
    from triton import knobs

    package = importlib.util.find_spec('mmseg_visiongru').submodule_search_locations[0]
    path = osp.join(package, 'ops', 'min_gru', 'triton.py')
    spec = importlib.util.spec_from_file_location('_min_gru_triton_compiled', path)
    module = importlib.util.module_from_spec(spec)
    with knobs.runtime.scope():
        knobs.runtime.interpret = False
        spec.loader.exec_module(module)
    return module


class Launch(NamedTuple):
    """One kernel launch of the op: what to compile and how much work it is."""
    name: str  # 'forward', 'forward summary', 'carry', ...
    kernel: str  # the kernel's name in the module
    grid: tuple
    args: dict  # the kernel's arguments (a tensor's: its torch.dtype), launch options included
    iterations: int  # main-loop iterations per program
    elements: int  # tile elements per iteration
    bytes: int  # unavoidable HBM traffic


def launches(B: int, L: int, I: int, K: int, dtype: torch.dtype, gpu: GPU,
             backward: bool) -> List[Launch]:
    """The launches of ``triton.forward`` / ``triton.backward`` on ``gpu`` (as they issue them)."""
    module = compiled_module()
    grid, I, chunk, meta = module.plan(B, L, 2 * I * K, REVERSE[K], dtype, gpu.sms, backward)
    acc = torch.float64 if dtype == torch.float64 else torch.float32
    x, state = dtype, acc
    size, acc_size = dtype.itemsize, acc.itemsize
    n = B * L * I * K  # elements of h
    chunked = grid[1] > 1
    tiles = ceil(chunk / meta['BT'])
    elements = meta['BT'] * meta['BD']
    name = 'backward' if backward else 'forward'
    kernel = '_backward_kernel' if backward else '_forward_kernel'
    tensors = dict(proj=x, h=x, grad_h=x, grad_proj=x) if backward else dict(proj=x, h=x)
    ints = dict(L=L, I=I, CHUNK=chunk)
    # Traffic: forward reads proj, writes h; backward reads proj, h, dL/dh, writes dL/dproj;
    # a summary pass reads what its scan needs (forward: proj; backward: gates and dL/dh).
    full = (5 if backward else 3) * n * size
    summary_bytes = 2 * n * size
    out = []
    if chunked:
        states = B * grid[1] * I * K * acc_size
        out.append(Launch(f'{name} summary', kernel, grid,
                          dict(tensors, carry_in=x, summary=state, **ints, CARRY_IN=False,
                               SUMMARY=True, **meta), tiles, elements,
                          summary_bytes + 2 * states))
        carry_bd = 128
        out.append(Launch('carry', '_carry_kernel', (ceil(I * K / carry_bd), B),
                          dict(summary=state, carry_in=state, NC=grid[1], ROW=I * K,
                               BD=carry_bd, num_warps=4),
                          grid[1], carry_bd, 3 * states))
        out.append(Launch(f'{name} carry-in', kernel, grid,
                          dict(tensors, carry_in=state, summary=x, **ints, CARRY_IN=True,
                               SUMMARY=False, **meta), tiles, elements, full + states))
    else:
        out.append(Launch(name, kernel, grid,
                          dict(tensors, carry_in=x, summary=x, **ints, CARRY_IN=False,
                               SUMMARY=False, **meta), tiles, elements, full))
    return out


class Compiled(NamedTuple):
    registers: int  # per thread
    spill_bytes: int  # the stack frame, where ptxas puts spilled registers (these kernels
    # have no local arrays and no calls)
    shared: int  # bytes per program
    num_warps: int
    cubin: bytes


def _tool(name: str) -> str:
    from triton.backends.nvidia import __file__ as nvidia
    return osp.join(osp.dirname(nvidia), 'bin', name)


def _cuobjdump(cubin: bytes, option: str) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        path = osp.join(tmp, 'kernel.cubin')
        with open(path, 'wb') as f:
            f.write(cubin)
        return subprocess.run([_tool('cuobjdump'), option, path], check=True,
                              capture_output=True, text=True).stdout


@functools.lru_cache(maxsize=None)
def _compile(kernel: str, arch: int, args_key: tuple) -> Compiled:
    import triton
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource, make_backend
    from triton.runtime.jit import MockTensor, create_function_from_signature

    fn = getattr(compiled_module(), kernel)
    # A tensor argument as the JIT specialises it: a 16-byte aligned pointer.
    args = {k: MockTensor(v) if isinstance(v, torch.dtype) else v for k, v in args_key}
    options = {k: args.pop(k) for k in ('num_warps', 'num_stages') if k in args}
    target = GPUTarget('cuda', arch, 32)
    backend = make_backend(target)
    binder = create_function_from_signature(fn.signature, fn.params, backend)
    bound, specialization, parsed = binder(**args, **options, debug=False)
    parsed, signature, constexprs, attrs = fn._pack_args(backend, options, bound, specialization,
                                                         parsed)
    compiled = triton.compile(ASTSource(fn, signature, constexprs, attrs), target=target,
                              options=parsed.__dict__)
    cubin = compiled.asm['cubin']
    usage = dict(re.findall(r'(\w+):(\d+)', _cuobjdump(cubin, '-res-usage').split('Function')[-1]))
    return Compiled(int(usage['REG']), int(usage['STACK']) + int(usage['LOCAL']),
                    compiled.metadata.shared, compiled.metadata.num_warps, cubin)


def compile_launch(launch: Launch, arch: int) -> Compiled:
    """``launch``'s kernel compiled for ``sm_{arch}`` (cached per specialisation)."""
    return compile_launches([launch], arch)[0]


def compile_launches(launches: Sequence[Launch], arch: int) -> List[Compiled]:
    """``launches`` compiled for ``sm_{arch}``.  Where Triton was imported with
    ``TRITON_INTERPRET=1`` (the tests without a GPU) its own language functions are
    interpreted and cannot compile: there a child process without it compiles them all."""
    from triton import knobs
    if not knobs.runtime.interpret:
        return [_compile(x.kernel, arch, tuple(sorted(x.args.items()))) for x in launches]
    root = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    env = {k: v for k, v in os.environ.items() if k != 'TRITON_INTERPRET'}
    with tempfile.TemporaryDirectory() as tmp:
        job = osp.join(tmp, 'job.pkl')
        with open(job, 'wb') as f:
            pickle.dump((list(launches), arch), f)
        subprocess.run([sys.executable, '-m', 'tools.analysis.kernel_report', '--compile', job],
                       cwd=root, env=env, check=True)
        with open(job, 'rb') as f:
            return [Compiled(*fields) for fields in pickle.load(f)]


def _compile_job(job: str) -> None:
    """Compile the (launches, arch) pickled in ``job`` and pickle the results over it."""
    with open(job, 'rb') as f:
        launches, arch = pickle.load(f)
    compiled = compile_launches(launches, arch)
    with open(job, 'wb') as f:
        pickle.dump([tuple(c) for c in compiled], f)


@functools.lru_cache(maxsize=None)
def sass(compiled: Compiled) -> tuple:
    """The SASS of ``compiled``, parsed (``parse_sass``)."""
    return tuple(parse_sass(_cuobjdump(compiled.cubin, '-sass')))


_INSTRUCTION = re.compile(r'/\*([0-9a-f]{4,})\*/\s+(.*?)\s*;\s*/\* 0x([0-9a-f]{16}) \*/\s*\n'
                          r'\s*/\* 0x([0-9a-f]{16}) \*/')


def parse_sass(sass: str) -> List[tuple]:
    """(opcode, operands, wait mask, write scoreboard) per SASS instruction, from cuobjdump's
    text and the control bits of each instruction's upper word (Volta and later: bits 105-125
    hold stall, yield, write and read scoreboard, wait mask, reuse)."""
    out = []
    for _, text, _, high in _INSTRUCTION.findall(sass):
        control = int(high, 16) >> 41
        parts = text.split()
        if parts[0].startswith('@'):
            parts = parts[1:]
        out.append((parts[0], ' '.join(parts[1:]), (control >> 11) & 0x3f, (control >> 5) & 7))
    return out


def main_loop(sass: Sequence[tuple]) -> Sequence[tuple]:
    """The instructions of the main loop: the widest backward branch's body."""
    addresses = [i * 16 for i in range(len(sass))]
    best = (0, 0)
    for i, (op, operands, *_) in enumerate(sass):
        if op.startswith('BRA'):
            target = int(operands.split()[-1].rstrip(';'), 16)
            if target < addresses[i] and addresses[i] - target > best[1] - best[0]:
                best = (target // 16, i + 1)
    if best == (0, 0):
        raise ValueError('no loop in the kernel: nothing to model')
    return sass[best[0]:best[1]]


class LoopCost(NamedTuple):
    instructions: int
    loads: int  # global loads (LDG, LDGSTS)
    waits: int  # instructions waiting on a global load
    exposed: int  # of which stall for more than half the load latency
    time_us: float  # one iteration, steady state


def _is_global_load(op: str) -> bool:
    return op.startswith('LDG') and not op.startswith('LDGDEPBAR')


def loop_cost(loop: Sequence[tuple], gpu: GPU, latency_us: float) -> LoopCost:
    """Walk the loop three times as one warp (module docstring); count the third."""
    step = 1e-3 / (gpu.ipc * gpu.clock_ghz)  # us per instruction
    t = 0.
    scoreboard: Dict[int, tuple] = {}  # scoreboard -> (arrival, iteration of the load)
    groups: List[tuple] = []  # committed cp.async groups: (arrival, iteration)
    group = None  # the open cp.async group
    for iteration in range(3):
        start, waits, exposed = t, 0, 0
        for op, operands, wait_mask, write in loop:
            awaited = [scoreboard.pop(sb) for sb in range(6) if wait_mask >> sb & 1
                       and sb in scoreboard]
            if op.startswith('DEPBAR'):
                keep = int(re.search(r'0x([0-9a-f]+)|(\d+)$', operands.split(',')[-1].strip())
                           .group(0), 0)
                awaited += groups[:max(0, len(groups) - keep)]
                groups = groups[max(0, len(groups) - keep):]
            if awaited:
                waits += 1
                arrival = max(arrival for arrival, _ in awaited)
                exposed += arrival - t > latency_us / 2
                t = max(t, arrival)
            if _is_global_load(op):
                arrival = (t + latency_us, iteration)
                if op.startswith('LDGSTS'):
                    group = max(group or arrival, arrival)
                elif write != 7:
                    scoreboard[write] = max(scoreboard.get(write, arrival), arrival)
            elif op.startswith('LDGDEPBAR'):
                groups.append(group or (t, iteration))
                group = None
            t += step
    return LoopCost(len(loop), sum(_is_global_load(op) for op, *_ in loop), waits, exposed,
                    t - start)


def resident(compiled: Compiled, gpu: GPU) -> int:
    """Programs per SM at once, by registers (per warp, in units of 256), warps, shared memory."""
    warps = compiled.num_warps
    per_warp = ceil(compiled.registers * 32 / 256) * 256
    return max(1, min(gpu.max_programs, gpu.max_warps // warps,
                      gpu.registers // (per_warp * warps),
                      gpu.shared_kb * 1024 // max(compiled.shared, 1)))


def estimate(launch: Launch, compiled: Compiled, gpu: GPU, latency_us: float) -> dict:
    """The model's figures for one launch (module docstring)."""
    cost = loop_cost(main_loop(sass(compiled)), gpu, latency_us)
    programs = 1
    for g in launch.grid:
        programs *= g
    per_sm = ceil(programs / gpu.sms)
    fit = resident(compiled, gpu)
    warp_instructions = compiled.num_warps * launch.iterations * cost.instructions
    issue = 1e-3 / (gpu.schedulers * gpu.clock_ghz)  # us per warp-instruction per SM
    waves = [min(fit, per_sm - w * fit) for w in range(ceil(per_sm / fit))]
    sm_us = sum(max(launch.iterations * cost.time_us, n * warp_instructions * issue)
                for n in waves)
    issue_floor_us = programs * warp_instructions * issue / gpu.sms
    hbm_us = launch.bytes / (gpu.hbm_tbps * 1e6)
    return dict(programs=programs, resident=fit, iterations=launch.iterations,
                per_element=cost.instructions * compiled.num_warps / launch.elements,
                loads=cost.loads, waits=cost.waits, exposed=cost.exposed,
                chain_ms=launch.iterations * cost.time_us * 1e-3, issue_ms=issue_floor_us * 1e-3,
                hbm_ms=hbm_us * 1e-3, ms=max(sm_us, issue_floor_us, hbm_us) * 1e-3)


def op_rows(shape: str, K: int, dtype: str, gpu: GPU) -> List[dict]:
    """One row per launch of the forward and the backward."""
    B, L, I = SHAPES[shape]
    passes = [(backward, launch) for backward in (False, True)
              for launch in launches(B, L, I, K, DTYPES[dtype], gpu, backward)]
    rows = []
    for (backward, launch), compiled in zip(passes, compile_launches([x for _, x in passes],
                                                                     gpu.arch)):
        row = dict(arch=f'sm_{gpu.arch}', sms=gpu.sms, shape=shape, K=K, dtype=dtype,
                   launch=launch.name, backward=backward, registers=compiled.registers,
                   spills=compiled.spill_bytes, shared=compiled.shared,
                   warps=compiled.num_warps, config=_config(launch),
                   **estimate(launch, compiled, gpu, gpu.latency_us))
        row['range_ms'] = [estimate(launch, compiled, gpu, lat)['ms']
                           for lat in LATENCY_RANGE_US]
        rows.append(row)
    return rows


def _config(launch: Launch) -> str:
    args = launch.args
    if 'BT' not in args:
        return f"{args['BD']} ch, {args['num_warps']} w"
    stages = args.get('STAGES', args.get('num_stages'))
    return f"{args['BT']}x{args['BD']}, {args['num_warps']} w, {stages} st"


LAUNCH_FIELDS = ['arch', 'shape', 'K', 'dtype', 'launch', 'tile, warps, stages', 'regs',
                 'spill B', 'smem B', 'programs / SMs (resident)', 'iters', 'instr / elem',
                 'loads', 'waits (exposed)', 'est. ms']
OP_FIELDS = ['arch', 'shape', 'K', 'dtype', 'fwd ms', 'fwd ms, latency 0.6-1.0 us', 'fwd+bwd ms',
             'fwd+bwd, 0.6-1.0 us', 'HBM floor fwd+bwd', 'spill B']


def launch_cells(r: dict) -> list:
    return [r['arch'], r['shape'], r['K'], r['dtype'], r['launch'], r['config'], r['registers'],
            r['spills'], r['shared'], f"{r['programs']} / {r['sms']} ({r['resident']})",
            r['iterations'], f"{r['per_element']:.2f}", r['loads'],
            f"{r['waits']} ({r['exposed']})", f"{r['ms']:.3f}"]


def op_cells(r: dict) -> list:
    return [r['arch'], r['shape'], r['K'], r['dtype'], f"{r['fwd']:.2f}", r['fwd_range'],
            f"{r['total']:.2f}", r['total_range'], f"{r['hbm']:.2f}", r['spills']]


def op_summary(rows: List[dict]) -> dict:
    """The op's forward and forward+backward estimate from its launch rows."""
    fwd = [r for r in rows if not r['backward']]

    def total(rs, i=None):
        return sum(r['ms'] if i is None else r['range_ms'][i] for r in rs)

    first = rows[0]
    return dict(arch=first['arch'], shape=first['shape'], K=first['K'], dtype=first['dtype'],
                fwd=total(fwd), fwd_range=f'{total(fwd, 0):.2f}-{total(fwd, 1):.2f}',
                total=total(rows), total_range=f'{total(rows, 0):.2f}-{total(rows, 1):.2f}',
                hbm=sum(r['hbm_ms'] for r in rows), spills=sum(r['spills'] for r in rows))


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--arch', type=int, nargs='+', default=[90, 80], choices=sorted(GPUS))
    parser.add_argument('--dtype', nargs='+', default=list(DTYPES), choices=list(DTYPES))
    parser.add_argument('--k', type=int, nargs='+', default=[2, 1], choices=[1, 2])
    parser.add_argument('--shape', nargs='+', default=list(SHAPES), choices=list(SHAPES),
                        metavar='SHAPE', help=f'of {list(SHAPES)}')
    parser.add_argument('--launches', action='store_true', help='the per-launch table too')
    parser.add_argument('--sms', type=int, help="the GPU model's multiprocessors (one --arch)")
    parser.add_argument('--hbm-tbps', type=float, help="the GPU model's bandwidth (one --arch)")
    parser.add_argument('--name', help="the GPU model's name (one --arch)")
    parser.add_argument('--compile', metavar='JOB', help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.compile:
        return _compile_job(args.compile)
    overrides = {k: v for k, v in dict(sms=args.sms, hbm_tbps=args.hbm_tbps,
                                       name=args.name).items() if v is not None}
    if overrides and len(args.arch) != 1:
        parser.error('--sms, --hbm-tbps and --name change one GPU model: give one --arch')
    gpus = {arch: GPUS[arch]._replace(**overrides) for arch in args.arch}
    launch_rows, ops = [], []
    for gpu in gpus.values():
        for K in args.k:
            for dtype in args.dtype:
                for shape in args.shape:
                    rows = op_rows(shape, K, dtype, gpu)
                    launch_rows += rows
                    ops.append(op_summary(rows))
    constants = ', '.join(f'{g.name} (sm_{g.arch}): {g.sms} SMs, {g.clock_ghz} GHz, '
                          f'{g.hbm_tbps} TB/s, load latency {g.latency_us} us, per-warp IPC '
                          f'{g.ipc}, {g.schedulers} schedulers/SM' for g in gpus.values())
    print(f'Compiled, not run: estimates from the model in tools/analysis/kernel_report.py '
          f'({constants}).\n')
    print(markdown(OP_FIELDS, [op_cells(r) for r in ops], 4))
    if args.launches:
        print()
        print(markdown(LAUNCH_FIELDS, [launch_cells(r) for r in launch_rows], 6))


if __name__ == '__main__':
    main()
