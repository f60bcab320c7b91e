import os
import stat

from mmseg_visiongru.engine.cpu_distributed import torch_env_from_slurm


def test_slurm_task_gets_torch_env(tmp_path, monkeypatch):
    # A stand-in scontrol expands the node list as Slurm's does: the first host is the master.
    scontrol = tmp_path / 'scontrol'
    scontrol.write_text('#!/bin/sh\n[ "$3" = "node[3-4]" ] && printf "node3\\nnode4\\n"\n')
    scontrol.chmod(scontrol.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv('PATH', f'{tmp_path}{os.pathsep}{os.environ["PATH"]}')
    for name in ('RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'MASTER_ADDR', 'MASTER_PORT'):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv('MASTER_PORT', '29999')  # set by the user: kept
    for name, value in [('SLURM_NODELIST', 'node[3-4]'), ('SLURM_PROCID', '5'),
                        ('SLURM_NTASKS', '8'), ('SLURM_LOCALID', '1')]:
        monkeypatch.setenv(name, value)
    torch_env_from_slurm()
    assert {name: os.environ[name] for name in
            ('RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'MASTER_ADDR', 'MASTER_PORT')} == \
        dict(RANK='5', WORLD_SIZE='8', LOCAL_RANK='1', MASTER_ADDR='node3', MASTER_PORT='29999')
