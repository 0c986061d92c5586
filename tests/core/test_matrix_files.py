"""A matrix as CSV or .npy and back: exact round trips, and every bad file refused with one
line naming the file and what is wrong (never by running anything from it)."""

import pickle

import numpy as np
import pytest

from attnstudio.core.errors import MatrixError
from attnstudio.core.matrix_files import MAX_BYTES, matrix_to_csv, matrix_to_npy, read_matrix

M = np.array([[0.1, -2.5, 1 / 3], [1e-12, 123456.789, -0.0]])


@pytest.mark.parametrize("suffix", [".csv", ".npy"])
def test_round_trip_is_exact(tmp_path, suffix):
    path = tmp_path / f"m{suffix}"
    if suffix == ".csv":
        path.write_text(matrix_to_csv(M, "W_Q (layer 1, head 1)\nsecond line"))
    else:
        path.write_bytes(matrix_to_npy(M))
    back = read_matrix(path, "W_Q", (2, 3))
    assert back.dtype == np.float64 and np.array_equal(back, M)
    assert np.array_equal(np.signbit(back), np.signbit(M))


def test_csv_is_plain_numbers_with_a_comment():
    text = matrix_to_csv(np.array([[1.0, -np.inf], [0.5, 2.0]]), "weights")
    assert text.splitlines() == ["# weights", "1.0,-inf", "0.5,2.0"]


def test_npy_from_numpy_in_other_dtypes(tmp_path):
    np.save(tmp_path / "i.npy", np.arange(6, dtype=np.int16).reshape(2, 3))
    np.save(tmp_path / "f.npy", np.asfortranarray(M.astype(np.float32)))
    assert read_matrix(tmp_path / "i.npy", "X", (2, 3)).tolist() == [[0, 1, 2], [3, 4, 5]]
    assert np.allclose(read_matrix(tmp_path / "f.npy", "X", (2, 3)), M, rtol=1e-6)


def _pickled(path):
    np.save(path, np.array([[1, "a"], [None, 2]], dtype=object), allow_pickle=True)


def _pickle_bomb(path):
    class Boom:
        def __reduce__(self):
            return (print, ("EXECUTED",))

    path.write_bytes(pickle.dumps(Boom()))


@pytest.mark.parametrize(("name", "make", "says"), [
    ("shape.csv", lambda p: p.write_text("1,2\n3,4\n"), "must be 2 × 3, got 2 × 2"),
    ("word.csv", lambda p: p.write_text("1,2,3\n4,five,6\n"), "line 2, column 2: 'five' is not a number"),
    ("nan.csv", lambda p: p.write_text("1,2,3\n4,nan,6\n"), "row 2, column 2 is not a number (NaN)"),
    ("inf.csv", lambda p: p.write_text("1,2,inf\n4,5,6\n"), "row 1, column 3 is infinite"),
    ("ragged.csv", lambda p: p.write_text("1,2,3\n4,5\n"), "line 2 has 2 values, line 1 has 3"),
    ("empty.csv", lambda p: p.write_text("# nothing\n\n"), "holds no numbers"),
    ("binary.csv", lambda p: p.write_bytes(bytes(range(256)) * 4), "binary"),
    ("latin1.csv", lambda p: p.write_bytes("1,2,3\n4,5,6 é\n".encode("latin-1")), "not UTF-8"),
    ("huge.csv", lambda p: p.write_bytes(b"1," * (MAX_BYTES // 2 + 10)), "too large"),
    ("object.npy", _pickled, "pickle"),
    ("bomb.npy", _pickle_bomb, "not a .npy file"),
    ("truncated.npy", lambda p: p.write_bytes(matrix_to_npy(M)[:-5]), "truncated"),
    ("garbage.npy", lambda p: p.write_bytes(b"\x93NUMPY\x01\x00garbage"), "not a .npy file"),
    ("text.npy", lambda p: p.write_text("1,2,3\n4,5,6\n"), "not a .npy file"),
    ("cube.npy", lambda p: np.save(p, np.zeros((2, 3, 1))), "3-dimensional"),
    ("complex.npy", lambda p: np.save(p, np.zeros((2, 3), dtype=complex)), "not real numbers"),
    ("nan.npy", lambda p: np.save(p, np.array([[1, 2, np.nan], [0, 0, 0]])), "row 1, column 3 is not a number"),
    ("wrong.npy", lambda p: np.save(p, np.zeros((3, 2))), "must be 2 × 3, got 3 × 2"),
    ("tail.npy", lambda p: p.write_bytes(matrix_to_npy(M) + b"more"), "data after the array"),
    ("matrix.txt", lambda p: p.write_text("1,2,3\n4,5,6\n"), "use .csv or .npy"),
    ("missing.csv", None, "cannot read it"),
])
def test_bad_files_are_one_line_naming_the_file(tmp_path, capsys, name, make, says):
    path = tmp_path / name
    if make is not None:
        make(path)
    with pytest.raises(MatrixError) as err:
        read_matrix(path, "W_Q (layer 1, head 1)", (2, 3))
    message = str(err.value)
    assert message.startswith(f"{path}: ") and "\n" not in message
    assert says in message, message
    assert "EXECUTED" not in capsys.readouterr().out
