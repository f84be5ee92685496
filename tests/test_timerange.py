"""Time ranges in media time (-ss, -t, -to, --duration on a file): frame-accurate, timestamps from 0 as
FFmpeg's (or kept with --copyts), the state warmed on the frames before the start, audio cut alike."""
from __future__ import annotations

import pytest

av = pytest.importorskip("av")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from clips import make_clip  # noqa: E402
from vdeblur.cli import main  # noqa: E402
from vdeblur.colour import frame_to_rgb  # noqa: E402
from vdeblur.model.loading import save_weights  # noqa: E402
from vdeblur.model.net import PRESETS, DeblurNet  # noqa: E402
from vdeblur.timerange import TimeRange, parse_time  # noqa: E402
from vdeblur.errors import UsageError  # noqa: E402


@pytest.fixture(scope="module")
def clip30(tmp_path_factory):
    p = tmp_path_factory.mktemp("tr") / "in.mp4"
    make_clip(p, frames=120, width=96, height=64, rate=30)
    return p


@pytest.fixture(scope="module")
def identity(tmp_path_factory):
    net = DeblurNet(PRESETS["tiny"])
    with torch.no_grad():
        net.head.weight.zero_()
        net.head.bias.zero_()
    path = tmp_path_factory.mktemp("id") / "identity.safetensors"
    save_weights(net, path, {"preset": "tiny"})
    return path


def _frames(path):
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        return [(float(f.pts * v.time_base), frame_to_rgb(f)) for f in c.decode(video=0)]


def _audio_span(path):
    with av.open(str(path)) as c:
        ts = [float(p.pts * p.time_base) for p in c.demux(audio=0) if p.pts is not None]
    return min(ts), max(ts)


def _run(*args) -> int:
    return main(["run", *map(str, args), "--quiet", "--backend", "onnxruntime", "--precision", "fp32"])


def test_ss_t_gives_exactly_the_range_from_zero(tmp_path, clip30, identity):
    out = tmp_path / "o.mp4"
    assert _run(clip30, "-o", out, "--model", identity, "-ss", "1", "-t", "2") == 0
    got, src = _frames(out), _frames(clip30)
    assert len(got) == 60
    assert got[0][0] == pytest.approx(0.0, abs=1e-6) and got[-1][0] == pytest.approx(59 / 30, abs=1e-3)
    # The first frame written is the input's frame at 1 s (the identity network leaves it as it is).
    mse = [np.mean((got[0][1].astype(float) - rgb) ** 2) for _, rgb in src]
    assert int(np.argmin(mse)) == 30
    lo, hi = _audio_span(out)
    assert -0.03 <= lo <= 0.05 and 1.9 <= hi <= 2.0


def test_ss_on_mpeg_ts_never_skips_a_frame(tmp_path, identity, caplog):
    """MPEG-TS seeks by a byte estimate and may land after the warm-up start: the range is then read from
    the beginning instead, and still holds exactly its frames, the first being the input's at 1 s."""
    src = tmp_path / "in.ts"
    make_clip(src, frames=90, width=96, height=64, rate=30)
    out = tmp_path / "o.mkv"
    # Before the fix this range came out as 5 frames from 1.83 s.
    assert _run(src, "-o", out, "--model", identity, "-ss", "1.5", "-t", "0.5") == 0
    got, frames = _frames(out), _frames(src)
    assert len(got) == 15
    mse = [np.mean((got[0][1].astype(float) - rgb) ** 2) for _, rgb in frames]
    assert int(np.argmin(mse)) == 45


def test_copyts_keeps_the_input_timestamps_and_to_is_an_end_time(tmp_path, clip30, identity):
    out = tmp_path / "o.mkv"
    assert _run(clip30, "-o", out, "--model", identity, "-ss", "00:00:01.5", "-to", "2", "--copyts") == 0
    got = _frames(out)
    assert len(got) == 15 and got[0][0] == pytest.approx(1.5, abs=1e-3)


def test_duration_on_a_file_is_media_time(tmp_path, clip30, identity):
    out = tmp_path / "o.mp4"
    assert _run(clip30, "-o", out, "--model", identity, "--duration", "1") == 0
    assert len(_frames(out)) == 30


@pytest.mark.parametrize("args,words", [(("-t", "1", "-to", "2"), "not both"), (("-ss", "2", "-to", "1"), "empty"),
                                        (("-ss", "9"), "no video frames"), (("-ss", "x"), "not a time")])
def test_bad_ranges_exit_2(tmp_path, clip30, identity, args, words, capsys):
    out = tmp_path / "o.mp4"
    with pytest.raises(SystemExit) if words == "not a time" else _nothing():
        code = _run(clip30, "-o", out, "--model", identity, *args)
        assert code == 2
    assert words in capsys.readouterr().err
    assert not out.exists()


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_parse_time_and_range():
    assert parse_time("90") == 90 and parse_time("01:30") == 90 and parse_time("1:00:00.5") == 3600.5
    with pytest.raises(UsageError):
        parse_time("-1")
    assert TimeRange.of(None, None, None) is None
    assert TimeRange.of(1.0, 2.0, None) == TimeRange(1.0, 3.0)
