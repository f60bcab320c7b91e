"""A data-pipeline guard: an annotation that cannot be its image's label map is an error.

Registered in MMSegmentation's ``TRANSFORMS`` by ``import mmseg_visiongru``.
"""
import numpy as np
from mmcv.transforms import BaseTransform


class CheckSegLabels(BaseTransform):
    """Raise, naming the annotation file, if ``gt_seg_map`` is not a label map of its image.

    Checked: the map is 2-D (an RGB annotation is named with the palette-to-index fix), it has
    the image's height and width as loaded (``ori_shape``: the check holds after a ``Resize``
    of the image too), and every value is in ``[0, num_classes)`` or ``ignore_index``.  Put it
    right after ``LoadAnnotations``: otherwise a misaligned map is resized on its own and
    trains silently, and a bad label surfaces as an index error deep inside the loss (or a
    silent wrong result on the GPU).

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
        label, path = results['gt_seg_map'], results.get('seg_map_path')
        if label.ndim != 2:
            colour = label.ndim == 3 and label.shape[2] in (3, 4)
            raise ValueError(
                f'{path}: the annotation has shape {label.shape}, not (height, width): a label '
                'map holds one class index per pixel' + (
                    '. It is a colour image: map each palette colour to its class index and '
                    'save the indices as a single-channel (grayscale or palette-mode) PNG'
                    if colour else ''))
        image_shape = results.get('ori_shape')
        if image_shape is not None and label.shape != tuple(image_shape[:2]):
            raise ValueError(
                f'{path}: the annotation is {label.shape[0]}x{label.shape[1]} (height x '
                f'width), its image {results.get("img_path")} {image_shape[0]}x'
                f'{image_shape[1]}: they must align pixel for pixel (an image whose EXIF '
                "orientation rotates it is loaded with LoadImageFromFile(color_type="
                "'color_ignore_orientation'), as annotations always are)")
        values = np.unique(label)
        bad = values[(values >= self.num_classes) & (values != self.ignore_index)]
        if bad.size:
            raise ValueError(
                f'{path}: label values {bad.tolist()} are outside '
                f'[0, {self.num_classes}) and not ignore_index {self.ignore_index} (after '
                f'reduce_zero_label={results.get("reduce_zero_label")})')
        return results

    def __repr__(self):
        return (f'{self.__class__.__name__}(num_classes={self.num_classes}, '
                f'ignore_index={self.ignore_index})')
