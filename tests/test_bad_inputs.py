"""Every bad input and fault of file mode as one table: input maker, command, exit code, message, and the
state of OUTPUT and of its folder afterwards. The README's table of behaviours is this table.

    exit 0  the output is complete: frames out == frames in, timestamps kept
    exit 2  nothing was written at OUTPUT (an existing file there is untouched)
    exit 3  damaged or truncated input: every frame that decoded is in a complete, playable OUTPUT
"""
from __future__ import annotations

import os
import stat
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pytest

av = pytest.importorskip("av")

import bad_inputs as bad  # noqa: E402

CLI = [sys.executable, "-m", "vdeblur.cli"]
INFO_PREFIXES = ("backend:", "auto:", "memory:", "note:", "warning:", "vdeblur: error:", "TensorRT")


@dataclass
class Case:
    id: str
    make: Callable[[Path], Path]                  # folder -> the input
    args: tuple = ()                              # extra arguments; {dir} and {tiny} are filled in
    code: int = 0
    message: str = ""                             # in the last stderr line (exit != 0) or anywhere (exit 0)
    output: str | int = "absent"                  # "absent", "kept" (what was there is untouched), N frames
    out_name: str = "o.mp4"
    setup: Callable[[Path, Path], None] | None = None     # (folder, output) before the run
    check: Callable[[Path, Path, str], None] | None = None  # (folder, output, stderr) after it
    env: dict = field(default_factory=dict)
    root_skips: bool = False                      # root ignores permissions


def _existing(d: Path, out: Path) -> None:
    out.write_bytes(b"keep me")


def _mode_640(d: Path, out: Path) -> None:
    out.write_bytes(b"old")
    out.chmod(0o640)


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def _stale_temp(d: Path, out: Path) -> None:
    from vdeblur.files import HOST

    (d / f".{out.name}.{HOST}-{_dead_pid()}.abc123.partial.mp4").write_bytes(b"left by a killed run")


def _live_temp(d: Path, out: Path) -> None:
    from vdeblur.files import HOST

    (d / f".{out.name}.{HOST}-{os.getpid()}.abc123.partial.mp4").write_bytes(b"being written")


def _out_is_dir(d: Path, out: Path) -> None:
    out.mkdir()


def _ro_dir(d: Path, out: Path) -> None:
    d.chmod(0o500)


def _hardlink_out(d: Path, out: Path) -> None:
    os.link(d / "in.mp4", out)


def _damaged_cache(d: Path, out: Path) -> None:
    env = {**os.environ, "VDEBLUR_CACHE": str(d / "cache")}
    code = ("import sys; from vdeblur.backends.exported import exported_step; p = exported_step(sys.argv[1]).onnx; "
            "p.write_bytes(p.read_bytes()[:500])")
    subprocess.run([sys.executable, "-c", code, str(TINY[0])], env=env, check=True)


def _mode(expected: int):
    def check(d: Path, out: Path, err: str) -> None:
        assert stat.S_IMODE(out.stat().st_mode) == expected, oct(out.stat().st_mode)
    return check


def _size(w: int, h: int):
    def check(d: Path, out: Path, err: str) -> None:
        assert bad.frames_and_size(out)[1:] == (w, h)
    return check


def _rotated(d: Path, out: Path, err: str) -> None:
    assert bad.display_matrix(out) == bad.display_matrix(d / "rot.mp4") != bad._DEFAULT_MATRIX


def _has_stream(kind: str, codec: str):
    def check(d: Path, out: Path, err: str) -> None:
        assert (kind, codec) in bad.streams(out), bad.streams(out)
    return check


def _no_stale(d: Path, out: Path, err: str) -> None:
    assert not [p for p in d.iterdir() if "partial" in p.name]


def _live_temp_kept(d: Path, out: Path, err: str) -> None:
    assert [p for p in d.iterdir() if f"-{os.getpid()}." in p.name]   # another run's file is not touched


TINY: list[Path] = []     # filled by the fixture below (the makers run inside the test)

