"""The scan benchmark (tools.analysis.benchmark_scan) at a tiny shape: every method that serves
the CPU is in the table, with its error against float64."""
from tools.analysis import benchmark_scan


def test_every_cpu_method_is_in_the_table_with_its_error():
    text = benchmark_scan.gates_and_scan('cpu', 1, {'tiny': (1, 16, 4)})
    rows = {line.split('|')[2].strip(): [c.strip() for c in line.split('|')[3:-1]]
            for line in text.splitlines()[2:]}
    assert set(rows) == set(benchmark_scan.gate_methods('cpu'))
    assert {"log space (authors' code)", 'min_gru_scan [torch]'} <= set(rows)
    for name, (fwd, _, both, _, vs_torch, error) in rows.items():
        assert float(fwd) > 0 and float(both) > 0 and vs_torch.endswith('x'), name
        assert float(error) < (1e-4 if 'log' in name else 1e-6), name
    assert rows['min_gru_scan [torch]'][4] == '1.00x'
