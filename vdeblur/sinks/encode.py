"""The output encoder: which encoders take --crf and --preset and their defaults, the checks of an encode
configuration before any work (an encoder that rejects its options fails the run at once, not after the
model loads), and the pixel format to encode with."""
from __future__ import annotations

import functools
import logging
from dataclasses import replace
from fractions import Fraction

import av

from ..config import EncodeConfig
from ..errors import OutputError, UsageError

log = logging.getLogger("vdeblur")

# Encoders that take --crf, with the range they accept (x264 clamps silently, so vdeblur checks first),
# and the default; and those that take --preset, with its names. The default is 12, not 18: re-encoding at 18
# cost more than the network gains on smooth and nearly sharp clips (tools/families.py: near_sharp -1.01 dB at
# 18, -0.38 at 12, -0.15 lossless; benchmarks/eval/families_small*.json), for about twice the bytes.
CRF_RANGE = {"libx264": (0, 51), "libx264rgb": (0, 51), "libx265": (0, 51), "libvpx-vp9": (0, 63),
             "libvpx": (4, 63), "libaom-av1": (0, 63), "libsvtav1": (0, 63)}
DEFAULT_CRF = {"libx264": 12, "libx264rgb": 12, "libx265": 12}
X26X_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow",
                "placebo")
PRESETS = {"libx264": X26X_PRESETS, "libx264rgb": X26X_PRESETS, "libx265": X26X_PRESETS}
# veryfast, not x264's own medium: with it the default run keeps up with the model on a 2-core CPU (640x360,
# 360 frames, openvino int8: 38.8 fps through the pipeline against 31.3 with medium; README "The default
# keeps up"); medium costs the encoder as much time as the network. --preset medium for smaller files.
DEFAULT_PRESET = "veryfast"
# Containers that hold raw frames (no encoder).
RAW_FORMATS = ("yuv4mpegpipe", "rawvideo")


def raw_encode(enc: EncodeConfig) -> EncodeConfig:
    """yuv4mpegpipe and rawvideo hold raw frames: the default encoder becomes rawvideo (4:2:0 unless
    --pix-fmt says otherwise)."""
    if enc.container in RAW_FORMATS and enc.codec == "libx264":
        return replace(enc, codec="rawvideo", pix_fmt=enc.pix_fmt or "yuv420p")
    return enc


def check_encode(enc: EncodeConfig) -> dict:
    """Validate the encoder and its options before any work starts; returns the options it will get
    (without the live-mode ones). One-line UsageError for an unknown encoder, a --crf out of range or for
    an encoder without one, a preset the encoder does not know, or an option the encoder rejects.
    Remembered per configuration: the pipeline checks before any work and the sink again when it opens,
    and the encoder is trial-opened once."""
    return dict(_checked_options(enc))


@functools.lru_cache(maxsize=32)
def _checked_options(enc: EncodeConfig) -> tuple[tuple[str, str], ...]:
    try:
        codec = av.codec.Codec(enc.codec, "w")
    except Exception:
        raise OutputError(f"unknown video encoder: {enc.codec}") from None
    if codec.type != "video":
        raise OutputError(f"encoder {enc.codec} is not a video encoder")
    opts: dict[str, str] = {}
    if enc.crf is not None:
        if enc.codec not in CRF_RANGE:
            raise UsageError(f"--crf does not apply to {enc.codec} (it does to {', '.join(CRF_RANGE)}); set this "
                             f"encoder's quality with --codec-opt KEY=VALUE, e.g. --codec-opt b=8M")
        lo, hi = CRF_RANGE[enc.codec]
        if not lo <= enc.crf <= hi:
            raise UsageError(f"--crf {enc.crf} is out of range for {enc.codec} ({lo} to {hi}; lower is better)")
        opts["crf"] = str(enc.crf)
    elif enc.codec in DEFAULT_CRF:
        opts["crf"] = str(DEFAULT_CRF[enc.codec])
    if enc.preset is not None:
        if enc.codec not in PRESETS:
            raise UsageError(f"--preset applies to {', '.join(PRESETS)}; pass {enc.codec}'s own options with "
                             f"--codec-opt KEY=VALUE")
        if enc.preset not in PRESETS[enc.codec]:
            raise UsageError(f"unknown {enc.codec} preset {enc.preset!r} (one of: {', '.join(PRESETS[enc.codec])})")
        opts["preset"] = enc.preset
    elif enc.codec in PRESETS:
        opts["preset"] = DEFAULT_PRESET
    opts.update(dict(enc.options))
    _trial_open(codec, opts)
    return tuple(opts.items())


