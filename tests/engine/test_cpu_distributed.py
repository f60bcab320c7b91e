"""CPU processes of a distributed run: Slurm's variables, a bounded gloo group, BN for SyncBN."""
import atexit
import datetime
import os
import stat

import pytest
import torch
from mmengine.config import Config

from mmseg_visiongru.engine.cpu_distributed import (DIST_TIMEOUT_S, adapt_to_cpu,
                                                    torch_env_from_slurm)

from ..helpers import ROOT


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


@pytest.mark.parametrize('dist_cfg,seconds', [(dict(backend='nccl', timeout=20), 20),
                                              (dict(backend='nccl'), DIST_TIMEOUT_S)])
def test_gloo_group_waits_at_most_the_configured_timeout(monkeypatch, dist_cfg, seconds):
    opened = []
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    monkeypatch.setattr(torch.distributed, 'init_process_group',
                        lambda **kwargs: opened.append(kwargs))
    monkeypatch.setattr(atexit, 'register', lambda fn: None)
    cfg = Config(dict(model=dict(norm_cfg=dict(type='SyncBN')), env_cfg=dict(dist_cfg=dist_cfg)))
    adapt_to_cpu(cfg, 'pytorch')
    assert opened == [dict(backend='gloo', timeout=datetime.timedelta(seconds=seconds))]
    assert cfg.model.norm_cfg.type == 'BN'


@pytest.mark.parametrize('config', ['upernet_visiongru_ti_ade20k', 'visiongru_ti_in1k'])
def test_configs_bound_distributed_waits_to_ten_minutes(config):  # the others inherit these
    cfg = Config.fromfile(f'{ROOT}/configs/{config}.py')
    assert cfg.env_cfg.dist_cfg.timeout == DIST_TIMEOUT_S == 600
