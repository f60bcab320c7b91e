"""A data-pipeline guard: label maps with values the model cannot have are an error.

Registered in MMSegmentation's ``TRANSFORMS`` by ``import mmseg_visiongru``.
"""
import numpy as np
from mmcv.transforms import BaseTransform


class CheckSegLabels(BaseTransform):
    """Raise if ``gt_seg_map`` holds a value outside ``[0, num_classes)`` and ``ignore_index``.

    Put it right after ``LoadAnnotations``: otherwise such a label surfaces as an index error
    deep inside the loss (or a silent wrong result on the GPU).

    Args:
        num_classes (int): Classes of the decode head.
        ignore_index (int): Label ignored by the loss. Defaults to 255.
    """

    def __init__(self, num_classes: int, ignore_index: int = 255):
        self.num_classes = num_classes
        self.ignore_index = ignore_index

    def transform(self, results: dict) -> dict:
        if 'gt_seg_map' not in results:  # inference: the pipeline loads no annotation
            return results
        values = np.unique(results['gt_seg_map'])
        bad = values[(values >= self.num_classes) & (values != self.ignore_index)]
        if bad.size:
            raise ValueError(
                f'{results.get("seg_map_path")}: label values {bad.tolist()} are outside '
                f'[0, {self.num_classes}) and not ignore_index {self.ignore_index} (after '
                f'reduce_zero_label={results.get("reduce_zero_label")})')
        return results

    def __repr__(self):
        return (f'{self.__class__.__name__}(num_classes={self.num_classes}, '
                f'ignore_index={self.ignore_index})')
