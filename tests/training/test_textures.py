import numpy as np
import pytest

from vdeblur.training.textures import KINDS, texture


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_is_fine_detail_in_range_and_reproducible(kind):
    a = texture(np.random.default_rng(3), 96, 128, kind)
    b = texture(np.random.default_rng(3), 96, 128, kind)
    assert a.shape == (96, 128, 3) and a.dtype == np.uint8
    assert np.array_equal(a, b)
    grey = a.astype(np.float32).mean(axis=2)
    # Texture, not a flat card: neighbouring pixels differ somewhere, and the picture is not clipped white.
    assert np.abs(np.diff(grey, axis=1)).mean() > 0.5 or np.abs(np.diff(grey, axis=0)).mean() > 0.5
    assert 5 < grey.mean() < 250


def test_kinds_are_drawn_at_random():
    rng = np.random.default_rng(0)
    pictures = [texture(rng, 32, 32) for _ in range(8)]
    assert len({p.tobytes() for p in pictures}) == 8
