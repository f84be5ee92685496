"""No run destroys a file: every written path is checked by identity before any work (vdeblur.paths), an
OUTPUT is locked for the whole run (files.hold), the input is opened once (pipes lose nothing)."""
from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

av = pytest.importorskip("av")

import bad_inputs as bad  # noqa: E402
from vdeblur import files  # noqa: E402
from vdeblur.cli import main  # noqa: E402
from vdeblur.errors import OutputError, UsageError  # noqa: E402
from vdeblur.paths import Written, check_written  # noqa: E402


def _run(*args) -> int:
    return main(["run", *map(str, args), "--quiet", "--preset", "ultrafast"])


@pytest.fixture
def clip(tmp_path) -> Path:
    return bad.good(tmp_path, "in.mp4", frames=6, width=64, height=48)


@pytest.mark.parametrize("extra", [
    ("--json", "{dir}/in.mp4"),                     # the input replaced by JSON, before
    ("--json", "{dir}/o.mp4"),                      # OUTPUT replaced by JSON
    ("--explain", "{dir}/./o.mp4", "-y"),           # the same file through ./
    ("--explain", "{dir}/sub/../o.mp4", "-y"),      # through ..
    ("--report", "{dir}/link.png"),                 # a symbolic link to the input
    ("--json", "{dir}/hard.mp4"),                   # a hard link to the input
])
def test_a_written_path_that_is_an_input_or_another_output_is_refused_before_work(tmp_path, clip, tiny_weights,
                                                                                  extra, capsys):
    (tmp_path / "sub").mkdir()
    os.link(clip, tmp_path / "hard.mp4")
    (tmp_path / "link.png").symlink_to(clip)
    before = clip.read_bytes()
    code = _run(clip, "-o", tmp_path / "o.mp4", "--model", tiny_weights, *(e.format(dir=tmp_path) for e in extra))
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("vdeblur: error:")
    assert "same file" in err[0] or "is the input" in err[0]
    assert clip.read_bytes() == before
    assert not (tmp_path / "o.mp4").exists()
    assert not [p for p in tmp_path.iterdir() if ".partial" in p.name or p.name.endswith(".lock")]


@pytest.mark.parametrize("extra,words", [
    (("--json", "{dir}/missing/run.json"), "folder does not exist"),
    (("--json", "{dir}/sub"), "is a directory"),
    (("--json", "{dir}/run.txt"), "needs the extension .json"),
    (("--report", "{dir}/r.mp4"), "needs the extension"),
    (("--json", "{dir}/old.json"), "exists"),
    (("-o", "{dir}/" + "x" * 250 + ".mp4"), "too long"),
    (("-o", "{dir}/dangling.mp4"), "symbolic link to nothing"),
    (("--threads", "-1"), "threads"),
    (("--threads", "100000"), "threads"),
])
def test_bad_written_paths_and_numbers_fail_before_the_model_loads(tmp_path, clip, tiny_weights, extra, words, capsys):
    (tmp_path / "sub").mkdir()
    (tmp_path / "old.json").write_text("{}")
    (tmp_path / "dangling.mp4").symlink_to(tmp_path / "nowhere" / "x.mp4")
    args = [e.format(dir=tmp_path) for e in extra]
    if "-o" not in args:
        args += ["-o", str(tmp_path / "o.mp4")]
    code = _run(clip, "--model", tiny_weights, *args)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2, err
    assert words in err[-1]
    assert not (tmp_path / "o.mp4").exists()
    assert (tmp_path / "old.json").read_text() == "{}"


def test_json_dash_is_standard_output(tmp_path, clip, tiny_weights, capsys):
    assert _run(clip, "-o", tmp_path / "o.mp4", "--model", tiny_weights, "--json", "-") == 0
    import json

    assert json.loads(capsys.readouterr().out)["frames_out"] == 6
    assert not (tmp_path / "-").exists()


# Names that alias one another in a folder holding in.mp4: identity classes, the oracle of the property test.
ALIASES = {"in.mp4": "in", "./in.mp4": "in", "sub/../in.mp4": "in", "hard.mp4": "in", "soft.mp4": "in",
           "a.json": "a", "./a.json": "a", "sub/../a.json": "a", "softa.json": "a", "b.json": "b", "c.mp4": "c"}