def _trial_open(codec: av.codec.Codec, opts: dict) -> None:
    """Open the encoder on a 64x64 picture with these options: the encoder itself says what it rejects
    (with its log silenced; the message here says it in one line)."""
    fmts = [f.name for f in (codec.video_formats or [])]
    cc = av.CodecContext.create(codec.name, "w")
    cc.width = cc.height = 64
    cc.pix_fmt = "yuv420p" if not fmts or "yuv420p" in fmts else fmts[0]
    cc.time_base = Fraction(1, 25)
    cc.framerate = Fraction(25, 1)
    cc.options = dict(opts)
    shown = " ".join(f"{k}={v}" for k, v in opts.items())
    level = av.logging.get_level()
    av.logging.set_level(None)
    try:
        cc.open()
    except (av.error.FFmpegError, OverflowError, ValueError) as e:
        detail = getattr(e, "strerror", None) or type(e).__name__
        raise UsageError(f"encoder {codec.name} rejects its options ({shown}): {detail}") from None
    finally:
        av.logging.set_level(level)
    unknown = sorted(cc.options)      # what avcodec_open2 left over was recognised by nobody
    if unknown:
        raise UsageError(f"encoder {codec.name} has no option {', '.join(unknown)}")


def _subsampled(fmt: str) -> bool:
    try:
        return any(c.width < 2 or c.height < 2 for c in av.VideoFormat(fmt, 2, 2).components)
    except (ValueError, av.error.FFmpegError):
        return False


FULL_CHROMA = ("yuv444p", "gbrp", "rgb24", "bgr0", "rgb0", "yuvj444p", "yuv444p10le", "bgra", "rgba")


def choose_pix_fmt(codec: str, requested: str | None, width: int, height: int) -> tuple[str, str | None]:
    """The pixel format to encode (width x height) with, and a one-line note when the default changed.

    4:2:0 cannot hold an odd width or height (its chroma planes would need half pixels): odd sizes get a
    4:4:4 format the encoder supports, so the output keeps the input's size exactly."""
    supported = [f.name for f in (av.codec.Codec(codec, "w").video_formats or [])]
    odd = width % 2 or height % 2
    if requested:
        if supported and requested not in supported:
            raise UsageError(f"{codec} cannot encode --pix-fmt {requested} (it takes: {', '.join(supported)})")
        if odd and _subsampled(requested):
            raise UsageError(f"--pix-fmt {requested} subsamples chroma and cannot hold the odd size {width}x{height}"
                             f"; use --pix-fmt yuv444p (or leave --pix-fmt out)")
        return requested, None
    default = "yuv420p" if not supported or "yuv420p" in supported else supported[0]
    if not odd or not _subsampled(default):
        return default, None
    full = next((f for f in FULL_CHROMA if f in supported), None)
    if full is None:
        full = next((f for f in supported if not _subsampled(f)), None)
    if full is None:
        raise UsageError(f"{codec} only writes subsampled chroma, which cannot hold the odd size {width}x{height}; "
                         f"use --codec libx264 or --codec ffv1")
    return full, (f"note: {width}x{height} has an odd side, which 4:2:0 ({default}) cannot hold: writing {full} "
                  f"to keep the size exactly (some players only play 4:2:0; --pix-fmt chooses)")
