"""One matrix as a file and back: CSV (numbers only, ``#`` lines are comments) and NumPy's
``.npy``.

Writing keeps every digit (CSV cells are ``repr`` of the float, so reading gives back the
same bits; a masked cell is ``-inf``). Reading is for files from anywhere, so it trusts
nothing: a file larger than MAX_BYTES, text that is not UTF-8, a cell that is not a number,
ragged rows, a ``.npy`` that is truncated or holds objects (which would need pickle, i.e.
running code from the file: never done here) — each is refused with a MatrixError of one
line naming the file and what is wrong. The matrix's shape and finite values are checked
by ``check_matrix`` against the matrix it will replace.
"""

from __future__ import annotations

import io
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from attnstudio.core.errors import MatrixError
from attnstudio.core.matrices import check_matrix

# The studio's matrices are at most 128 tokens × 512 columns; a file far larger is a mistake.
MAX_BYTES = 8 * 1024 * 1024
SUFFIXES = (".csv", ".npy")


def matrix_to_csv(matrix: Any, comment: str = "") -> str:
    """Rows of comma-separated numbers, each written exactly (``repr``); ``comment`` (one
    line) goes first after ``# ``."""
    arr = np.asarray(matrix, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[:, None]
    lines = [f"# {' '.join(comment.split())}"] if comment.strip() else []
    lines += [",".join(repr(float(v)) for v in row) for row in arr]
    return "\n".join(lines) + "\n"


def matrix_to_npy(matrix: Any) -> bytes:
    """The matrix as the bytes of a ``.npy`` file (float64, no pickle)."""
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(np.asarray(matrix, dtype=np.float64)), allow_pickle=False)
    return buf.getvalue()


def read_matrix(path: str | os.PathLike[str], name: str, shape: tuple[int, int]) -> np.ndarray:
    """The matrix in a ``.csv`` or ``.npy`` file, checked to fit ``name`` of ``shape``.

    Raises MatrixError "<path>: <what is wrong>" for any file that cannot be used.
    """
    p = Path(path)
    where = str(path)
    suffix = p.suffix.lower()
    if suffix not in SUFFIXES:
        raise MatrixError(f"{where}: not a matrix file: use .csv or .npy")
    try:
        size = p.stat().st_size
        if size > MAX_BYTES:
            raise MatrixError(f"{where}: {size / 1e6:.1f} MB is too large for a matrix (at most "
                              f"{MAX_BYTES // (1024 * 1024)} MB)")
        with open(p, "rb") as f:
            data = f.read(MAX_BYTES + 1)
    except OSError as exc:
        raise MatrixError(f"{where}: cannot read it: {exc.strerror or exc}") from None
    if len(data) > MAX_BYTES:
        raise MatrixError(f"{where}: too large for a matrix (at most {MAX_BYTES // (1024 * 1024)} MB)")
    values = _parse_npy(data, where) if suffix == ".npy" else _parse_csv(data, where)
    try:
        return check_matrix(name, values, shape)
    except MatrixError as exc:
        raise MatrixError(f"{where}: {exc}") from None


def _parse_csv(data: bytes, where: str) -> list[list[float]]:
    if b"\x00" in data:
        raise MatrixError(f"{where}: not a text file (it holds binary data)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise MatrixError(f"{where}: not UTF-8 text (byte {exc.start + 1})") from None
    rows: list[list[float]] = []
    line_of_row: list[int] = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        cells = [c.strip() for c in stripped.split(",")]
        if cells and cells[-1] == "" and len(cells) > 1:  # a trailing comma
            cells.pop()
        row = []
        for col, cell in enumerate(cells, start=1):
            try:
                row.append(float(cell.replace("−", "-")))
            except ValueError:
                shown = cell if len(cell) <= 20 else cell[:20] + "…"
                raise MatrixError(f"{where}: line {number}, column {col}: {shown!r} is not a number") from None
        if rows and len(row) != len(rows[0]):
            raise MatrixError(f"{where}: line {number} has {len(row)} values, line {line_of_row[0]} has "
                              f"{len(rows[0])}: every row needs the same number")
        rows.append(row)
        line_of_row.append(number)
    if not rows:
        raise MatrixError(f"{where}: holds no numbers")
    return rows


def _parse_npy(data: bytes, where: str) -> np.ndarray:
    f = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
        elif version in ((2, 0), (3, 0)):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
        else:
            raise ValueError(f"unknown .npy version {version}")
    except (ValueError, EOFError, SyntaxError, TypeError) as exc:
        raise MatrixError(f"{where}: not a .npy file or truncated ({_first_line(exc)})") from None
    if dtype.hasobject:
        raise MatrixError(f"{where}: holds Python objects, which only pickle can read; attnstudio never "
                          "runs code from a file: save a plain float array (np.save with a float dtype)")
    if dtype.kind not in "biuf":
        raise MatrixError(f"{where}: holds {dtype} values, not real numbers")
    if len(shape) != 2:
        raise MatrixError(f"{where}: holds a {len(shape)}-dimensional array, not a matrix")
    count = math.prod(int(d) for d in shape)
    start = f.tell()
    needed = count * dtype.itemsize
    if len(data) - start < needed:
        raise MatrixError(f"{where}: truncated: the header promises {shape[0]} × {shape[1]} values, the file "
                          f"holds {max(0, len(data) - start)} of {needed} bytes")
    if len(data) - start > needed:
        raise MatrixError(f"{where}: has data after the array: not a .npy file that NumPy would write")
    arr = np.frombuffer(data, dtype=dtype, count=count, offset=start)
    arr = arr.reshape(shape[::-1]).T if fortran else arr.reshape(shape)
    return arr.astype(np.float64)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
