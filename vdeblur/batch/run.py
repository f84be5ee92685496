"""`vdeblur batch`: plan every file into chunks, hand the chunks to Ray actors (one backend each), keep
what comes back in the manifest, join each file once its chunks are in.

The driver is the only writer: workers return each chunk as bytes through Ray's object store, so OUTDIR
needs to exist only where the driver runs (the inputs must be readable on every node: a shared
filesystem, or URLs). A worker that dies is restarted by Ray and its chunk runs again (`retries`); a
re-run of the same command skips the chunks the manifest holds.
"""
from __future__ import annotations

import logging
import os
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..config import BatchConfig
from ..errors import BatchFailed, BatchInterrupted, InputError, OutputError, UsageError, VdeblurError  # noqa: F401
from ..report import write_summary
from ..source import VIDEO_SUFFIXES, is_live
from ..urls import mask_url
from .join import join_chunks
from .manifest import Manifest, file_key, input_identity, settings_digest
from .plan import FilePlan, output_name, plan_file
from .worker import ChunkWorker, Job

log = logging.getLogger("vdeblur")

DEFAULT_STATE_MEMORY = 8        # frames, where a weights card has no measured state_memory_frames


class _Stop(BaseException):
    """SIGTERM or SIGHUP during a batch (SIGINT arrives as KeyboardInterrupt)."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _stop_signals() -> dict:
    """SIGTERM/SIGHUP raise _Stop in the driver (main thread only), over Ray's own handlers, which would dump
    a C++ stack and exit 1; returns the handlers to put back."""
    import signal
    import threading

    def on_signal(signum, _frame):
        raise _Stop(signum)

    old = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGHUP):
            old[sig] = signal.signal(sig, on_signal)
    return old


@dataclass
class FileTask:
    plan: FilePlan
    key: str
    output: Path
    entry: dict
    status: str = "pending"      # pending, done, skipped, failed
    error: str = ""
    frames_out: int = 0
    reused: int = 0
    t0: float | None = None
    seconds: float = 0.0
    join: dict = field(default_factory=dict)


def import_ray():
    try:
        import ray
    except ImportError:
        raise UsageError("vdeblur batch needs Ray: pip install 'vdeblur[ray]'") from None
    return ray


def connect(ray, address: str) -> tuple[str, bool]:
    """Join or start Ray. Returns (what was joined, masked; whether this process started it)."""
    if ray.is_initialized():
        return "the Ray instance already running in this process", False
    quiet = dict(logging_level=logging.ERROR, log_to_driver=False, configure_logging=False)
    try:
        if address == "local":
            ray.init(include_dashboard=False, **quiet)
            return "a new local Ray instance", True
        if address == "auto":
            try:
                ray.init(address="auto", **quiet)
                return "the running Ray cluster", False
            except ConnectionError:
                if os.environ.get("RAY_ADDRESS"):
                    raise
                ray.init(include_dashboard=False, **quiet)
                return "a new local Ray instance (no running cluster found)", True
        ray.init(address=address, **quiet)
        return f"the Ray cluster at {mask_url(address)}", False
    except (ConnectionError, RuntimeError, ValueError) as e:
        where = mask_url(address if address not in ("auto", "local") else os.environ.get("RAY_ADDRESS", address))
        raise UsageError(f"cannot reach Ray at {where}: {mask_url(str(e)).splitlines()[0]}") from None


def own_outputs(manifest: Manifest, outdir: Path) -> set[str]:
    """Real paths of the outputs an earlier run of this batch wrote into outdir (from its manifest)."""
    return {os.path.realpath(outdir / e["output"]) for e in manifest.data["files"].values() if e.get("output")}


def expand_inputs(inputs, skip: set[str] = frozenset()) -> list[str]:
    """Files as given; folders become the video files directly in them (sorted), except `skip` (real paths:
    this batch's own earlier outputs, when OUTDIR is an input folder); duplicates dropped."""
    out, seen = [], set()
    for item in inputs:
        p = Path(item)
        if "://" not in item and p.is_dir():
            found = sorted(str(f) for f in p.iterdir() if f.is_file() and f.suffix.lower() in VIDEO_SUFFIXES
                           and os.path.realpath(f) not in skip)
            if not found:
                raise InputError(f"no video files in the folder {item}")
        else:
            found = [item]
        for f in found:
            k = f if "://" in f else os.path.abspath(f)
            if k not in seen:
                seen.add(k)
                out.append(f)
    return out


def _settings(cfg: BatchConfig, digest: str, warmup: int) -> str:
    return settings_digest(weights=digest, backend=cfg.model.backend, precision=cfg.model.precision,
                           encode=cfg.encode, scene_cut=cfg.scene_cut, tile=cfg.tile,
                           # (only where it is not the default: earlier batches' digests stay valid)
                           **({"quality": cfg.quality} if cfg.quality != "normal" else {}),
                           max_memory_mb=cfg.max_memory_mb, warmup=warmup, chunk_s=cfg.chunk_s, ext=cfg.ext)


def prepare(cfg: BatchConfig) -> tuple[list[FileTask], Manifest, int]:
    """Everything that can fail before a worker starts: options, weights, output folder, every input's
    plan, outputs already there. Returns (tasks, manifest, warm-up frames)."""
    from ..backends.base import entry
    from ..weights import file_digest_short, read_info, weights_path
    from ..sinks.encode import check_encode
    from ..sinks.video import FileSink

    if cfg.chunk_s is not None and cfg.chunk_s <= 0:
        raise UsageError(f"--chunk-s must be positive, got {cfg.chunk_s:g}")
    if cfg.warmup is not None and cfg.warmup < 0:
        raise UsageError(f"--warmup must be 0 or more, got {cfg.warmup}")
    if FileSink.format_for(Path("x" + cfg.ext)) is None:
        raise UsageError(f"--ext {cfg.ext}: not a container vdeblur batch writes (.mp4, .mkv, .mov, .ts, .webm, ...)")
    check_encode(cfg.encode)
    if cfg.model.backend != "auto":
        entry(str(getattr(cfg.model.backend, "value", cfg.model.backend)))
    weights = weights_path(cfg.model.spec)
    info = read_info(weights, cfg.model.spec)
    warmup = cfg.warmup if cfg.warmup is not None else 2 * int(info.get("state_memory_frames", DEFAULT_STATE_MEMORY))
    settings = _settings(cfg, file_digest_short(weights), warmup)
    outdir = Path(cfg.output_dir)
    if outdir.exists() and not outdir.is_dir():
        raise OutputError(f"output folder is a file: {outdir}")
    outdir.mkdir(parents=True, exist_ok=True)
    if not os.access(outdir, os.W_OK):
        raise OutputError(f"output folder is not writable: {outdir}")
    manifest = Manifest(outdir)
    inputs = expand_inputs(cfg.inputs, skip=own_outputs(manifest, outdir))
    if not inputs:
        raise UsageError("no inputs")
    names: set[str] = set()
    tasks, clash = [], []
    sources = {os.path.realpath(i) for i in inputs if "://" not in i}
    for path in inputs:
        if is_live(path):
            raise UsageError(f"{mask_url(path)} is a live source: vdeblur batch takes files; use vdeblur run")
        out = outdir / output_name(path, cfg.ext, names)
        if os.path.realpath(out) in sources:
            raise UsageError(f"the output {out} would replace an input: choose another OUTDIR or --ext")
        plan = plan_file(path, cfg.chunk_s, warmup)
        key = file_key(path)
        e = manifest.entry(key, mask_url(path), input_identity(path), settings, out.name, len(plan.chunks))
        task = FileTask(plan, key, out, e)
        if e["done"] and out.exists():
            task.status, task.frames_out = "skipped", e.get("frames", 0)
        elif out.exists() and not cfg.overwrite:
            clash.append(out)
        tasks.append(task)
    if clash:
        more = f" and {len(clash) - 1} more" if len(clash) > 1 else ""
        raise OutputError(f"output exists: {clash[0]}{more} (use -y to overwrite)")
    manifest.save()
    return tasks, manifest, warmup


def _workers(ray, cfg: BatchConfig, jobs: int) -> tuple[int, float]:
    res = ray.cluster_resources()
    cpus, gpus = float(res.get("CPU", 1)), float(res.get("GPU", 0))
    if cfg.gpus_per_worker > 0:
        if gpus < cfg.gpus_per_worker:
            raise UsageError(f"--gpus-per-worker {cfg.gpus_per_worker:g}: the Ray cluster has {gpus:g} GPU(s)")
        n = cfg.workers or max(1, int(gpus / cfg.gpus_per_worker))
    else:
        n = cfg.workers or max(1, int(cpus // 2))
    n = max(1, min(n, jobs))
    # More workers than CPUs get a share each (Ray takes fractions): an actor asking for a whole CPU that
    # is not there would never start, and its chunks would wait for it for ever.
    each = cfg.cpus_per_worker or (float(int(cpus // n)) if cpus >= n else cpus / n)
    if each * n > cpus + 1e-9:
        log.warning(f"warning: {n} workers x {each:g} CPUs is more than the cluster's {cpus:g}: some wait for "
                    f"CPUs to free up (or for the autoscaler)")
    return n, each


def run_batch(cfg: BatchConfig, on_progress=None) -> dict:
    """Deblur every input into cfg.output_dir. on_progress(frames done, frames total, fps): about twice a
    second, and as each chunk finishes. Returns the summary (also written to cfg.json_path). Raises BatchFailed (exit 3) when some
    file failed, after finishing the others."""
    ray = import_ray()
    t_start = time.perf_counter()
    tasks, manifest, warmup = prepare(cfg)
    jobs: deque = deque()
    done_frames = 0             # frames of chunks a previous run finished
    for i, t in enumerate(tasks):
        if t.status != "pending":
            continue
        for c in t.plan.chunks:
            rec = manifest.finished(t.key, c.index)
            if rec is not None:
                t.reused += 1
                done_frames += rec["frames"]
                continue
            # A record whose file is gone is dropped, so that counting records tells when a file is whole.
            manifest.data["files"][t.key]["chunks"].pop(str(c.index), None)
            jobs.append(Job(i, t.plan.input, c, cfg.ext, cfg.model, cfg.encode, cfg.scene_cut, cfg.tile,
                            cfg.max_memory_mb, quality=cfg.quality))
    total = sum(t.plan.frames for t in tasks if t.status == "pending")
    reused_frames = done_frames
    for i, t in enumerate(tasks):       # files whose chunks were all done before: join now
        if t.status == "pending" and t.reused == len(t.plan.chunks):
            _finish(t, manifest, cfg)
    where, started = ("", False)
    workers: dict[int, dict] = {}
    actors: list = []
    n = 0
    if jobs:
        where, started = connect(ray, cfg.ray)
    old_handlers = _stop_signals()
    try:
        if jobs:
            n, each = _workers(ray, cfg, len(jobs))
            log.info(f"batch: {len(jobs)} chunk(s) of {sum(t.status == 'pending' for t in tasks)} file(s) on {n} "
                     f"worker(s) ({each:g} CPU{f', {cfg.gpus_per_worker:g} GPU' if cfg.gpus_per_worker else ''} "
                     f"each) in {where}; warm-up {warmup} frames per chunk")
            Actor = ray.remote(ChunkWorker).options(
                num_cpus=each, num_gpus=cfg.gpus_per_worker, max_restarts=cfg.retries,
                max_task_retries=cfg.retries, max_concurrency=2)
            actors += [Actor.remote(threads=max(1, int(each))) for _ in range(n)]
            workers = {a: {"worker": a, "processes": [], "chunks": 0, "frames": 0, "busy_s": 0.0} for a in range(n)}
            done_frames = _schedule(ray, actors, jobs, tasks, manifest, cfg, workers, done_frames, total,
                                    on_progress, t_start)
            for t in tasks:
                if t.status == "pending":       # every worker died for good before its chunks ran
                    t.status, t.error = "failed", "no worker left to run its chunks (all failed beyond --retries)"
    except (KeyboardInterrupt, _Stop) as e:
        finished = sum(len(manifest.data["files"][t.key]["chunks"]) for t in tasks if t.status == "pending")
        import signal

        signum = e.signum if isinstance(e, _Stop) else 2
        raise BatchInterrupted(f"interrupted by {signal.Signals(signum).name}: {finished} chunk(s) finished and "
                               f"kept in {manifest.dir} (each a playable file); run the same command again to go on",
                               signum) from None
    finally:
        import signal

        for sig, h in old_handlers.items():
            signal.signal(sig, h)
        # Now, not when the handles are collected (an exception's traceback holds them): a chunk still
        # running would keep its CPUs from the next batch.
        for act in actors:
            ray.kill(act, no_restart=True)
        if started:
            ray.shutdown()
    wall = time.perf_counter() - t_start
    summary = _summary(cfg, tasks, workers, where, warmup, wall, done_frames - reused_frames, n)
    write_summary(cfg.json_path, summary)
    failed = [t for t in tasks if t.status == "failed"]
    if failed:
        raise BatchFailed(f"{len(failed)} of {len(tasks)} file(s) failed; first: {mask_url(failed[0].plan.input)}: "
                          f"{failed[0].error}", summary)
    return summary


def _schedule(ray, actors, jobs: deque, tasks, manifest, cfg, workers, done_frames, total, on_progress, t_start):
    from ray.exceptions import RayActorError, RayTaskError

    idle = list(range(len(actors)))
    inflight: dict = {}
    polls: dict = {}
    live = [0] * len(actors)
    t_prog = 0.0
    while jobs or inflight:
        while idle and jobs:
            job = jobs.popleft()
            t = tasks[job.file]
            if t.status == "failed":        # another chunk of this file failed for good
                continue
            a = idle.pop()
            t.t0 = t.t0 or time.perf_counter()
            inflight[actors[a].process.remote(job)] = (a, job)
        if not inflight:
            break
        ready, _ = ray.wait(list(inflight), num_returns=1, timeout=0.5)
        for ref in ready:
            a, job = inflight.pop(ref)
            live[a] = 0
            t = tasks[job.file]
            try:
                res = ray.get(ref)
            except (RayActorError, RayTaskError) as e:
                # Retries are spent (or the task itself raised): the file fails, the others go on.
                t.status, t.error = "failed", f"chunk {job.chunk.index}: {str(e).splitlines()[0][:300]}"
                if not isinstance(e, RayActorError):
                    idle.append(a)
                continue
            idle.append(a)
            w = workers[a]
            if res.worker not in w["processes"]:
                w["processes"].append(res.worker)
            if res.error:
                t.status, t.error = "failed", res.error
                continue
            w["chunks"] += 1
            w["frames"] += res.frames
            w["busy_s"] += res.seconds
            w["backend"] = res.backend
            manifest.add_chunk(t.key, job.chunk.index, cfg.ext, res.data, res.frames, warm_frames=res.warm_frames,
                               decode_errors=res.decode_errors, worker=res.worker, seconds=round(res.seconds, 3))
            done_frames += res.frames
            t_prog = 0.0                    # a finished chunk is news: report it on this pass
            # Every chunk recorded (finished() checked the reused ones' files when the run began).
            if t.status == "pending" and len(manifest.data["files"][t.key]["chunks"]) == len(t.plan.chunks):
                _finish(t, manifest, cfg)
        now = time.perf_counter()
        if on_progress is not None and now - t_prog >= 0.5:
            t_prog = now
            for a, act in enumerate(actors):
                ref = polls.get(a)
                if ref is None:
                    polls[a] = act.progress.remote()
                    continue
                got, _ = ray.wait([ref], timeout=0)
                if got:
                    try:
                        live[a] = ray.get(ref) if any(x[0] == a for x in inflight.values()) else 0
                    except Exception:       # noqa: BLE001 - a restarting worker: no figure this time
                        live[a] = 0
                    polls[a] = act.progress.remote()
            shown = min(total, done_frames + sum(live))
            on_progress(shown, total, shown / max(now - t_start, 1e-6))
    if on_progress is not None:
        on_progress(done_frames, total, done_frames / max(time.perf_counter() - t_start, 1e-6))
    return done_frames


def _finish(t: FileTask, manifest: Manifest, cfg: BatchConfig) -> None:
    """All chunks in: join them into the output, check the frame count, drop the chunk files."""
    try:
        t.join = join_chunks(t.plan.input, manifest.chunk_paths(t.key), t.output, cfg.encode, cfg.overwrite)
    except VdeblurError as e:
        t.status, t.error = "failed", str(e)
        return
    t.frames_out = t.join["frames"]
    t.seconds = time.perf_counter() - t.t0 if t.t0 else 0.0
    recs = manifest.data["files"][t.key]["chunks"]
    errors = sum(r.get("decode_errors", 0) for r in recs.values())
    if t.frames_out != t.plan.frames or errors:
        t.status = "failed"
        t.error = (f"damaged input: {t.frames_out} of {t.plan.frames} frames decoded"
                   + (f", {errors} damaged packet(s)" if errors else "") + f"; all that decoded are in {t.output}")
    else:
        t.status = "done"
    for p in manifest.chunk_paths(t.key):
        p.unlink(missing_ok=True)
    try:
        manifest.chunk_dir(t.key).rmdir()
    except OSError:
        pass
    manifest.mark_done(t.key, t.frames_out)


def _summary(cfg, tasks, workers, where, warmup, wall, frames_run, n) -> dict:
    files = [{"input": mask_url(t.plan.input), "output": str(t.output), "status": t.status,
              "frames_in": t.plan.frames, "frames_out": t.frames_out, "chunks": len(t.plan.chunks),
              "chunks_reused": t.reused, "duration_s": round(t.plan.duration_s, 3),
              "seconds": round(t.seconds, 3), **({"error": mask_url(t.error)} if t.error else {}),
              **({"note": t.plan.note} if t.plan.note else {}),
              **({"dts_fixed": t.join.get("dts_fixed", 0), "packets_dropped": t.join.get("packets_dropped", 0)}
                 if t.join else {})} for t in tasks]
    ws = []
    for w in workers.values():
        ws.append({**w, "restarts": max(0, len(w["processes"]) - 1), "busy_s": round(w["busy_s"], 3),
                   "fps": round(w["frames"] / w["busy_s"], 2) if w["busy_s"] else 0.0})
    done = [t for t in tasks if t.status == "done"]
    return {"command": "batch", "ray": where, "workers": n, "warmup_frames": warmup, "chunk_s": cfg.chunk_s,
            "model": cfg.model.spec, "config": {"ext": cfg.ext, "encode": asdict(cfg.encode)},
            "files_total": len(tasks), "files_done": len(done),
            "files_skipped": sum(t.status == "skipped" for t in tasks),
            "files_failed": sum(t.status == "failed" for t in tasks),
            "frames_out": sum(t.frames_out for t in done), "frames_run": frames_run, "wall_s": round(wall, 3),
            "fps": round(frames_run / wall, 2) if wall else 0.0,
            "files_per_min": round(len(done) / wall * 60, 3) if wall else 0.0,
            "files": files, "per_worker": ws}
