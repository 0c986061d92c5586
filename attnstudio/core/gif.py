"""A small animated-GIF (GIF89a) writer in NumPy and plain Python, so the bundle needs no
imaging library.

The studio's frames are heatmaps: flat cells in a few dozen colours plus antialiased text.
One palette serves every frame, so the animation does not flicker between palettes: colours
are grouped by their top 5 bits a channel, the 192 most frequent groups get an entry (the
mean of their colours, so a flat cell keeps its exact colour) and the other 64 go to the
groups farthest from every entry so far (a colour bar's gradient keeps its hues). Every
pixel is drawn as its group's nearest entry. After the first frame only the
rectangle that changed is stored. Codes are LZW as the GIF89a specification describes
(variable code size up to 12 bits, a clear code when the table is full); the NETSCAPE2.0
extension makes the animation loop.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

import numpy as np

PALETTE_SIZE = 256
POPULAR = 192  # palette entries given to the most frequent colours
MIN_DELAY_CS = 2  # browsers slow down anything shorter to 100 ms
_BITS = 5  # bits a channel keeps when colours are grouped into palette bins


def encode_gif(frames: Sequence[np.ndarray], delays_ms: int | Sequence[int] = 1000, loop: int = 0) -> bytes:
    """The bytes of a GIF showing ``frames`` (H × W × 3 uint8 RGB, all the same size) in turn,
    each for its delay (ms, stored in hundredths of a second); ``loop`` 0 repeats forever."""
    if not frames:
        raise ValueError("a GIF needs at least one frame")
    arrays = [np.ascontiguousarray(f, dtype=np.uint8) for f in frames]
    h, w = arrays[0].shape[:2]
    if any(a.ndim != 3 or a.shape != (h, w, 3) for a in arrays):
        raise ValueError("every frame must be H × W × 3 RGB of the same size")
    if not (1 <= w <= 65535 and 1 <= h <= 65535):
        raise ValueError(f"a GIF frame must be 1 … 65535 pixels a side, not {w} × {h}")
    delays = [delays_ms] * len(arrays) if isinstance(delays_ms, int) else list(delays_ms)
    if len(delays) != len(arrays):
        raise ValueError(f"{len(delays)} delays for {len(arrays)} frames")
    if not 0 <= loop <= 65535:
        raise ValueError("loop must be 0 (forever) … 65535")

    palette, lut = _palette(arrays)
    out = bytearray(b"GIF89a")
    out += struct.pack("<HHBBB", w, h, 0xF0 | 0x07, 0, 0)  # global table of 2^(7+1) colours
    out += palette.tobytes()
    out += b"\x21\xff\x0bNETSCAPE2.0\x03\x01" + struct.pack("<H", loop) + b"\x00"
    previous: np.ndarray | None = None
    for rgb, delay in zip(arrays, delays):
        indices = lut[_bins(rgb)]
        top, left, bottom, right = _changed(previous, indices)
        previous = indices
        cs = max(MIN_DELAY_CS, round(int(delay) / 10))
        # Graphic control: disposal 1 (leave the frame in place: the next one draws over it).
        out += b"\x21\xf9\x04" + struct.pack("<BHB", 0x04, min(cs, 65535), 0) + b"\x00"
        out += b"\x2c" + struct.pack("<HHHHB", left, top, right - left, bottom - top, 0)
        out += bytes([8]) + _sub_blocks(lzw_encode(indices[top:bottom, left:right].tobytes(), 8))
    out += b"\x3b"
    return bytes(out)


def _bins(rgb: np.ndarray) -> np.ndarray:
    q = (rgb >> (8 - _BITS)).astype(np.int32)
    return (q[..., 0] << (2 * _BITS)) | (q[..., 1] << _BITS) | q[..., 2]


def _palette(frames: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(256 × 3 uint8 palette, lookup from colour bin to palette index)."""
    nbins = 1 << (3 * _BITS)
    counts = np.zeros(nbins, dtype=np.int64)
    sums = np.zeros((nbins, 3), dtype=np.float64)
    for rgb in frames:
        b = _bins(rgb).ravel()
        counts += np.bincount(b, minlength=nbins)
        flat = rgb.reshape(-1, 3)
        for c in range(3):
            sums[:, c] += np.bincount(b, weights=flat[:, c], minlength=nbins)
    used = np.flatnonzero(counts)
    means = sums[used] / counts[used, None]
    # Most entries go to the most frequent colours (flat cells keep their exact colour); the
    # rest cover what is left farthest from any entry (a colour bar's gradient, say).
    order = np.argsort(-counts[used], kind="stable")
    picked = list(order[:POPULAR])
    if len(used) > POPULAR:
        nearest = np.full(len(used), np.inf)
        for i in picked:
            nearest = np.minimum(nearest, ((means - means[i]) ** 2).sum(axis=1))
        while len(picked) < min(PALETTE_SIZE, len(used)):
            i = int(np.argmax(nearest))
            if nearest[i] == 0:
                break
            picked.append(i)
            nearest = np.minimum(nearest, ((means - means[i]) ** 2).sum(axis=1))
    colours = means[picked]
    palette = np.zeros((PALETTE_SIZE, 3), dtype=np.uint8)
    palette[: len(picked)] = np.clip(np.rint(colours), 0, 255).astype(np.uint8)
    lut = np.zeros(nbins, dtype=np.uint8)
    for start in range(0, len(used), 4096):  # nearest palette colour of each bin in use
        d = ((means[start:start + 4096, None, :] - colours[None, :, :]) ** 2).sum(axis=2)
        lut[used[start:start + 4096]] = np.argmin(d, axis=1).astype(np.uint8)
    return palette, lut


