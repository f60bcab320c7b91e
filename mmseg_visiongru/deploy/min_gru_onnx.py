"""``mmseg_visiongru::min_gru_scan`` in standard ONNX ops, for torch's (dynamo) ONNX exporter.

The gates run element-wise over the whole sequence, ``a = sigmoid(-gate)`` (= 1 - z, without the
cancellation near z = 1), ``b = sigmoid(gate) * g(hidden)``; the recurrence
``h_t = a_t * h_{t-1} + b_t`` is one ONNX ``Scan`` over the tokens that carries every direction
(``scan_input_directions`` = 1 for the reversed ones, so no flips).  Its body is a ``Mul`` and an
``Add`` per direction: the sequential loop itself, exact to float32 rounding at any length, with
no logarithm anywhere.  Half-precision input is computed in float32, as the op does.

Use it as ``torch.onnx.export(..., custom_translation_table=CUSTOM_TRANSLATION_TABLE)``.
"""
from typing import Sequence

import onnx_ir as ir
import torch
from onnxscript import opset18 as op

from ..ops import min_gru_scan  # noqa: F401  registers torch.ops.mmseg_visiongru.min_gru_scan

try:
    # A Scan has several outputs, which the exporter's public op builder cannot express; its
    # internal builder can.  Not a public interface: hence torch's pin.
    from torch.onnx._internal.exporter._torchlib.ops.hop import call_op
    MIN_GRU_SCAN = torch.ops.mmseg_visiongru.min_gru_scan.default
except (ImportError, AttributeError) as e:
    raise ImportError(f'ONNX export of min_gru_scan needs torch 2.14 (the pinned version, '
                      f'requirements/runtime.txt), got torch {torch.__version__}: {e}') from e

# Opset 18: torch's exporter writes its ONNX functions in it and cannot convert them to older
# opsets (Scan itself is opset 9+).
MIN_OPSET = 18
_COMPUTE_IN_FLOAT32 = (ir.DataType.FLOAT16, ir.DataType.BFLOAT16)


def _scan_body(dtype: ir.DataType, reverse: Sequence[int]) -> ir.Graph:
    """The Scan body: inputs ``[h_k for k] + [a_k_t, b_k_t for k]``, outputs
    ``[h_k_t for k] + [copy of h_k_t for k]`` (the new states, then the scanned outputs)."""
    k = len(reverse)
    states = [ir.Value(name=f'h{i}', type=ir.TensorType(dtype)) for i in range(k)]
    steps = [ir.Value(name=f'{x}{i}_t', type=ir.TensorType(dtype))
             for i in range(k) for x in 'ab']
    nodes, new_states, outputs = [], [], []
    for i in range(k):
        mul = ir.Node('', 'Mul', [steps[2 * i], states[i]], name=f'mul{i}')
        add = ir.Node('', 'Add', [mul.outputs[0], steps[2 * i + 1]], name=f'add{i}')
        copy = ir.Node('', 'Identity', [add.outputs[0]], name=f'out{i}')
        add.outputs[0].name, copy.outputs[0].name = f'h{i}_next', f'h{i}_out'
        nodes += [mul, add, copy]
        new_states.append(add.outputs[0])
        outputs.append(copy.outputs[0])
    return ir.Graph(states + steps, new_states + outputs, nodes=nodes, name='min_gru_step')


def min_gru_scan_onnx(proj, reverse: Sequence[int], backend: str):
    """ONNX translation of ``min_gru_scan(proj, reverse)``; ``backend`` is ignored.

    Shape:
        proj: (B, L, 2 * I * K), ``[hidden_k, gate_k]`` per direction -> h: (B, L, I * K).
    """
    k = len(reverse)
    dtype = proj.dtype
    if dtype in _COMPUTE_IN_FLOAT32:
        proj = op.Cast(proj, to=ir.DataType.FLOAT)
    compute = ir.DataType.FLOAT if dtype in _COMPUTE_IN_FLOAT32 else dtype
    parts = op.Split(proj, axis=2, num_outputs=2 * k)
    zero = op.Constant(value=ir.tensor([0.0], dtype=compute))
    half = op.Constant(value=ir.tensor(0.5, dtype=compute))
    inputs = []
    for i in range(k):
        hidden, gate = parts[2 * i], parts[2 * i + 1]
        candidate = op.Where(op.GreaterOrEqual(hidden, zero),
                             op.Add(hidden, half), op.Sigmoid(hidden))
        inputs += [op.Sigmoid(op.Neg(gate)), op.Mul(op.Sigmoid(gate), candidate)]
    # h_{-1} = 0, (B, I): the batch size from proj, I from the hidden part.
    init_shape = op.Concat(op.Shape(proj, start=0, end=1), op.Shape(parts[0], start=2, end=3),
                           axis=0)
    init = op.ConstantOfShape(init_shape, value=ir.tensor([0.0], dtype=compute))
    results = call_op(
        'Scan', *([init] * k), *inputs,
        _num_outputs=2 * k,
        body=_scan_body(compute, reverse),
        num_scan_inputs=2 * k,
        scan_input_axes=[1] * (2 * k),
        scan_input_directions=[int(bool(r)) for r in reverse for _ in 'ab'],
        scan_output_axes=[1] * k,
        scan_output_directions=[int(bool(r)) for r in reverse])
    h = results[k] if k == 1 else op.Concat(*results[k:], axis=2)
    return op.Cast(h, to=dtype) if dtype != compute else h


CUSTOM_TRANSLATION_TABLE = {MIN_GRU_SCAN: min_gru_scan_onnx}
