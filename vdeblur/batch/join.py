"""Join a file's chunks into its output without re-encoding: the chunks' video packets in order, with the
audio and subtitle packets remuxed once from the source (as `vdeblur run` carries them), interleaved by
time. Every frame keeps the pts it had in the input, so A/V sync is the input's."""
from __future__ import annotations

import heapq
from pathlib import Path
from typing import Iterator

import av

from ..config import EncodeConfig
from ..errors import OutputError
from ..sinks.video import FileSink
from ..source import Source


def _video_packets(paths: list[Path], fixed: list[int]) -> Iterator[tuple[float, int, av.Packet]]:
    """(time s, order, packet) of every chunk in turn. At a join the decoding order may need a dts that is
    not above the last chunk's (B-frame delay after a rate change): it is raised by one tick, never past
    the packet's pts, and counted in fixed[0]."""
    last = None
    order = 0
    for path in paths:
        with av.open(str(path)) as c:
            v = c.streams.video[0]
            for p in c.demux(v):
                if p.size == 0:
                    continue
                tb = p.time_base
                if p.dts is None:
                    # Matroska stores pts only and its demuxer leaves the first dts unknown; its muxer
                    # still wants them increasing: the next tick, never past the pts.
                    p.dts = p.pts if last is None else min(p.pts, int(last / tb) + 1)
                elif last is not None and p.dts * tb <= last:
                    dts = int(last / tb) + 1
                    if p.pts is not None and dts > p.pts:
                        raise OutputError(f"cannot join the chunks of {path.parent}: decoding order breaks at "
                                          f"{path.name}")
                    p.dts = dts
                    fixed[0] += 1
                last = p.dts * tb
                order += 1
                yield float(p.dts * tb), order, p


def _side_packets(source: Source) -> Iterator[tuple[float, int, av.Packet]]:
    order = 0
    if not source.passthrough:
        return
    for p in source.side_packets():
        order += 1
        yield float(p.dts * p.time_base), order, p


def join_chunks(input_path: str, chunks: list[Path], output: Path, encode: EncodeConfig,
                overwrite: bool) -> dict:
    """Write `output` from the chunk files and the input's audio/subtitles. Returns {"frames",
    "packets_dropped", "dts_fixed"}. The output appears whole or not at all (FileSink's temporary file)."""
    source = Source(input_path)
    try:
        info = source.info
        with av.open(str(chunks[0])) as first:
            sink = FileSink(output, info, encode, info.width, info.height, source.passthrough,
                            overwrite=overwrite, left_out=source.left_out, video_from=first.streams.video[0])
        try:
            fixed = [0]
            # heapq.merge keeps each iterator lazy: memory holds a packet per stream, not a file.
            video = ((t, 0, n, p) for t, n, p in _video_packets(chunks, fixed))
            side = ((t, 1, n, p) for t, n, p in _side_packets(source))
            for _t, kind, _n, p in heapq.merge(video, side, key=lambda x: (x[0], x[1], x[2])):
                if kind == 0:
                    sink.write_video_packet(p)
                else:
                    sink.write_packet(p)
            frames = sink.frames
            sink.close()
        except BaseException:
            sink.abort()
            raise
        return {"frames": frames, "packets_dropped": sink.packets_dropped, "dts_fixed": fixed[0]}
    finally:
        source.close()