CASES = [
    # -- inputs that cannot be read: exit 2, nothing written
    Case("missing input", lambda d: d / "nope.mp4", code=2, message="input not found"),
    Case("input is a directory", lambda d: d, code=2, message="directory"),
    Case("empty input", lambda d: (d / "empty.mp4").write_bytes(b"") or d / "empty.mp4", code=2, message="media"),
    Case("not media", lambda d: (d / "t.mp4").write_text("not a video\n" * 50) and d / "t.mp4", code=2,
         message="as media"),
    Case("audio only", bad.audio_only, code=2, message="no video stream"),
    Case("video stream without packets", bad.video_without_packets, code=2, message="no video frames"),
    # -- damaged inputs: exit 3, every decodable frame written
    Case("truncated mp4 (faststart, 50%)", bad.truncated, code=3, message="of the 60 frames the container announces",
         output=-1),
    Case("truncated mkv (50%)", lambda d: bad.truncated(d, name="cut.mkv"), code=3, message="the video ends at",
         output=-1, out_name="o.mkv"),
    Case("garbage in the middle (mpeg-ts)", bad.garbage_middle, code=3, message="damaged or undecodable",
         output=-1, out_name="o.mkv"),
    # -- unusual but valid inputs: exit 0, complete output
    Case("odd size 321x179", lambda d: bad.good(d, width=321, height=179, frames=6, pix_fmt="yuv444p"),
         output=6, message="odd side", check=_size(321, 179)),
    Case("1x1 frames", lambda d: bad.good(d, "one.mkv", width=1, height=1, frames=4, pix_fmt="yuv444p", audio=False),
         output=4, check=_size(1, 1)),
    Case("5x3 frames (below the stride)", lambda d: bad.good(d, "small.mkv", width=5, height=3, frames=4,
                                                                 pix_fmt="yuv444p", audio=False),
         output=4, out_name="o.mkv", check=_size(5, 3)),
    Case("VFR Matroska", lambda d: bad.good(d, "vfr.mkv", vfr=True), output=12, out_name="o.mkv"),
    Case("MPEG-4 part 2 in AVI", lambda d: bad.good(d, "m4.avi", codec="mpeg4", audio=False), output=12,
         out_name="o.mkv"),
    Case("phone video rotated 90", lambda d: bad.remux(bad.good(d), d / "rot.mp4", rotation=90), output=12,
         check=_rotated),
    Case("SRT subtitles, mkv -> mp4", lambda d: bad.remux(bad.good(d), d / "sub.mkv", srt=True), output=12,
         check=_has_stream("subtitle", "mov_text")),
    Case("AAC in MPEG-TS -> MP4 (ADTS rewrapped)", lambda d: bad.good(d, "a.ts"), output=12,
         check=_has_stream("audio", "aac")),
    Case("PCM audio -> MPEG-TS (re-encoded as AAC)", bad.pcm_audio, output=12, out_name="o.ts",
         message="re-encoded as aac", check=_has_stream("audio", "aac")),
    Case("second video stream", lambda d: bad.remux(bad.good(d), d / "two.mkv", extra_video=True), output=12,
         message="vdeblur writes one video stream"),
    # -- outputs that cannot be written: exit 2, nothing written
    Case("output = input", bad.good, ("-y",), code=2, message="same file", output="kept", out_name="in.mp4"),
    Case("output hard link to input", bad.good, ("-y",), code=2, message="same file", output="kept",
         setup=_hardlink_out),
    Case("output folder missing", bad.good, code=2, message="does not exist", out_name="no/such/o.mp4"),
    Case("output folder read-only", bad.good, code=2, message="not writable", setup=_ro_dir, root_skips=True),
    Case("output exists, no -y", bad.good, code=2, message="overwrite it with -y", output="kept", setup=_existing),
    Case("output is a directory", bad.good, ("-y",), code=2, message="directory", setup=_out_is_dir,
         output="kept"),
    Case("output without extension", bad.good, code=2, message="extension", out_name="o"),
    Case("output extension no muxer has", bad.good, code=2, message="no container", out_name="o.xyz"),
    Case("output being written by another run", bad.good, code=2, message="being written by another process",
         setup=_live_temp, check=_live_temp_kept),
    # -- options: exit 2 before any work
    Case("unknown encoder", bad.good, ("--codec", "nosuchcodec"), code=2, message="unknown video encoder"),
    Case("--crf 99", bad.good, ("--crf", "99"), code=2, message="out of range for libx264 (0 to 51"),
    Case("--crf -5", bad.good, ("--crf", "-5"), code=2, message="out of range"),
    Case("--preset bogus", bad.good, ("--preset", "bogus"), code=2, message="unknown libx264 preset 'bogus'"),
    Case("--crf with ffv1", bad.good, ("--codec", "ffv1", "--crf", "20"), code=2, message="--codec-opt",
         out_name="o.mkv"),
    Case("unknown encoder option", bad.good, ("--codec-opt", "nosuch=1"), code=2, message="has no option nosuch"),
    Case("--pix-fmt 4:2:0 at an odd size", lambda d: bad.good(d, width=33, height=17, frames=2, pix_fmt="yuv444p"),
         ("--pix-fmt", "yuv420p"), code=2, message="cannot hold the odd size"),
    Case("unknown backend", bad.good, ("--backend", "bogus"), code=2, message="invalid choice"),
    Case("random-bytes weights", bad.good, ("--model", "{dir}/w.safetensors"), code=2, message="bad weights",
         setup=lambda d, out: (d / "w.safetensors").write_bytes(os.urandom(300))),
    Case("pickle weights", bad.good, ("--model", "{dir}/evil.safetensors"), code=2, message="bad weights",
         setup=lambda d, out: bad.pickle_weights(d) and None),
    # -- the output file: modes, temporaries, options passed through
    Case("new output gets 0644 under umask 022", bad.good, output=12, check=_mode(0o644)),
    Case("-y keeps the replaced file's mode", bad.good, ("-y",), output=12, setup=_mode_640, check=_mode(0o640)),
    Case("stale temp of a killed run removed", bad.good, output=12, setup=_stale_temp, check=_no_stale),
    Case("mpeg4 with --codec-opt b=2M", bad.good, ("--codec", "mpeg4", "--codec-opt", "b=2M"), output=12,
         out_name="o.avi", check=_has_stream("video", "mpeg4")),
    # -- the cache
    Case("unwritable cache", bad.good, output=12, message="set VDEBLUR_CACHE", env={"VDEBLUR_CACHE": "/proc/vdeblur"}),
    Case("damaged cached ONNX rebuilt", bad.good, output=12, message="damaged; exporting it again",
         setup=_damaged_cache, env={"VDEBLUR_CACHE": "{dir}/cache"}),
]