@settings(max_examples=120, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=st.lists(st.sampled_from(sorted(ALIASES)), min_size=1, max_size=4))
def test_any_collision_by_identity_is_refused_and_nothing_is_touched(tmp_path, names):
    d = tmp_path / "p"
    if not d.exists():
        d.mkdir()
        (d / "sub").mkdir()
        (d / "in.mp4").write_bytes(b"input")
        os.link(d / "in.mp4", d / "hard.mp4")
        (d / "soft.mp4").symlink_to(d / "in.mp4")
        (d / "softa.json").symlink_to(d / "a.json")       # dangling until a.json exists: it never does
    before = sorted(p.name for p in d.iterdir())
    written = [Written(f"out{i}", str(d / n)) for i, n in enumerate(names)]
    classes = [ALIASES[n] for n in names]
    collide = "in" in classes or len(set(classes)) < len(classes)
    dangling = "softa.json" in names
    try:
        check_written([str(d / "in.mp4")], written, overwrite=True)
        refused = False
    except (OutputError, UsageError):
        refused = True
    assert refused == (collide or dangling)
    assert sorted(p.name for p in d.iterdir()) == before
    assert (d / "in.mp4").read_bytes() == b"input"


def test_a_second_run_to_a_held_output_refuses_at_once_even_with_y(tmp_path, clip, tiny_weights, capsys):
    out = tmp_path / "o.mp4"
    with files.hold(Path(os.path.realpath(out))):
        assert _run(clip, "-o", out, "--model", tiny_weights, "-y") == 2
        assert "being written by another run" in capsys.readouterr().err
        assert not out.exists()
    assert _run(clip, "-o", out, "--model", tiny_weights, "-y") == 0
    assert not files.lock_path(out).exists()


def test_a_lock_left_by_a_dead_process_is_taken_over(tmp_path):
    import subprocess
    import sys

    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    final = tmp_path / "o.mp4"
    files.lock_path(final).write_text(f"{files.HOST} {p.pid}\n")
    with files.hold(final):
        assert files.lock_path(final).read_text().split()[1] == str(os.getpid())
    assert not files.lock_path(final).exists()


def test_a_shorter_image_sequence_rerun_leaves_no_old_frames(tmp_path, tiny_weights):
    long = bad.good(tmp_path, "long.mp4", frames=6, width=64, height=48, audio=False)
    short = bad.good(tmp_path, "short.mp4", frames=3, width=64, height=48, audio=False)
    pattern = tmp_path / "seq" / "f_%04d.png"
    assert _run(long, "-o", pattern, "--model", tiny_weights) == 0
    (tmp_path / "seq" / "notes.txt").write_text("mine")
    assert _run(short, "-o", pattern, "--model", tiny_weights, "-y") == 0
    names = sorted(p.name for p in (tmp_path / "seq").iterdir())
    assert names == ["f_0001.png", "f_0002.png", "f_0003.png", "notes.txt", "timestamps.csv"]
    assert len((tmp_path / "seq" / "timestamps.csv").read_text().splitlines()) == 4


def test_a_fifo_input_loses_no_frame(tmp_path, tiny_weights):
    src = bad.good(tmp_path, "in.mkv", frames=30, width=64, height=48)
    fifo = tmp_path / "pipe.mkv"
    os.mkfifo(fifo)

    def feed():
        with open(fifo, "wb") as f:
            f.write(src.read_bytes())

    t = threading.Thread(target=feed, daemon=True)
    t.start()
    out = tmp_path / "o.mkv"
    assert _run(fifo, "-o", out, "--model", tiny_weights) == 0
    t.join(timeout=10)
    assert bad.frames_and_size(out)[0] == 30


def test_compare_with_report_writes_both(tmp_path, clip, tiny_weights):
    out, png = tmp_path / "o.mp4", tmp_path / "r.png"
    assert _run(clip, "-o", out, "--model", tiny_weights, "--compare", "--report", png) == 0
    assert png.stat().st_size > 0


def test_scratch_folders_of_dead_processes_are_swept(tmp_path):
    import subprocess
    import sys

    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    dead = tmp_path / f".int8-{files.HOST}-{p.pid}-abc"
    dead.mkdir()
    (dead / "pre.onnx").write_text("x")
    mine = files.work_dir(tmp_path, ".int8-")
    assert not dead.exists() and mine.is_dir()
    assert files.sweep(tmp_path, ".int8-") == []          # ours is alive: kept
