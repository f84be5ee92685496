"""Audio and subtitles carried into the output: what each container takes as it is, and the bit-level
conversions remuxing needs (ADTS AAC into MP4-style containers)."""
from __future__ import annotations

import av

# Subtitle formats a container holds, for converting text subtitles it cannot take as they are.
TEXT_SUBTITLES = {"subrip", "srt", "ass", "ssa", "webvtt", "mov_text", "text"}
# Audio MPEG-TS carries as it is (FFmpeg's muxer would write anything else as an opaque data stream).
REMUX_AUDIO = {"mpegts": {"aac", "mp2", "mp3", "ac3", "eac3", "opus", "dts", "aac_latm"}}
TEXT_SUBTITLE_FOR = {"mp4": "mov_text", "mov": "mov_text", "webm": "webvtt", "matroska": "subrip"}


_AAC_RATES = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350]
_AAC_OBJECT = {"Main": 1, "LC": 2, "SSR": 3, "LTP": 4, "HE-AAC": 5, "HE-AACv2": 29}


def audio_specific_config(cc) -> bytes:
    """MPEG-4 AudioSpecificConfig (2 bytes) from an AAC stream's parameters: object type, rate, channels."""
    obj = _AAC_OBJECT.get(cc.profile or "LC", 2)
    rate = _AAC_RATES.index(cc.sample_rate) if cc.sample_rate in _AAC_RATES else 3
    channels = min(cc.layout.nb_channels if cc.layout is not None else 2, 7)
    return ((obj << 11) | (rate << 7) | (channels << 3)).to_bytes(2, "big")


def strip_adts(packet: av.Packet) -> av.Packet:
    """The raw AAC frame inside an ADTS frame (7-byte header, 9 with CRC); other packets as they are."""
    data = bytes(packet)
    if len(data) <= 9 or data[0] != 0xFF or (data[1] & 0xF0) != 0xF0:
        return packet
    raw = av.Packet(data[7 if data[1] & 1 else 9:])
    raw.pts, raw.dts, raw.duration, raw.time_base = packet.pts, packet.dts, packet.duration, packet.time_base
    return raw