@pytest.fixture
def tiny(tiny_weights):
    TINY[:] = [tiny_weights]
    return tiny_weights


def _fill(v: str, d: Path, tiny: Path) -> str:
    return v.replace("{dir}", str(d)).replace("{tiny}", str(tiny))


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_table(case: Case, tmp_path: Path, tiny: Path):
    if case.root_skips and os.geteuid() == 0:
        pytest.skip("root can write to any directory")
    d = tmp_path / "work"
    d.mkdir()
    inp = case.make(d)
    out = d / case.out_name
    if case.setup:
        case.setup(d, out)
    before = out.read_bytes() if out.is_file() else None
    args = [_fill(str(a), d, tiny) for a in case.args]
    if "--model" not in args:
        args += ["--model", str(tiny)]
    env = {**os.environ, **{k: _fill(v, d, tiny) for k, v in case.env.items()}}
    r = subprocess.run([*CLI, "run", str(inp), "-o", str(out), *args], capture_output=True, text=True,
                       timeout=300, env=env, preexec_fn=lambda: os.umask(0o022))
    d.chmod(0o755)
    err = r.stderr
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert r.returncode == case.code, err
    assert "Traceback" not in err
    for ln in lines:   # nothing but our own one-line messages (progress bars are off without a terminal)
        assert ln.startswith(INFO_PREFIXES) or " frames (" in ln, ln
    if case.code:
        assert lines[-1].startswith("vdeblur: error:") and case.message in lines[-1], err
        if case.code == 2:
            assert sum(ln.startswith("vdeblur: error:") for ln in lines) == 1
    else:
        assert case.message in err, err
    if case.output == "absent":
        assert not out.exists()
    elif case.output == "kept":
        assert (out.read_bytes() if out.is_file() else None) == before
    else:
        n = bad.frames_and_size(out)[0]
        assert n > 0
        if case.output >= 0:
            assert n == case.output
        if case.code == 3:   # "the N frames that decoded were all written"
            assert f"the {n} frames that decoded were all written" in lines[-1]
    # No temporary is ever left behind (except one that belongs to another living run).
    assert not [p for p in d.rglob("*") if ".partial" in p.name and f"-{os.getpid()}." not in p.name]
    if case.check:
        case.check(d, out, err)


# ---- faults while writing: disk full, a signal, a kill, a rival run, a failed rename ----------------------

