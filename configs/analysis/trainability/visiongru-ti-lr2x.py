# VisionGRU-Ti with twice the recipe's lr (the recipe's lr was tuned for neither model).
_base_ = './visiongru-ti.py'

optim_wrapper = dict(optimizer=dict(lr=2e-3))
