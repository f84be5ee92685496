import numpy as np
import pytest

from vdeblur.ring import FrameRing


def frame(v):
    return np.full((1, 2, 2), float(v), dtype=np.float32)


def test_first_push_fills_window_and_order_is_oldest_first():
    r = FrameRing(3, (1, 2, 2))
    r.push(frame(1))
    assert r.window()[:, 0, 0, 0].tolist() == [1, 1, 1]
    r.push(frame(2))
    r.push(frame(3))
    r.push(frame(4))
    assert r.window()[:, 0, 0, 0].tolist() == [2, 3, 4]


def test_window_is_a_view_into_the_ring_not_a_copy():
    r = FrameRing(2, (1, 2, 2))
    for v in (1, 2, 3):
        r.push(frame(v))
    w = r.window()
    assert w.flags.c_contiguous and np.shares_memory(w, r._store)
    # Writing through the ring's storage shows in the window: the two share memory, no copy was made.
    r._store.fill(9)
    assert w[:, 0, 0, 0].tolist() == [9, 9]
    # After the next push the oldest frame the view showed is overwritten (documented ownership rule).
    r.clear()
    r.push(frame(1))
    view = r.window()
    r.push(frame(2))
    r.push(frame(3))
    assert view[:, 0, 0, 0].tolist() != [1, 1]


def test_many_pushes_keep_the_newest_k():
    r = FrameRing(4, (1, 2, 2))
    for i in range(1, 20):
        r.push(frame(i))
        got = r.window()[:, 0, 0, 0].tolist()
        assert got == [max(1, j) for j in range(i - 3, i + 1)]


def test_clear_and_bad_shape():
    r = FrameRing(2, (1, 2, 2))
    with pytest.raises(RuntimeError):
        r.window()
    r.push(frame(5))
    r.clear()
    r.push(frame(7))
    assert r.window()[:, 0, 0, 0].tolist() == [7, 7]
    with pytest.raises(ValueError):
        r.push(np.zeros((1, 3, 3), np.float32))


def test_a_non_contiguous_ring_keeps_each_frame_once_in_order():
    r = FrameRing(3, (1, 2, 2), contiguous=False)
    assert r._store.shape[0] == 3
    r.push(frame(1))
    assert [float(f[0, 0, 0]) for f in r.frames()] == [1, 1, 1]
    for v in (2, 3, 4, 5):
        r.push(frame(v))
    assert [float(f[0, 0, 0]) for f in r.frames()] == [3, 4, 5]
    with pytest.raises(RuntimeError, match="contiguous"):
        r.window()
    r.clear()
    with pytest.raises(RuntimeError, match="empty"):
        r.frames()


def test_the_cpu_ring_is_numpy_and_its_dtype_is_kept():
    r = FrameRing(2, (4, 4, 3), dtype="uint8", contiguous=False)
    r.push(np.full((4, 4, 3), 200, np.uint8))
    assert all(isinstance(f, np.ndarray) and f.dtype == np.uint8 and f[0, 0, 0] == 200 for f in r.frames())
