#!/usr/bin/env python3
"""Live soak: `vdeblur run` on a real RTSP server (Debian's rtsp-server-perl, fed by a looping ffmpeg) that
is killed and restarted every --restart-s seconds, for --seconds. Records the run's RSS every second (and its
slope), frame accounting (in = out + dropped), reconnects, and end-to-end latency p50 / p99.

    python benchmarks/live_soak.py --seconds 600 --restart-s 60 --json benchmarks/results/live_soak_cpu.json
"""
from __future__ import annotations

import argparse
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vdeblur.backends.probe import cpu_model  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """rtsp-server-perl on loopback plus an ffmpeg publisher looping `clip` into it."""

    def __init__(self, clip: Path):
        self.clip, self.client, self.source = clip, free_port(), free_port()
        self.rtp = random.randrange(41000, 60000, 2)
        self.procs: list[subprocess.Popen] = []

    def start(self) -> None:
        self.procs.append(subprocess.Popen(
            ["rtsp-server-perl", "--clientport", str(self.client), "--serverport", str(self.source),
             "--client_listen_address", "127.0.0.1", "--source_listen_address", "127.0.0.1",
             "--rtp_start_port", str(self.rtp), "-l", "0"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        deadline = time.time() + 10
        while time.time() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.source)) == 0:
                    break
            time.sleep(0.1)
        for _ in range(10):     # a server that has just started may refuse the first RECORD
            pub = subprocess.Popen(["ffmpeg", "-loglevel", "error", "-re", "-stream_loop", "-1", "-i", str(self.clip),
                                    "-c", "copy", "-f", "rtsp", f"rtsp://127.0.0.1:{self.source}/live"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1.0)
            if pub.poll() is None:
                self.procs.append(pub)
                return
            time.sleep(0.3)
        raise RuntimeError("the publisher could not publish")

    def stop(self) -> None:
        for p in reversed(self.procs):
            p.kill()
            p.wait(timeout=10)
        self.procs = []


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=600)
    ap.add_argument("--restart-s", type=float, default=60)
    ap.add_argument("--model", default="small")
    ap.add_argument("--json")
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        clip = tmp / "src.mp4"
        subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25",
                        "-t", "10", "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "25",
                        "-pix_fmt", "yuv420p", str(clip)], check=True)
        srv = Server(clip)
        srv.start()
        summary_path, out = tmp / "soak.json", tmp / "soak.mp4"
        run = subprocess.Popen([sys.executable, "-m", "vdeblur.cli", "run", f"rtsp://127.0.0.1:{srv.client}/live",
                                "-o", str(out), "--model", a.model, "--duration", str(a.seconds), "--json",
                                str(summary_path), "--stats-interval", "10", "--quiet"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=ROOT)
        t0, restarts, samples = time.time(), 0, []
        next_restart = t0 + a.restart_s
        while run.poll() is None:
            now = time.time()
            mb = rss_mb(run.pid)
            if mb is not None:
                samples.append((round(now - t0, 1), round(mb, 1)))
            if now >= next_restart and now - t0 < a.seconds - 5:
                srv.stop()
                time.sleep(2.0)          # the source is gone for a while
                srv.start()
                restarts += 1
                next_restart = now + a.restart_s
            time.sleep(1.0)
        err = run.stderr.read()
        srv.stop()
        s = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    t = np.array([x for x, _ in samples])
    m = np.array([y for _, y in samples])
    tail = t > t[-1] * 0.2 if len(t) else t
    slope = float(np.polyfit(t[tail], m[tail], 1)[0] * 60) if tail.sum() > 2 else float("nan")
    e2e = s.get("stages_ms", {}).get("end_to_end", {})
    result = {
        "seconds": a.seconds, "restart_every_s": a.restart_s, "server_restarts": restarts,
        "exit_code": run.returncode, "last_error_line": (err.strip().splitlines() or [""])[-1],
        "frames_in": s.get("frames_in"), "frames_out": s.get("frames_out"), "frames_dropped": s.get("frames_dropped"),
        "frames_unaccounted": (s["frames_in"] - s["frames_out"] - s["frames_dropped"]) if s else None,
        "reconnects": s.get("reconnects"), "latency_ms": {"p50": e2e.get("median"), "p99": e2e.get("p99")},
        "rss_mb": {"first": m[0] if len(m) else None, "max": float(m.max()) if len(m) else None,
                   "last": m[-1] if len(m) else None, "slope_mb_per_min_after_warmup": round(slope, 3)},
        "rss_samples": samples, "hardware": {"cpu": cpu_model(), "cpus": os.cpu_count()},
    }
    print(json.dumps({k: v for k, v in result.items() if k != "rss_samples"}, indent=2))
    if a.json:
        Path(a.json).write_text(json.dumps(result, indent=1, default=float) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
