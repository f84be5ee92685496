"""Exact YUV <-> RGB for decoded and encoded frames: the stream's own matrix, range, bit depth and chroma
siting, rounded to nearest.

Why our own: swscale's default YUV -> RGB (PyAV's `to_ndarray(format="rgb24")` and `reformat`) takes a
fast path that is about 1.2 levels dark (-1.0/-1.5/-0.9 on R/G/B against an exact BT.601 conversion), and
every output decoded by a player, and every evaluation, inherits the shift.

Chroma is upsampled linearly at its siting (MPEG-2/H.264 "left": co-sited horizontally, centred
vertically; JPEG: centred both ways) and downsampled with the exact left inverse of that upsampler
(LeGall 5/3 analysis taps (-1, 2, 6, 2, -1)/8 where co-sited, (-1, 3, 3, -1)/4 where centred), so a frame
the network leaves untouched comes back with the chroma it had.
"""
from __future__ import annotations

from dataclasses import dataclass

import av
import cv2
import numpy as np

# (Kr, Kb) of each AVColorSpace code FFmpeg uses.
_KR_KB = {1: (0.2126, 0.0722), 4: (0.30, 0.11), 5: (0.299, 0.114), 6: (0.299, 0.114), 7: (0.212, 0.087),
          9: (0.2627, 0.0593), 10: (0.2627, 0.0593)}
BT601, BT709 = 5, 1
LIMITED, FULL = 1, 2

# Planar and semi-planar YUV layouts converted here: (log2 chroma subsampling x, y), bits, semi-planar.
_YUV = {
    "yuv420p": (1, 1, 8, False), "yuvj420p": (1, 1, 8, False), "yuv422p": (1, 0, 8, False),
    "yuvj422p": (1, 0, 8, False), "yuv444p": (0, 0, 8, False), "yuvj444p": (0, 0, 8, False),
    "yuv440p": (0, 1, 8, False), "yuvj440p": (0, 1, 8, False),
    "nv12": (1, 1, 8, True), "nv16": (1, 0, 8, True), "nv24": (0, 0, 8, True),
    "yuv420p10le": (1, 1, 10, False), "yuv422p10le": (1, 0, 10, False), "yuv444p10le": (0, 0, 10, False),
    "yuv420p12le": (1, 1, 12, False), "yuv422p12le": (1, 0, 12, False), "yuv444p12le": (0, 0, 12, False),
    "yuv420p16le": (1, 1, 16, False), "yuv444p16le": (0, 0, 16, False),
    "p010le": (1, 1, 10, True), "p016le": (1, 1, 16, True),
}
_GRAY = {"gray": 8, "gray10le": 10, "gray12le": 12, "gray16le": 16}
# Formats whose samples are RGB already: swscale's RGB -> RGB is exact (a reordering).
_JPEG_CODECS = {"mjpeg", "jpegls", "ljpeg", "amv", "mjpegb", "smvjpeg"}
_RGB = {"rgb24", "bgr24", "rgba", "bgra", "argb", "abgr", "rgb0", "bgr0", "0rgb", "0bgr", "gbrp"}


@dataclass(frozen=True)
class ColourSpec:
    """How YUV codes map to RGB: matrix (AVColorSpace code), range (1 limited, 2 full), siting."""

    matrix: int
    range: int
    chroma_centred_x: bool     # JPEG-style: chroma between two luma columns; MPEG-2+: on the left one
    chroma_centred_y: bool = True

    @staticmethod
    def of(colorspace: int | None, color_range: int | None, pix_fmt: str, height: int,
           codec: str | None = None) -> "ColourSpec":
        """The stream's tags, with what players assume where a tag is missing: BT.709 from 720 lines up,
        BT.601 below; limited range except for the yuvj formats; chroma on the left (MPEG-2 and later)
        except for JPEG codecs. (FFmpeg's H.264 decoder calls full-range 4:2:0 yuvj420p too, so the siting
        follows the codec, not the format; PyAV does not expose the stream's chroma location.)"""
        cs = int(colorspace or 0)
        if cs not in _KR_KB:
            cs = BT709 if height >= 720 else BT601
        rng = int(color_range or 0)
        if rng not in (LIMITED, FULL):
            rng = FULL if pix_fmt.startswith("yuvj") else LIMITED
        return ColourSpec(cs, rng, chroma_centred_x=codec in _JPEG_CODECS)

    def _scales(self, bits: int) -> tuple[float, float, float, float]:
        """(luma offset, luma scale, chroma offset, chroma scale): code = offset + scale * value."""
        k = float(1 << (bits - 8))
        if self.range == FULL:
            top = float((1 << bits) - 1)
            return 0.0, top, float(1 << (bits - 1)), top
        return 16.0 * k, 219.0 * k, 128.0 * k, 224.0 * k


