"""The GIF writer, checked by a decoder written here from the GIF89a specification (not the
writer's code): header, global palette, loop extension, per-frame delay and sub-rectangle,
and LZW codes that decode to the colours drawn."""

import struct

import numpy as np
import pytest

from attnstudio.core.gif import encode_gif, lzw_encode


def lzw_decode(data: bytes, min_code_size: int) -> list[int]:
    clear, end = 1 << min_code_size, (1 << min_code_size) + 1
    pos = 0
    size = min_code_size + 1
    table: list[list[int]] = []
    out: list[int] = []
    prev: list[int] | None = None

    def reset() -> None:
        nonlocal size, table, prev
        size = min_code_size + 1
        table = [[i] for i in range(clear)] + [[], []]
        prev = None

    reset()
    while True:
        if pos + size > len(data) * 8:
            raise AssertionError("ran out of data before the end code")
        code = (int.from_bytes(data[pos // 8:pos // 8 + 3].ljust(3, b"\0"), "little") >> (pos % 8)) & ((1 << size) - 1)
        pos += size
        if code == clear:
            reset()
            continue
        if code == end:
            return out
        if prev is None:
            entry = list(table[code])
        else:
            if code < len(table):
                entry = list(table[code])
                new = [*prev, entry[0]]
            elif code == len(table):
                new = [*prev, prev[0]]
                entry = new
            else:
                raise AssertionError(f"code {code} beyond the table ({len(table)})")
            if len(table) < 4096:
                table.append(new)
        out.extend(entry)
        prev = entry
        if len(table) == (1 << size) and size < 12:
            size += 1


def decode_gif(data: bytes):
    """(width, height, palette, loop, [(delay_cs, rgb frame)]) of a GIF with a global palette."""
    assert data[:6] == b"GIF89a"
    w, h, packed, _bg, _aspect = struct.unpack("<HHBBB", data[6:13])
    assert packed & 0x80
    n = 2 << (packed & 7)
    palette = np.frombuffer(data[13:13 + 3 * n], dtype=np.uint8).reshape(n, 3)
    pos = 13 + 3 * n
    canvas = np.zeros((h, w), dtype=np.uint8)
    frames, loop, delay = [], None, None
    while True:
        kind = data[pos]
        if kind == 0x3B:
            return w, h, palette, loop, frames
        if kind == 0x21:
            label = data[pos + 1]
            pos += 2
            blocks = []
            while data[pos]:
                blocks.append(data[pos + 1:pos + 1 + data[pos]])
                pos += 1 + data[pos]
            pos += 1
            if label == 0xF9:
                delay = struct.unpack("<H", blocks[0][1:3])[0]
            elif label == 0xFF and blocks[0] == b"NETSCAPE2.0":
                loop = struct.unpack("<H", blocks[1][1:3])[0]
            continue
        assert kind == 0x2C, f"unexpected block {kind:#x} at {pos}"
        left, top, fw, fh, fpacked = struct.unpack("<HHHHB", data[pos + 1:pos + 10])
        assert fpacked == 0  # no local palette, not interlaced
        mcs = data[pos + 10]
        pos += 11
        raw = bytearray()
        while data[pos]:
            raw += data[pos + 1:pos + 1 + data[pos]]
            pos += 1 + data[pos]
        pos += 1
        idx = lzw_decode(bytes(raw), mcs)
        assert len(idx) == fw * fh
        canvas[top:top + fh, left:left + fw] = np.array(idx, dtype=np.uint8).reshape(fh, fw)
        frames.append((delay, palette[canvas].copy()))


@pytest.mark.parametrize("n", [0, 1, 2, 300, 5000, 70_000])
def test_lzw_round_trip_through_table_resets(n):
    rng = np.random.default_rng(n)
    data = bytes(rng.integers(0, 256, n, dtype=np.uint8))  # random: the table fills and clears
    assert lzw_decode(lzw_encode(data, 8), 8) == list(data)
    runs = bytes(np.repeat(rng.integers(0, 7, max(1, n // 50), dtype=np.uint8), 50)[:n])
    assert lzw_decode(lzw_encode(runs, 8), 8) == list(runs)


def test_flat_colours_come_back_exactly_with_delays_and_loop():
    frames = []
    colours = [(255, 255, 255), (200, 30, 40), (20, 90, 200), (0, 0, 0)]
    for i in range(4):
        f = np.zeros((30, 40, 3), dtype=np.uint8)
        f[:] = colours[0]
        f[5:15, 5 + 5 * i:20 + 5 * i] = colours[1 + i % 3]
        frames.append(f)
    data = encode_gif(frames, [500, 1000, 1500, 2000], loop=0)
    w, h, _pal, loop, decoded = decode_gif(data)
    assert (w, h, loop) == (40, 30, 0)
    assert [d for d, _ in decoded] == [50, 100, 150, 200]
    for f, (_, g) in zip(frames, decoded):
        assert np.array_equal(f, g)
    # Only the changed rectangle is stored after the first frame: smaller than all of it.
    assert len(data) < 768 + 4 * 30 * 40


def test_many_colours_map_to_near_ones():
    rng = np.random.default_rng(1)
    y, x = np.mgrid[0:64, 0:256]
    f = np.stack([x, (y * 4) % 256, 255 - x], axis=2).astype(np.uint8)  # 16k colours
    noise = rng.integers(0, 256, (64, 256, 3), dtype=np.uint8)
    _, _, _pal, _, decoded = decode_gif(encode_gif([f, noise], 100))
    assert len(decoded) == 2
    error = np.abs(decoded[0][1].astype(int) - f.astype(int))
    assert error.max() <= 64 and error.mean() <= 10


def test_bad_frames_are_refused():
    with pytest.raises(ValueError):
        encode_gif([])
    with pytest.raises(ValueError):
        encode_gif([np.zeros((4, 4, 3)), np.zeros((4, 5, 3))])
    with pytest.raises(ValueError):
        encode_gif([np.zeros((4, 4, 3))], [1, 2])
