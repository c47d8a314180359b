import pytest
import torch

from function_dhaug.augmenters import GANAugmenter, NormalAugmenter, build_augmenter
from utils.io import DataError

from .synthetic_data import make_args


def _build(train, templates, table, **flags):
    return build_augmenter(make_args(**flags), train, templates, table, torch.device("cpu"),
                           torch.Generator().manual_seed(0), progress=False)


def test_method_selects_the_augmenter(train_set, templates, camera_table):
    assert isinstance(_build(train_set, templates, camera_table), GANAugmenter)
    assert isinstance(_build(train_set, templates, camera_table, data_enhancement_method="normal"),
                      NormalAugmenter)
    assert _build(train_set, templates, camera_table, data_enhancement_method="NO_enhance") is None


def test_bad_inputs_raise_data_error(train_set, templates, camera_table):
    with pytest.raises(DataError, match="templates"):
        _build(train_set, templates[:, :14], camera_table)
    with pytest.raises(DataError, match="camera table"):
        _build(train_set, templates, camera_table[0])
