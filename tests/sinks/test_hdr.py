"""HDR side data: mastering-display and light-level metadata come through with x265, exactly; other encoders
say that they do not carry it."""
from __future__ import annotations

import struct
from fractions import Fraction

import av
import numpy as np
import pytest

from vdeblur.cli import main

MASTER = "G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(10000000,1)"
X265 = f"log-level=error:colorprim=bt2020:transfer=smpte2084:colormatrix=bt2020nc:master-display={MASTER}:max-cll=1000,400"


@pytest.fixture(scope="module")
def hdr_clip(tmp_path_factory):
    if "libx265" not in av.codecs_available:
        pytest.skip("no libx265 in this FFmpeg")
    path = tmp_path_factory.mktemp("hdr") / "hdr.mkv"
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx265", rate=25)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p10le"
        s.options = {"x265-params": X265}
        for i in range(6):
            f = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 40 * i, np.uint8), format="rgb24")
            f = f.reformat(format="yuv420p10le")
            f.pts, f.time_base = i, Fraction(1, 25)
            for p in s.encode(f):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


def side_data(path):
    kinds = av.sidedata.sidedata.Type
    with av.open(str(path)) as c:
        f = next(c.decode(video=0))
        md, cll = f.side_data.get(kinds.MASTERING_DISPLAY_METADATA), f.side_data.get(kinds.CONTENT_LIGHT_LEVEL)
        return (struct.unpack("<22i", bytes(md)[:88]) if md is not None else None,
                struct.unpack("<2I", bytes(cll)[:8]) if cll is not None else None, int(f.color_trc or 0))


def test_x265_output_carries_mastering_display_and_light_level(hdr_clip, tmp_path, tiny_weights, caplog):
    out = tmp_path / "o.mkv"
    assert main(["run", str(hdr_clip), "-o", str(out), "--model", str(tiny_weights), "--codec", "libx265",
                 "--backend", "onnxruntime", "--precision", "fp32", "--quiet"]) == 0
    md_in, cll_in, trc_in = side_data(hdr_clip)
    md_out, cll_out, trc_out = side_data(out)
    assert md_in is not None and cll_in == (1000, 400) and trc_in == 16
    as_float = lambda v: [v[2 * i] / v[2 * i + 1] for i in range(10)]  # noqa: E731
    assert np.allclose(as_float(md_out), as_float(md_in)) and cll_out == cll_in and trc_out == 16


def test_other_encoders_say_the_metadata_is_not_written(hdr_clip, tmp_path, tiny_weights, caplog):
    with caplog.at_level("WARNING", logger="vdeblur"):
        assert main(["run", str(hdr_clip), "-o", str(tmp_path / "o.mkv"), "--model", str(tiny_weights),
                     "--backend", "onnxruntime", "--precision", "fp32", "--quiet"]) == 0
    assert "--codec libx265 only" in caplog.text
