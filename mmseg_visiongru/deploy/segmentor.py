"""An exported segmentor as an MMSegmentation model, so that the config's test loop, data
preprocessor and evaluator run it as they run the PyTorch model (tools/deployment/test_onnx.py)."""
from typing import Optional

import torch
from mmseg.models.segmentors import BaseSegmentor
from mmseg.registry import MODELS
from mmseg.utils import OptSampleList, SampleList
from torch import Tensor

from .runtime import OnnxModel


@MODELS.register_module()
class ONNXRuntimeSegmentor(BaseSegmentor):
    """Inference with an exported segmentor in ONNX Runtime.

    ``predict`` runs the file on the preprocessed batch and post-processes its logits as
    ``EncoderDecoder`` does (padding removed, resized bilinearly to the original image, argmax).
    The file must output logits (``pytorch2onnx.py --output logits``, the default): a label
    map cannot be resized to the original image as the logits are.

    Args:
        onnx_file (str): The exported file.
        data_preprocessor (dict): The config's ``model.data_preprocessor``.
        align_corners (bool): The decode head's ``align_corners``. Defaults to False.
        num_threads (int, optional): ONNX Runtime's intra-op threads.
    """

    def __init__(self, onnx_file: str, data_preprocessor: dict, align_corners: bool = False,
                 num_threads: Optional[int] = None, init_cfg=None):
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.align_corners = align_corners
        self.onnx_model = OnnxModel(onnx_file, num_threads)
        if self.onnx_model.metadata.get('output', 'logits') != 'logits':
            raise ValueError(f'{onnx_file} outputs {self.onnx_model.metadata["output"]}; '
                             'evaluation needs logits: export again with --output logits')

    def predict(self, inputs: Tensor, data_samples: OptSampleList = None) -> SampleList:
        """(B, C, H, W) preprocessed images -> data samples with ``pred_sem_seg``."""
        return self.postprocess_result(self._forward(inputs), data_samples)

    def _forward(self, inputs: Tensor, data_samples: OptSampleList = None) -> Tensor:
        """(B, C, H, W) -> logits (B, num_classes, H, W)."""
        return torch.from_numpy(self.onnx_model(inputs)[0])

    def extract_feat(self, inputs: Tensor):
        raise NotImplementedError('An exported segmentor runs whole-image inference only')

    def encode_decode(self, inputs: Tensor, batch_data_samples: SampleList):
        raise NotImplementedError('An exported segmentor runs whole-image inference only')

    def loss(self, inputs: Tensor, data_samples: SampleList) -> dict:
        raise NotImplementedError('An exported segmentor cannot be trained: train the PyTorch '
                                  'model and export it again')
