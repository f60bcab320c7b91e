from setuptools import find_packages, setup
from torch.utils.cpp_extension import BuildExtension, CppExtension

setup(
    name='mmseg-visiongru',
    version='0.1.0',
    description='VisionGRU backbone for MMSegmentation and mmpretrain',
    packages=find_packages(include=['mmseg_visiongru', 'mmseg_visiongru.*']),
    python_requires='>=3.11',
    # The exact, pinned stack (and the mmcv source build) is installed by install.sh.
    install_requires=['mmengine', 'mmsegmentation', 'mmpretrain'],
    # The CPU kernels (linear scan, minGRU gates + scan); built against the installed torch
    # (--no-build-isolation).
    ext_modules=[
        CppExtension(
            'mmseg_visiongru.ops.kernels_cpu', ['mmseg_visiongru/ops/csrc/bindings.cpp',
                                                'mmseg_visiongru/ops/csrc/linear_scan.cpp',
                                                'mmseg_visiongru/ops/csrc/min_gru_scan.cpp'],
            extra_compile_args=['-O3', '-fopenmp', '-fno-trapping-math'], extra_link_args=['-fopenmp'])
    ],
    cmdclass={'build_ext': BuildExtension},
)
