"""`vdeblur batch` on a local Ray (2 CPUs) with a tiny network: many files, a chunked long file, resuming
an interrupted run, a worker killed mid-chunk."""
from __future__ import annotations

import json
import os
import signal
import threading
import time

import pytest
from clips import audio_packets, make_clip, seconds, video_pts

ray = pytest.importorskip("ray")
psutil = pytest.importorskip("psutil")

from vdeblur.batch.run import BatchInterrupted, run_batch  # noqa: E402
from vdeblur.cli import main  # noqa: E402
from vdeblur.config import BatchConfig, EncodeConfig, ModelConfig, Precision  # noqa: E402
from vdeblur.errors import OutputError  # noqa: E402


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    d = tmp_path_factory.mktemp("batch_in")
    make_clip(d / "a.mp4", frames=20, width=96, height=64)
    make_clip(d / "b.mkv", frames=12, width=80, height=48, audio=False)
    make_clip(d / "long.mp4", frames=120, width=96, height=64)
    return d


def config(tiny_weights, out, inputs, **kw) -> BatchConfig:
    model = ModelConfig(spec=str(tiny_weights), backend="torch", device="cpu", precision=Precision.FP32)
    return BatchConfig(inputs=tuple(str(i) for i in inputs), output_dir=str(out), model=model,
                       encode=EncodeConfig(preset="ultrafast"), **{"workers": 2, **kw})


def test_many_files_and_a_chunked_long_file(tmp_path, tiny_weights, inputs):
    cfg = config(tiny_weights, tmp_path / "out", [inputs], chunk_s=1.0, json_path=str(tmp_path / "s.json"))
    s = run_batch(cfg)
    assert s["files_done"] == 3 and s["files_failed"] == 0 and s["workers"] == 2
    by = {f["input"].rsplit("/", 1)[1]: f for f in s["files"]}
    assert by["long.mp4"]["chunks"] >= 3 and by["a.mp4"]["chunks"] == 1
    for name, out in (("a.mp4", "a.mp4"), ("b.mkv", "b.mp4"), ("long.mp4", "long.mp4")):
        # every frame, at its own time (MKV -> MP4 changes the time base, not the times)
        assert seconds(tmp_path / "out" / out) == pytest.approx(seconds(inputs / name), abs=1e-3)
        assert by[name]["frames_out"] == by[name]["frames_in"] == len(video_pts(inputs / name))
    assert audio_packets(tmp_path / "out" / "long.mp4") == audio_packets(inputs / "long.mp4")
    assert sum(w["chunks"] for w in s["per_worker"]) == sum(f["chunks"] for f in s["files"])
    assert json.loads((tmp_path / "s.json").read_text())["frames_out"] == 152
    assert not list((tmp_path / "out" / ".vdeblur-batch").glob("*/chunk-*"))   # chunks removed once joined
    # The same command again: nothing to do.
    again = run_batch(cfg)
    assert again["files_skipped"] == 3 and again["frames_run"] == 0


def test_interrupted_run_resumes_from_its_finished_chunks(tmp_path, tiny_weights, inputs):
    cfg = config(tiny_weights, tmp_path / "out", [inputs / "long.mp4"], chunk_s=0.8, workers=1)

    def stop_after_first_chunk(done, total, fps):
        if list((tmp_path / "out" / ".vdeblur-batch").glob("*/chunk-*")):
            raise KeyboardInterrupt         # as Ctrl-C would, once a chunk is in

    with pytest.raises(BatchInterrupted, match="run the same command again"):
        run_batch(cfg, on_progress=stop_after_first_chunk)
    assert not (tmp_path / "out" / "long.mp4").exists()
    kept = list((tmp_path / "out" / ".vdeblur-batch").glob("*/chunk-*.mp4"))
    assert kept and all(video_pts(k) for k in kept)          # each finished chunk is a playable file
    s = run_batch(cfg)
    f = s["files"][0]
    assert f["status"] == "done" and f["chunks_reused"] >= 1
    assert video_pts(tmp_path / "out" / "long.mp4") == video_pts(inputs / "long.mp4")
    assert s["frames_run"] < 120


