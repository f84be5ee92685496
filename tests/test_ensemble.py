"""--quality high (vdeblur/ensemble.py): three passes averaged, outputs later than inputs, in order."""
import numpy as np
import pytest

from vdeblur.deblurrer import Deblurrer
from vdeblur.ensemble import EnsembleDeblurrer, chunk_sizes


class WindowMean:
    """A stand-in network: the mean of its K-frame window (mode "mean"), or the newest frame ("last")."""

    def __init__(self, mode: str, window: int = 3):
        self.mode, self.window, self.stride, self.margin, self.device = mode, window, 1, 0, "cpu"

    def init_state(self, h, w, slot=0):
        return []

    def step(self, window, state):
        frame = window[:, -1] if self.mode == "last" else window.mean(axis=1)
        return frame, state


def frames(n, h=6, w=8, seed=0):
    return list(np.random.default_rng(seed).integers(0, 256, (n, h, w, 3), dtype=np.uint8))


def run(ens, inputs):
    out = []
    for rgb in inputs:
        out += ens.push(rgb)
    return out + ens.flush()


def test_an_identity_network_gives_back_every_frame_in_order():
    inputs = frames(11)
    ens = EnsembleDeblurrer(WindowMean("last"), scene_cut=False, chunk=3, lookahead=2)
    out = run(ens, inputs)
    assert len(out) == 11
    assert all(np.array_equal(a, b) for a, b in zip(out, inputs))
    assert ens.pending == []


def test_the_backward_pass_sees_the_frames_after():
    black, white = np.zeros((4, 4, 3), np.uint8), np.full((4, 4, 3), 255, np.uint8)
    inputs = [black] * 5 + [white] + [black] * 4
    forward = [Deblurrer(WindowMean("mean"), scene_cut=False).process(f) for f in inputs[:5]]
    assert forward[4].max() == 0                          # a forward pass cannot know frame 5 yet
    out = run(EnsembleDeblurrer(WindowMean("mean"), scene_cut=False, chunk=4, lookahead=2), inputs)
    # The backward pass's window at frame 4 holds frames 4..6: a third of it white, a third of the three
    # passes' mean: 255 / 9.
    assert np.all(out[4] == round(255 / 9)) and out[3].max() > 0 and out[0].max() == 0


def test_a_new_frame_size_finishes_the_waiting_frames_at_their_size():
    ens = EnsembleDeblurrer(WindowMean("last"), scene_cut=False, chunk=8, lookahead=4)
    small, big = frames(3, 4, 6), frames(2, 6, 8, seed=1)
    assert [ens.push(f) for f in small] == [[], [], []]
    done = ens.push(big[0])
    assert [d.shape for d in done] == [(4, 6, 3)] * 3
    assert all(np.array_equal(a, b) for a, b in zip(done, small))
    assert len(ens.flush() + ens.push(big[1]) + ens.flush()) == 2


@pytest.mark.parametrize("h,w", [(360, 640), (2160, 3840), (8640, 15360)])
def test_waiting_frames_stay_within_the_memory_bound(h, w):
    chunk, look = chunk_sizes(h, w)
    assert chunk >= 1 and look >= 1 and chunk >= look
    assert (chunk + look) * 9 * h * w <= max(1 << 30, 5 * 9 * h * w)


def test_quality_high_writes_every_frame_with_its_timestamps_and_refuses_live(tmp_path, tiny_weights):
    from clips import make_clip, video_pts
    from vdeblur.config import ModelConfig, RunConfig
    from vdeblur.errors import UsageError
    from vdeblur.pipeline import run_file

    inp, out = tmp_path / "in.mp4", tmp_path / "out.mp4"
    make_clip(inp, frames=40, width=96, height=64)
    model = ModelConfig(spec=str(tiny_weights), backend="onnxruntime")
    s = run_file(RunConfig(input=str(inp), output=str(out), model=model, quality="high"))
    assert s["frames_in"] == s["frames_out"] == 40 and s["quality"] == "high"
    assert video_pts(out) == video_pts(inp)
    with pytest.raises(UsageError, match="--quality high is for files"):
        run_file(RunConfig(input="rtsp://127.0.0.1:9/x", output=str(tmp_path / "live.mp4"), model=model,
                           quality="high"))
    assert not (tmp_path / "live.mp4").exists()


def test_three_passes_on_one_engine_keep_their_own_states(tiny_weights):
    """The mean of three passes run one after the other is what the ensemble gives when it interleaves
    them on the same engine: an engine that writes the state into buffers it owns must keep them apart."""
    from vdeblur.backends.select import open_backend
    from vdeblur.config import ModelConfig

    engine = open_backend(ModelConfig(spec=str(tiny_weights), backend="onnxruntime", precision="fp32"),
                          size=(24, 32))
    inputs = frames(7, 24, 32, seed=3)
    passes = [Deblurrer(engine, scene_cut=False) for _ in range(3)]
    fwd = [passes[0].process(f) for f in inputs]
    mir = [passes[1].process(np.ascontiguousarray(f[:, ::-1]))[:, ::-1] for f in inputs]
    bwd = [passes[2].process(f) for f in inputs[::-1]][::-1]
    want = [((a.astype(int) + b + c + 1) // 3).astype(np.uint8) for a, b, c in zip(fwd, mir, bwd)]
    got = run(EnsembleDeblurrer(engine, scene_cut=False), inputs)
    assert all(np.array_equal(a, b) for a, b in zip(got, want))
    engine.close()
