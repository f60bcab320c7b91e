"""An exported model in ONNX Runtime (CPU execution provider), with its input checked first."""
from typing import List, Optional, Union

import numpy as np
import onnxruntime as ort
import torch


class OnnxModel:
    """Run an exported ONNX file: ``OnnxModel(path)(images)`` -> list of outputs.

    Args:
        path (str): The ``.onnx`` file written by ``tools/deployment/pytorch2onnx.py``.
        num_threads (int, optional): ONNX Runtime's intra-op threads; None: its default (one
            per physical core).

    Shape:
        images: (B, C, H, W) float32, normalised as the config's data preprocessor does (mean
        and std are in the file's metadata) -> the outputs named in the file.
    """

    def __init__(self, path: str, num_threads: Optional[int] = None):
        options = ort.SessionOptions()
        if num_threads:
            options.intra_op_num_threads = num_threads
            options.inter_op_num_threads = 1
        self.path = path
        self.session = ort.InferenceSession(path, options, providers=['CPUExecutionProvider'])
        spec = self.session.get_inputs()[0]
        self.input_name, self.input_shape = spec.name, spec.shape
        self.output_names = [o.name for o in self.session.get_outputs()]
        self.metadata = self.session.get_modelmeta().custom_metadata_map

    def check_input(self, images: np.ndarray) -> None:
        """Raise a ValueError naming the fix when ``images`` does not fit the file's input."""
        shape = tuple(self.input_shape)
        if images.dtype != np.float32:
            raise ValueError(
                f'{self.path} takes float32 images normalised as in training (mean '
                f'{self.metadata.get("mean", "?")}, std {self.metadata.get("std", "?")}), got '
                f'{images.dtype}: normalise them and convert with .astype(np.float32)')
        if images.ndim != len(shape):
            raise ValueError(f'{self.path} takes a batch of images {shape}, got '
                             f'{images.shape}: add the batch dimension (images[None])')
        for axis, (want, got) in enumerate(zip(shape, images.shape)):
            if not isinstance(want, int) or want == got:
                continue
            if axis == 1 and len(shape) == 4:
                raise ValueError(
                    f'{self.path} takes {want}-channel images (B, {want}, H, W), got '
                    f'{images.shape}: give images channels-first with {want} channels (drop '
                    'an alpha channel, repeat a grey one)')
            raise ValueError(f'{self.path} was exported for inputs of shape {shape} (dim {axis} '
                             f'fixed), got {images.shape}: resize the input, or export again '
                             'with --dynamic-export')

    def __call__(self, images: Union[np.ndarray, torch.Tensor]) -> List[np.ndarray]:
        if isinstance(images, torch.Tensor):
            images = images.detach().cpu().numpy()
        self.check_input(images)
        return self.session.run(None, {self.input_name: images})