def test_a_worker_killed_mid_chunk_is_restarted_and_its_chunk_redone(tmp_path, tiny_weights, inputs):
    killed = []

    def killer():
        # Ray names an actor's process after the method it runs: kill the first one caught in a chunk.
        end = time.time() + 60
        while not killed and time.time() < end:
            for p in psutil.process_iter(["pid", "cmdline"]):
                if "ChunkWorker.process" in " ".join(p.info["cmdline"] or []):
                    os.kill(p.info["pid"], signal.SIGKILL)
                    killed.append(p.info["pid"])
                    return
            time.sleep(0.01)

    t = threading.Thread(target=killer, daemon=True)
    t.start()
    cfg = config(tiny_weights, tmp_path / "out", [inputs / "long.mp4"], chunk_s=0.8)
    s = run_batch(cfg)
    t.join(timeout=1)
    assert killed, "no worker was caught running a chunk"
    assert s["files"][0]["status"] == "done"
    assert video_pts(tmp_path / "out" / "long.mp4") == video_pts(inputs / "long.mp4")
    assert sum(w["restarts"] for w in s["per_worker"]) >= 1 or any(
        str(killed[0]) not in " ".join(w["processes"]) for w in s["per_worker"])


def test_cli_errors_are_one_line(tmp_path, tiny_weights, inputs, capsys):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "a.mp4").write_bytes(b"x")
    rc = main(["batch", str(inputs / "a.mp4"), "-o", str(tmp_path / "out"), "--model", str(tiny_weights),
               "--backend", "torch", "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and err == [f"vdeblur: error: output exists: {tmp_path / 'out' / 'a.mp4'} (use -y to overwrite)"]
    rc = main(["batch", str(tmp_path / "missing.mp4"), "-o", str(tmp_path / "o2"), "--model", str(tiny_weights),
               "--quiet"])
    assert rc == 2 and capsys.readouterr().err.strip() == f"vdeblur: error: input not found: {tmp_path / 'missing.mp4'}"
    rc = main(["batch", str(inputs / "a.mp4"), "-o", str(inputs), "-y", "--model", str(tiny_weights), "--quiet"])
    assert rc == 2 and capsys.readouterr().err.strip() == (
        f"vdeblur: error: the output {inputs / 'a.mp4'} would replace an input: choose another OUTDIR or --ext")
    with pytest.raises(OutputError, match="output folder is a file"):
        run_batch(config(tiny_weights, tmp_path / "out" / "a.mp4", [inputs / "a.mp4"]))


def test_python_api_takes_the_same_options(tmp_path, tiny_weights, inputs):
    import vdeblur
    from vdeblur.errors import UnknownOption

    s = vdeblur.deblur_batch(inputs / "b.mkv", tmp_path / "out", model=str(tiny_weights), backend="torch",
                             device="cpu", precision="fp32", workers=1, ext=".mkv", preset="ultrafast")
    assert s["files_done"] == 1 and (tmp_path / "out" / "b.mkv").exists()
    assert video_pts(tmp_path / "out" / "b.mkv") == video_pts(inputs / "b.mkv")
    with pytest.raises(UnknownOption, match="deblur_batch\\(\\) got an unknown option 'chunk'"):
        vdeblur.deblur_batch([inputs / "a.mp4"], tmp_path / "o2", chunk=5)


def test_more_workers_than_cpus_share_them(tmp_path, tiny_weights, inputs):
    s = run_batch(config(tiny_weights, tmp_path / "out", [inputs / "a.mp4", inputs / "b.mkv"], workers=3))
    assert s["files_done"] == 2 and s["workers"] == 2       # never more workers than chunks
    s = run_batch(config(tiny_weights, tmp_path / "out3", [inputs], chunk_s=1.0, workers=3))
    assert s["files_done"] == 3 and s["workers"] == 3       # 3 workers on 2 CPUs: 2/3 CPU each, none waits


def test_an_outdir_inside_the_input_folder_can_be_run_again(tmp_path, tiny_weights):
    d = tmp_path / "footage"
    d.mkdir()
    make_clip(d / "a.mp4", frames=6, width=64, height=48, audio=False)
    cfg = config(tiny_weights, d, [d], ext=".mkv", chunk_s=None)
    assert run_batch(cfg)["files_done"] == 1
    again = run_batch(cfg)          # a.mkv is this batch's own output, not a new input
    assert again["files_skipped"] == 1 and again["files_failed"] == 0


def test_sigterm_stops_a_batch_with_143_and_keeps_its_chunks(tmp_path, tiny_weights, inputs):
    cfg = config(tiny_weights, tmp_path / "out", [inputs / "long.mp4"], chunk_s=1.0, workers=1)

    def terminate_after_first_chunk(*_):
        if list((tmp_path / "out" / ".vdeblur-batch").glob("*/chunk-*")):
            os.kill(os.getpid(), signal.SIGTERM)

    with pytest.raises(BatchInterrupted, match="interrupted by SIGTERM") as e:
        run_batch(cfg, on_progress=terminate_after_first_chunk)
    assert e.value.exit_code == 143
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL or callable(signal.getsignal(signal.SIGTERM))
