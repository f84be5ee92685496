import numpy as np
import pytest
import torch
import torch.nn.functional as F

from vdeblur.deblurrer import _pad_in_place
from vdeblur.ring import FrameRing


@pytest.mark.parametrize("kind", ["numpy", "torch"])
@pytest.mark.parametrize("h,w,ph,pw", [(37, 51, 40, 56), (182, 322, 184, 328), (8, 8, 8, 8), (3, 5, 8, 8)])
def test_in_place_padding_matches_reference(h, w, ph, pw, kind):
    """The same code pads the CPU's numpy slots and a GPU's torch slots (here on the CPU), as F.pad does."""
    rgb = np.random.default_rng(0).integers(0, 255, (h, w, 3), dtype=np.uint8)
    slot = torch.full((3, ph, pw), -1.0)
    slot[:, :h, :w] = torch.from_numpy(rgb).permute(2, 0, 1).float() / 255
    if kind == "numpy":
        slot = slot.numpy()
    _pad_in_place(slot, h, w)
    x = torch.from_numpy(rgb).permute(2, 0, 1).float()[None] / 255
    mode = "reflect" if (ph - h < h and pw - w < w) else "replicate"
    ref = F.pad(x, (0, pw - w, 0, ph - h), mode=mode)[0]
    assert torch.allclose(torch.as_tensor(slot), ref)


def test_commit_matches_push():
    a, b = FrameRing(3, (1, 2, 2)), FrameRing(3, (1, 2, 2))
    for v in range(1, 6):
        a.push(np.full((1, 2, 2), float(v), np.float32))
        b.slot_for_next().fill(float(v))
        b.commit()
        assert np.array_equal(a.window(), b.window())
