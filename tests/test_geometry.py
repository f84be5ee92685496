import pytest
import torch

from vdeblur.config import ShapeProfile
from vdeblur.geometry import FrameGeometry, parse_size


def test_padding_cropping_and_state_size():
    g = FrameGeometry(182, 322, 8)
    assert g.size == (182, 322) and g.padded == (184, 328) and g.state_size == (23, 41)
    assert g.crop(torch.zeros(3, 184, 328)).shape == (3, 182, 322)
    assert FrameGeometry(360, 640).padded == (360, 640)


def test_sizes_are_written_width_first_and_held_height_first():
    assert parse_size("1920x1080") == (1080, 1920)
    assert FrameGeometry.parse("322x182").padded == (184, 328)
    assert ShapeProfile.parse("322x182") == (328, 184)        # TensorRT profiles stay (width, height)
    for bad in ("1920", "axb", "0x10"):
        with pytest.raises(ValueError):
            parse_size(bad)