@pytest.fixture
def small_disk(tmp_path):
    """A folder on a tiny tmpfs (root only; skipped where mounting is not allowed)."""
    def mount(size_kb: int) -> Path:
        d = tmp_path / f"disk{size_kb}"
        d.mkdir()
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(d)], capture_output=True)
        if r.returncode:
            pytest.skip("cannot mount a small tmpfs here (needs root)")
        mounted.append(d)
        return d
    mounted: list[Path] = []
    yield mount
    for d in mounted:
        subprocess.run(["umount", str(d)], capture_output=True)


@pytest.mark.parametrize("where", ["while encoding", "at the final write"])
def test_disk_full_is_one_line_and_leaves_nothing(small_disk, tmp_path, tiny_weights, where):
    inp = bad.good(tmp_path, frames=40, width=160, height=96)
    args = ["--model", str(tiny_weights), "--codec", "libx264rgb", "--crf", "0"]
    ref = tmp_path / "ref.mp4"
    assert subprocess.run([*CLI, "run", str(inp), "-o", str(ref), *args], capture_output=True).returncode == 0
    size_kb = 64 if where == "while encoding" else max(8, ref.stat().st_size // 1024 - 4)
    d = small_disk(size_kb)
    r = subprocess.run([*CLI, "run", str(inp), "-o", str(d / "o.mp4"), *args], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 2, r.stderr
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("vdeblur: error: disk full") and str(d) in last, r.stderr
    assert list(d.iterdir()) == []


def test_sigkill_temp_is_removed_by_the_next_run(tmp_path, tiny_weights):
    import signal
    import time

    inp = bad.good(tmp_path, frames=300, width=320, height=192)
    out = tmp_path / "o.mp4"
    p = subprocess.Popen([*CLI, "run", str(inp), "-o", str(out), "--model", str(tiny_weights), "--preset", "slow"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and not [f for f in tmp_path.iterdir() if ".partial" in f.name]:
        time.sleep(0.05)
    p.send_signal(signal.SIGKILL)
    p.wait()
    left = [f for f in tmp_path.iterdir() if ".partial" in f.name]
    assert left and f"-{p.pid}." in left[0].name        # what SIGKILL leaves: a temp named with its PID
    r = subprocess.run([*CLI, "run", str(inp), "-o", str(out), "--model", str(tiny_weights), "--max-frames", "5"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert not [f for f in tmp_path.iterdir() if ".partial" in f.name]


def test_publish_never_replaces_a_file_that_appeared(tmp_path):
    from vdeblur import files
    from vdeblur.errors import OutputError

    final = tmp_path / "o.mp4"
    tmp = files.temp_for(final, ".mp4")
    tmp.write_bytes(b"mine")
    final.write_bytes(b"the other run's")
    with pytest.raises(OutputError, match="appeared while this run was writing"):
        files.publish(tmp, final, overwrite=False)
    assert final.read_bytes() == b"the other run's"
    files.publish(tmp, final, overwrite=True)
    assert final.read_bytes() == b"mine" and not tmp.exists()


def test_failed_final_rename_removes_the_temp(tmp_path, clip):
    from vdeblur.config import EncodeConfig
    from vdeblur.errors import OutputError
    from vdeblur.sinks.video import FileSink
    from vdeblur.source import Source

    src = Source(str(clip))
    out = tmp_path / "o.mp4"
    sink = FileSink(out, src.info, EncodeConfig(preset="ultrafast"), src.info.width, src.info.height, [])
    for item in src.items():
        if hasattr(item, "rgb"):
            sink.write_frame(item.rgb, item.pts)
    src.close()
    out.mkdir()                      # the destination became a directory meanwhile: the rename must fail
    with pytest.raises(OutputError, match="cannot finish"):
        sink.close()
    assert not [p for p in tmp_path.iterdir() if ".partial" in p.name] and out.is_dir()


# ---- the Python API: the same outcomes as exceptions ------------------------------------------------------

def test_api_errors_are_vdeblur_errors(tmp_path, tiny_weights):
    from vdeblur import DamagedInput, VdeblurError, deblur_file
    from vdeblur.errors import InputError, UnknownOption

    cut = bad.truncated(tmp_path)
    with pytest.raises(DamagedInput) as e:
        deblur_file(cut, tmp_path / "o.mp4", model=str(tiny_weights))
    assert e.value.summary["frames_out"] == bad.frames_and_size(tmp_path / "o.mp4")[0] < 60
    assert e.value.summary["input_complete"] is False
    with pytest.raises(InputError, match="no video frames"):
        deblur_file(bad.video_without_packets(tmp_path), tmp_path / "n.mp4", model=str(tiny_weights))
    assert not (tmp_path / "n.mp4").exists()
    good = bad.good(tmp_path)
    for kwargs, match in [({"backend": "bogus"}, "unknown backend"), ({"precision": "fp8"}, "unknown precision"),
                          ({"crf": 99}, "out of range"), ({"max_frames": 0}, "must be positive")]:
        with pytest.raises(VdeblurError, match=match):
            deblur_file(good, tmp_path / "x.mp4", model=str(tiny_weights), **kwargs)
    (tmp_path / "x.mp4").write_bytes(b"")
    with pytest.raises(VdeblurError, match="overwrite=True"):
        deblur_file(good, tmp_path / "x.mp4", model=str(tiny_weights))
    with pytest.raises(UnknownOption) as u:
        deblur_file(good, tmp_path / "y.mp4", colour="red")
    assert isinstance(u.value, TypeError) and isinstance(u.value, VdeblurError)


def test_progress_total_from_duration(tmp_path, tiny_weights):
    """Containers without a frame count (Matroska) still give the progress bar a total, from the duration."""
    from vdeblur.config import ModelConfig, RunConfig
    from vdeblur.pipeline import run_file

    mkv = bad.good(tmp_path, "in.mkv", frames=25)
    seen = []
    run_file(RunConfig(input=str(mkv), output=str(tmp_path / "o.mkv"), model=ModelConfig(spec=str(tiny_weights))),
             on_progress=lambda n, total: seen.append((n, total)))
    assert seen[-1] == (25, 25)


def test_export_refuses_to_overwrite(tmp_path, tiny_weights):
    out = tmp_path / "m.onnx"
    out.write_bytes(b"keep")
    r = subprocess.run([*CLI, "export", "--model", str(tiny_weights), "-o", str(out)], capture_output=True, text=True)
    assert r.returncode == 2 and "use -y" in r.stderr and out.read_bytes() == b"keep"
    r = subprocess.run([*CLI, "export", "--model", str(tiny_weights), "-o", str(tmp_path)], capture_output=True,
                       text=True)
    assert r.returncode == 2 and "is a directory" in r.stderr


def test_valid_files_are_not_called_damaged(tmp_path, tiny_weights):
    """A copy cut with an edit list (ffmpeg -ss 0.3 -c copy) and a constant-rate MP4 with gaps in its timeline
    but every indexed frame present exit 0 (#25)."""
    import shutil

    from vdeblur.cli import main

    if shutil.which("ffmpeg") is None:
        pytest.skip("needs the ffmpeg command")
    src = bad.good(tmp_path, "src.mp4", frames=40, width=64, height=48)
    cut = tmp_path / "cut.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-ss", "0.3", "-i", str(src), "-c", "copy", str(cut)], check=True)
    gaps = tmp_path / "gaps.mp4"      # every 5th frame dropped, the others keep their times
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(src), "-vf", "select='mod(n\\,5)'",
                    "-fps_mode", "passthrough", "-an", str(gaps)], check=True)
    for inp in (cut, gaps):
        out = tmp_path / (inp.stem + "_out.mp4")
        assert main(["run", str(inp), "-o", str(out), "--model", str(tiny_weights), "--quiet"]) == 0, inp.name


def test_a_size_change_mid_stream_is_fitted_not_squeezed_and_not_damage(tmp_path, tiny_weights, caplog):
    """MPEG-TS 160x96 then 320x180 with continuous timestamps (two files joined): every frame written at
    the first size, aspect kept, one warning, exit 0 (#25)."""
    import shutil

    from vdeblur.cli import main

    if shutil.which("ffmpeg") is None:
        pytest.skip("needs the ffmpeg command")
    parts = []
    for size, offset in (("160x96", "0"), ("320x180", "1.08")):
        p = tmp_path / f"{size}.ts"
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc=size={size}:rate=25", "-t", "1",
                        "-c:v", "libx264", "-pix_fmt", "yuv420p", "-output_ts_offset", offset, "-f", "mpegts",
                        str(p)], check=True)
        parts.append(p.read_bytes())
    joined = tmp_path / "joined.ts"
    joined.write_bytes(b"".join(parts))
    out = tmp_path / "o.mp4"
    with caplog.at_level("WARNING", logger="vdeblur"):
        assert main(["run", str(joined), "-o", str(out), "--model", str(tiny_weights), "--quiet"]) == 0
    assert "changes size mid-stream (160x96 -> 320x180" in caplog.text
    frames, w, h = bad.frames_and_size(out)
    assert (frames, w, h) == (50, 160, 96)