def _plane(frame: av.VideoFrame, i: int, bits: int, semi: bool = False) -> np.ndarray:
    """Plane i as (h, w) integer codes (w doubled for an interleaved UV plane)."""
    p = frame.planes[i]
    dtype = np.dtype("<u2") if bits > 8 else np.dtype(np.uint8)
    a = np.frombuffer(p, dtype).reshape(p.height, p.line_size // dtype.itemsize)
    a = a[:, :p.width * (2 if semi and i else 1)]
    if bits > 8 and semi:   # P010/P016 keep their bits at the top of each word
        a = a >> (16 - bits)
    return a


def _upsample(chroma: np.ndarray, spec: ColourSpec, sub: tuple[int, int], size: tuple[int, int]) -> np.ndarray:
    """Linear upsampling of float32 chroma (h, w, 2) to (H, W, 2) = size: along a subsampled axis, sample i
    sits on output 2i (co-sited) or halfway between 2i and 2i+1 (centred); edges repeat."""
    h, w = size
    sx, sy = sub
    # Where output pixel (x, y) falls in the chroma plane; OpenCV's bilinear weights of 1/4, 1/2, 3/4 are exact.
    m = np.float32([[0.5 ** sx, 0, -0.25 * sx * spec.chroma_centred_x],
                    [0, 0.5 ** sy, -0.25 * sy * spec.chroma_centred_y]])
    return cv2.warpAffine(chroma, m, (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REPLICATE)


# Exact left inverses of _upsample, applied before taking every second sample: taps on 2i-2..2i+2 where
# co-sited (LeGall 5/3 analysis), on 2i-1..2i+2 where centred. Each comes with the border under which
# downsample(upsample(c)) == c holds at the edges too.
_COSITED = (np.array([-0.125, 0.25, 0.75, 0.25, -0.125], np.float32), 2, cv2.BORDER_REFLECT_101)
_CENTRED = (np.array([-0.25, 0.75, 0.75, -0.25], np.float32), 1, cv2.BORDER_REPLICATE)
_SAME = (np.array([1.0], np.float32), 0, cv2.BORDER_REPLICATE)


def _downsample(img: np.ndarray, spec: ColourSpec, sub: tuple[int, int]) -> np.ndarray:
    """(H, W, C) uint8 or float32, even along each subsampled axis -> float32 (H >> sy, W >> sx, C)."""
    kx, ax, bx = (_CENTRED if spec.chroma_centred_x else _COSITED) if sub[0] else _SAME
    ky, ay, by = (_CENTRED if spec.chroma_centred_y else _COSITED) if sub[1] else _SAME
    padded = cv2.copyMakeBorder(img, ay, len(ky) - 1 - ay, 0, 0, by)
    padded = cv2.copyMakeBorder(padded, 0, 0, ax, len(kx) - 1 - ax, bx)
    f = cv2.sepFilter2D(padded, cv2.CV_32F, kx, ky, anchor=(0, 0), borderType=cv2.BORDER_ISOLATED)
    f = f[:img.shape[0], :img.shape[1]]
    return np.ascontiguousarray(f[::1 << sub[1], ::1 << sub[0]])


def _coefficients(spec: ColourSpec) -> tuple[float, float, float, float, float]:
    kr, kb = _KR_KB[spec.matrix]
    kg = 1.0 - kr - kb
    return kr, kb, kg, 2.0 * (1.0 - kr), 2.0 * (1.0 - kb)


def _to_rgb_matrix(spec: ColourSpec, bits: int) -> np.ndarray:
    """3x4 affine map from (Y, Cb, Cr) codes to RGB in 0..255."""
    kr, kb, kg, r_cr, b_cb = _coefficients(spec)
    yo, ys, co, cs = spec._scales(bits)
    rows = np.array([[1.0, 0.0, r_cr], [1.0, -kb * b_cb / kg, -kr * r_cr / kg], [1.0, b_cb, 0.0]])
    rows = rows * np.array([255.0 / ys, 255.0 / cs, 255.0 / cs])
    offset = -(rows @ np.array([yo, co, co]))
    return np.hstack([rows, offset[:, None]]).astype(np.float32)


def _to_yuv_matrix(spec: ColourSpec, bits: int) -> np.ndarray:
    """3x4 affine map from RGB in 0..255 to (Y, Cb, Cr) codes."""
    kr, kb, kg, r_cr, b_cb = _coefficients(spec)
    yo, ys, co, cs = spec._scales(bits)
    luma = np.array([kr, kg, kb])
    rows = np.stack([luma * ys, (np.array([0, 0, 1.0]) - luma) / b_cb * cs,
                     (np.array([1.0, 0, 0]) - luma) / r_cr * cs]) / 255.0
    return np.hstack([rows, np.array([[yo], [co], [co]])]).astype(np.float32)


def yuv_to_rgb(y: np.ndarray, u: np.ndarray, v: np.ndarray, spec: ColourSpec, bits: int,
               sub: tuple[int, int]) -> np.ndarray:
    """Planes (integer codes; u, v subsampled by 2**sub[0] across, 2**sub[1] down) -> (H, W, 3) uint8 RGB,
    rounded to nearest."""
    chroma = cv2.merge([np.ascontiguousarray(u, np.float32), np.ascontiguousarray(v, np.float32)])
    if sub != (0, 0):
        chroma = _upsample(chroma, spec, sub, y.shape)
    ycc = cv2.merge([np.ascontiguousarray(y, np.float32), chroma])
    rgb = cv2.transform(ycc, _to_rgb_matrix(spec, bits))
    cv2.max(rgb, 0.0, dst=rgb)
    return cv2.convertScaleAbs(rgb)        # rounds to nearest and saturates at 255


def rgb_to_yuv(rgb: np.ndarray, spec: ColourSpec, bits: int, sub: tuple[int, int]
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(H, W, 3) uint8 RGB -> integer Y, U, V planes (uint8, or uint16 above 8 bits), chroma subsampled by
    `sub` (even sizes where subsampled). The matrix is linear, so chroma is filtered as RGB, then converted."""
    m = _to_yuv_matrix(spec, bits)
    if bits == 8:
        ycc = cv2.transform(rgb, m)        # uint8 out: rounded to nearest and saturated
    else:
        ycc = cv2.transform(rgb.astype(np.float32), m)
    luma = cv2.extractChannel(ycc, 0)
    if sub == (0, 0):
        chroma = ycc
    else:
        chroma = cv2.transform(_downsample(rgb, spec, sub), m)
        if bits == 8:
            chroma = cv2.convertScaleAbs(cv2.max(chroma, 0.0))
    cb, cr = cv2.extractChannel(chroma, 1), cv2.extractChannel(chroma, 2)
    if bits == 8:
        return luma, cb, cr
    top = float((1 << bits) - 1)
    return tuple(np.clip(np.rint(x), 0, top).astype(np.uint16) for x in (luma, cb, cr))


def frame_to_rgb(frame: av.VideoFrame, codec: str | None = None) -> np.ndarray:
    """A decoded frame -> (H, W, 3) uint8 RGB, exact (see the module's docstring). codec: the decoder's
    name, which tells the chroma siting (JPEG: centred)."""
    fmt = frame.format.name
    if fmt in _RGB:
        return frame.to_ndarray(format="rgb24")
    spec = ColourSpec.of(frame.colorspace, frame.color_range, fmt, frame.height, codec)
    if fmt in _GRAY:
        bits = _GRAY[fmt]
        y = _plane(frame, 0, bits)
        zero = np.zeros((1, 1), np.float32) + spec._scales(bits)[2]
        return yuv_to_rgb(y, np.broadcast_to(zero, y.shape), np.broadcast_to(zero, y.shape), spec, bits, (0, 0))
    layout = _YUV.get(fmt)
    if layout is None:
        # Any other YUV layout (4:1:1, 9-/14-bit, alpha, big-endian...): swscale moves it to 4:4:4 without a
        # matrix (code values only), then the exact matrix runs here.
        deep = max(c.bits for c in frame.format.components) > 8
        target = "yuv444p16le" if deep else "yuv444p"
        converted = frame.reformat(format=target)
        y, u, v = (_plane(converted, i, 16 if deep else 8) for i in range(3))
        return yuv_to_rgb(y, u, v, spec, 16 if deep else 8, (0, 0))
    sx, sy, bits, semi = layout
    y = _plane(frame, 0, bits, semi)
    if semi:
        uv = _plane(frame, 1, bits, semi=True)
        u, v = uv[:, 0::2], uv[:, 1::2]
    else:
        u, v = _plane(frame, 1, bits), _plane(frame, 2, bits)
    return yuv_to_rgb(y, u, v, spec, bits, (sx, sy))


def writable(pix_fmt: str) -> bool:
    """Whether rgb_to_frame converts to this format itself (else swscale does, from exact 4:4:4)."""
    return pix_fmt in _RGB or pix_fmt in _GRAY or pix_fmt in _YUV


def rgb_to_frame(rgb: np.ndarray, pix_fmt: str, spec: ColourSpec) -> av.VideoFrame:
    """(H, W, 3) uint8 RGB -> a frame of `pix_fmt` tagged with `spec`, exact where `writable(pix_fmt)`."""
    h, w = rgb.shape[:2]
    if pix_fmt in _RGB:
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
        return frame if pix_fmt == "rgb24" else frame.reformat(format=pix_fmt)
    layout = _YUV.get(pix_fmt)
    if pix_fmt in _GRAY:
        layout = (0, 0, _GRAY[pix_fmt], False)
    if layout is None or (layout[0] and w % 2) or (layout[1] and h % 2):
        deep = pix_fmt.endswith(("10le", "12le", "16le", "10be", "12be", "16be")) or pix_fmt.startswith("p01")
        staging = "yuv444p16le" if deep else "yuv444p"
        frame = rgb_to_frame(rgb, staging, spec)
        out = frame.reformat(format=pix_fmt)
        _tag(out, spec)
        return out
    sx, sy, bits, semi = layout
    planes = rgb_to_yuv(rgb, spec, bits, (sx, sy))
    frame = av.VideoFrame(w, h, pix_fmt)
    _tag(frame, spec)
    if pix_fmt in _GRAY:
        planes = planes[:1]
    elif semi:
        uv = np.empty((planes[1].shape[0], planes[1].shape[1] * 2), planes[1].dtype)
        uv[:, 0::2], uv[:, 1::2] = planes[1], planes[2]
        if bits > 8:
            uv <<= 16 - bits
        planes = (planes[0] << (16 - bits) if bits > 8 else planes[0], uv)
    for i, data in enumerate(planes):
        p = frame.planes[i]
        dtype = data.dtype
        dst = np.frombuffer(p, dtype).reshape(p.height, p.line_size // dtype.itemsize)
        dst[:, :data.shape[1]] = data
    return frame


def _tag(frame: av.VideoFrame, spec: ColourSpec) -> None:
    try:
        frame.colorspace = spec.matrix
        frame.color_range = spec.range
    except (AttributeError, ValueError):
        pass
