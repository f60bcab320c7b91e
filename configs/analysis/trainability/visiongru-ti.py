# The trainability benchmark's VisionGRU-Ti: the sample-data recipe as it is (random init, AdamW
# lr 1e-3, batch 4, no stochastic depth).  `python -m tools.analysis.trainability` sets the data,
# image size, schedule and seed; `tools/train.py` trains it as is on data/sample_ade20k.
_base_ = '../../quickstart_upernet_visiongru_ti_sample.py'