def _changed(previous: np.ndarray | None, indices: np.ndarray) -> tuple[int, int, int, int]:
    """(top, left, bottom, right) of what differs from the previous frame (at least a pixel)."""
    h, w = indices.shape
    if previous is None:
        return 0, 0, h, w
    diff = previous != indices
    rows, cols = np.flatnonzero(diff.any(axis=1)), np.flatnonzero(diff.any(axis=0))
    if rows.size == 0:
        return 0, 0, 1, 1
    return int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1


def lzw_encode(data: bytes, min_code_size: int = 8) -> bytes:
    """GIF's variable-length LZW of ``data`` (values below 2**min_code_size), packed LSB first,
    starting with a clear code and ending with the end-of-information code."""
    clear = 1 << min_code_size
    end = clear + 1
    out = bytearray()
    acc = 0
    nbits = 0
    size = min_code_size + 1
    next_code = end + 1
    table: dict[int, int] = {}

    def emit(code: int) -> None:
        nonlocal acc, nbits
        acc |= code << nbits
        nbits += size
        while nbits >= 8:
            out.append(acc & 0xFF)
            acc >>= 8
            nbits -= 8

    emit(clear)
    if not data:
        emit(end)
        return bytes(out + (bytes([acc]) if nbits else b""))
    prefix = data[0]
    for k in data[1:]:
        key = (prefix << 8) | k
        code = table.get(key)
        if code is not None:
            prefix = code
            continue
        emit(prefix)
        if next_code < 4096:
            table[key] = next_code
            next_code += 1
            # The decoder's table runs one entry behind: widen once it has 2**size codes.
            if next_code > (1 << size) and size < 12:
                size += 1
        else:
            emit(clear)
            table.clear()
            size = min_code_size + 1
            next_code = end + 1
        prefix = k
    emit(prefix)
    if next_code >= (1 << size) and size < 12:  # the decoder adds an entry on this code too
        size += 1
    emit(end)
    if nbits:
        out.append(acc & 0xFF)
    return bytes(out)


def _sub_blocks(data: bytes) -> bytes:
    out = bytearray()
    for i in range(0, len(data), 255):
        chunk = data[i:i + 255]
        out.append(len(chunk))
        out += chunk
    out.append(0)
    return bytes(out)
