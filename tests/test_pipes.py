"""Pipes like ffmpeg's: `-`/`pipe:` for INPUT and OUTPUT, through a real ffmpeg on both sides."""
from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

av = pytest.importorskip("av")

from clips import make_clip  # noqa: E402

FFMPEG = shutil.which("ffmpeg")
needs_ffmpeg = pytest.mark.skipif(FFMPEG is None, reason="needs the ffmpeg command (Debian: ffmpeg)")
VDEBLUR = [sys.executable, "-m", "vdeblur.cli", "run"]


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    p = tmp_path_factory.mktemp("pipes") / "in.mp4"
    make_clip(p, frames=40, width=96, height=64)
    return p


def _video_times(path) -> list[float]:
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        return [round(float(p.pts * v.time_base), 4) for p in c.demux(v) if p.pts is not None]


def _audio_packets(path) -> int:
    with av.open(str(path)) as c:
        return sum(1 for p in c.demux(audio=0) if p.size)


@needs_ffmpeg
def test_ffmpeg_to_vdeblur_to_ffmpeg_keeps_frames_pts_and_audio(tmp_path, clip, tiny_weights):
    ref, out = tmp_path / "ref.mkv", tmp_path / "out.mkv"
    # What ffmpeg alone gives through the same nut pipe: the reference for timestamps.
    subprocess.run(f"{FFMPEG} -v error -i {clip} -f nut - | {FFMPEG} -v error -y -i - -c copy {ref}",
                   shell=True, check=True, timeout=60)
    cmd = (f"{FFMPEG} -v error -i {clip} -f nut - | {' '.join(VDEBLUR)} - -o - -f nut --model {tiny_weights} "
           f"--quiet | {FFMPEG} -v error -y -i - -c copy {out}")
    r = subprocess.run(cmd, shell=True, timeout=120, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    got, want = sorted(_video_times(out)), sorted(_video_times(ref))
    assert len(got) == len(want) == 40
    assert got == pytest.approx(want, abs=2e-3)
    assert _audio_packets(out) == _audio_packets(ref) > 0


@needs_ffmpeg
def test_raw_frames_in_and_y4m_out(tmp_path, clip, tiny_weights):
    out = tmp_path / "y4m.mkv"
    cmd = (f"{FFMPEG} -v error -i {clip} -f rawvideo -pix_fmt yuv420p - | {' '.join(VDEBLUR)} - "
           f"--input-format rawvideo -s 96x64 -pix_fmt yuv420p -r 25 -o pipe: -f yuv4mpegpipe "
           f"--model {tiny_weights} --quiet | {FFMPEG} -v error -y -i - {out}")
    r = subprocess.run(cmd, shell=True, timeout=120, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert len(_video_times(out)) == 40


def test_a_reader_that_goes_away_ends_the_run_cleanly(tmp_path, clip, tiny_weights):
    p = subprocess.Popen([*VDEBLUR, str(clip), "-o", "-", "--model", str(tiny_weights), "--quiet"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdout.read(500)
    p.stdout.close()
    err = p.stderr.read().decode()
    assert p.wait(timeout=60) == 141
    assert err.strip().splitlines()[-1].startswith("vdeblur: error: the reader of pipe:1 went away")


@pytest.mark.parametrize("args,words", [(("-f", "mp4"), "cannot be written to a pipe"),
                                        (("--json", "-"), "both write to standard output")])
def test_pipe_mistakes_fail_before_work(tmp_path, clip, tiny_weights, args, words, capsys):
    from vdeblur.cli import main

    code = main(["run", str(clip), "-o", "-", "--model", str(tiny_weights), "--quiet", *args])
    assert code == 2
    captured = capsys.readouterr()
    assert words in captured.err and captured.out == ""
