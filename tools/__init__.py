"""Command-line tools.  Each file here runs as a script (``python tools/train.py ...``); the folder
is also a package so that the analysis modules and the tests import shared code by name
(``from tools.make_sample_data import make_ade20k``, ``from tools.analysis import models``)."""
