"""Malformed workspace files: every one must become a WorkspaceError naming the file, in one
line, and never any other exception (nor a pickle or anything else executed).

The corpus is generated from one valid workspace that uses every part of the format (edited
weights of both kinds, an X override, direct matrices, a stash entry): truncations, byte
flips, a wrong type at every field, every key missing, an extra key in every object, future
and wrong versions, NaN / ∞ / huge numbers, wrong shapes, indices out of range, non-UTF-8
text, binary garbage (pickles and .npy included), deep nesting and files over the limit.
"""

from __future__ import annotations

import copy
import gzip
import io
import json
import pickle
import random
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from attnstudio.studio import Snapshot, StudioModel
from attnstudio.studio.workspace import MAX_BYTES, WorkspaceError, dumps, load, loads

Path_ = tuple[Any, ...]  # keys and indices from the document's root


# ---------------------------------------------------------------- the valid workspace


@cache
def base_text() -> str:
    m = StudioModel("the cat sat")
    m.set_weight_cell(0, 0, "w_q", 0, 0, 0.5)
    m.set_embedding_cell(0, 0, 1.0)
    m.set_direct(0, 0, "k", np.arange(12.0).reshape(3, 4) / 4)
    m.set_setting(heads=2, layers=2)  # stashes the edits of (4, 1, 1, 0); X is kept
    m.set_weight_cell(1, 1, "w_v", 0, 0, 0.25)
    m.set_weight_cell(1, 0, "w_o", 0, 0, 0.125)
    m.set_direct(1, 0, "q", np.arange(6.0).reshape(3, 2))
    m.apply(stage="scores", layer=1, head=1, theme="light", zoom=2.0)
    return dumps(m.snapshot())


def base_doc() -> dict[str, Any]:
    return json.loads(base_text())


def test_the_base_workspace_uses_every_part_of_the_format() -> None:
    doc = base_doc()
    assert {e["name"] for e in doc["weights"]} == {"w_v", "w_o"}
    assert doc["embeddings"] is not None and doc["direct"] and doc["stash"]
    (entry,) = doc["stash"]
    assert entry["weights"] != "seeded" and entry["embeddings"] is not None and entry["direct"]
    assert isinstance(loads(base_text(), "base.attn"), Snapshot)
    assert base_text().isascii()  # so that any one byte ≥ 0x80 makes it invalid UTF-8


def paths(value: Any, here: Path_ = ()) -> Iterator[tuple[Path_, Any]]:
    """Every (path, value) in a JSON document, the root excluded, parents before children."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield (*here, k), v
            yield from paths(v, (*here, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield (*here, i), v
            yield from paths(v, (*here, i))


def replaced(doc: Any, path: Path_, value: Any) -> Any:
    out = copy.deepcopy(doc)
    target = out
    for k in path[:-1]:
        target = target[k]
    target[path[-1]] = value
    return out


def deleted(doc: Any, path: Path_) -> Any:
    out = copy.deepcopy(doc)
    target = out
    for k in path[:-1]:
        target = target[k]
    del target[path[-1]]
    return out


def text_of(doc: Any) -> bytes:
    return json.dumps(doc, indent=1).encode("utf-8")  # allow_nan: NaN and Infinity written on purpose


def name_of(path: Path_) -> str:
    return ".".join(str(k) for k in path) or "root"


# ---------------------------------------------------------------- the corpus

WRONG_TYPES: tuple[Any, ...] = (None, True, 0, -1, 1.5, "x", [], {}, [[1.0]], [None])


def valid_anyway(path: Path_, value: Any) -> bool:
    """Values of the wrong-type sweep that the format accepts at ``path`` (so not malformed)."""
    key = path[-1]
    parent = path[-2] if len(path) > 1 else None
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if parent == "rows" or (len(path) > 2 and path[-3] == "rows"):  # a row or a cell
        return number and len(path) > 2 and path[-3] == "rows"
    return (
        (key == "sentence" and value == "x")
        or (parent == "tokens" and value == "x")
        or (key == "zoom" and value == 1.5)
        or (key in ("embeddings",) and value is None)
        or (key in ("weights", "direct", "stash") and value == [])
        or (key == "temperature" and value == 1.5)
        or (key == "seed" and isinstance(value, int) and not isinstance(value, bool))
        or (key in ("scale", "positional", "residual", "edited") and value is True)
    )


def corpus() -> list[tuple[str, bytes]]:
    """(kind, file bytes): each must be refused."""
    text = base_text().encode("utf-8")
    doc = base_doc()
    rng = random.Random(20240611)
    cases: list[tuple[str, bytes]] = []

    # truncations of the valid file at many offsets (every proper prefix is cut short)
    end = len(text.rstrip())
    offsets = sorted({*range(0, end, max(1, end // 90)), *range(end - 12, end)})
    cases += [(f"truncated-at-{k}", text[:k]) for k in offsets]

    # one byte flipped to a byte ≥ 0x80 (never UTF-8 in an ASCII file), and structural
    # characters swapped for another
    for _ in range(30):
        i = rng.randrange(len(text))
        cases.append((f"high-byte-at-{i}", text[:i] + bytes([rng.randrange(0x80, 0x100)]) + text[i + 1:]))
    structural = [i for i, b in enumerate(text) if b in b'{}[]:,"']
    for i in rng.sample(structural, 30):
        other = rng.choice([c for c in b'{}[]:,"' if c != text[i]])
        cases.append((f"structure-at-{i}", text[:i] + bytes([other]) + text[i + 1:]))

    # a wrong type at every field, every key missing, an extra key in every object
    for path, value in paths(doc):
        if "rows" in path[:-1] and path[-1] != 0:
            continue  # within a matrix: its first row and the first cell of each row
        for bad in WRONG_TYPES:
            if bad != value and not valid_anyway(path, bad):
                cases.append((f"type-{name_of(path)}={bad!r}", text_of(replaced(doc, path, bad))))
        if isinstance(path[-1], str):
            cases.append((f"missing-{name_of(path)}", text_of(deleted(doc, path))))
        if isinstance(value, dict):
            cases.append((f"extra-key-in-{name_of(path)}", text_of(replaced(doc, path, {**value, "extra": 1}))))
    cases.append(("extra-key-at-top", text_of({**doc, "selected_row": 1})))
    cases.append(("lesson-key", text_of({**doc, "lesson": "causal"})))

    # versions and formats
    for v in (4, 99, 10**100, 0, -1, "1", 1.0, True, None, [1]):
        cases.append((f"version={v!r}", text_of({**doc, "version": v})))
    for f in ("attnstudio-lesson", "", None, 1, ["attnstudio-workspace"], "ATTNSTUDIO-WORKSPACE"):
        cases.append((f"format={f!r}", text_of({**doc, "format": f})))

    # NaN, ∞ and huge numbers where numbers go
    matrices = [p for p, v in paths(doc) if p[-1] == "rows"]
    for path in matrices:
        for bad in (float("nan"), float("inf"), -float("inf"), 1e7, -2e6, 10**400, 10**20):
            cases.append((f"number-{name_of(path)}={bad!r}", text_of(replaced(doc, (*path, 0, 0), bad))))
        literal = text_of(replaced(doc, (*path, 0, 0), "BIG")).replace(b'"BIG"', b"1e999")
        cases.append((f"number-{name_of(path)}=1e999", literal))
    for key, values in (("zoom", (float("nan"), float("inf"), 0.4, 4.5, 1e999, -1)),
                        ("layer", (0, 3, 10**30)), ("head", (0, 3, -1))):
        cases += [(f"{key}={v!r}", text_of({**doc, key: v})) for v in values]
    for v in (float("nan"), float("inf"), 0, -1.0, 0.0):
        cases.append((f"temperature={v!r}", text_of(replaced(doc, ("settings", "temperature"), v))))
    cases.append(("digits-5000", text.replace(b'"seed": 0', b'"seed": ' + b"9" * 5000, 1)))

    # wrong shapes of every matrix
    for path in matrices:
        rows = doc_at(doc, path)
        shapes = {
            "row-less": rows[:-1], "row-more": [*rows, rows[0]], "col-less": [r[:-1] for r in rows],
            "col-more": [[*r, 0.0] for r in rows], "ragged": [rows[0][:-1], *rows[1:]], "no-rows": [],
            "empty-rows": [[] for _ in rows], "3d": [[[c] for c in r] for r in rows], "flat": rows[0],
            "transposed": np.array(rows).T.tolist() if len(rows) != len(rows[0]) else rows[:1],
        }
        for what, bad in shapes.items():
            cases.append((f"shape-{what}-{name_of(path)}", text_of(replaced(doc, path, bad))))
    for path, value in paths(doc):
        if path[-1] == "tokens":
            cases.append((f"tokens-extra-{name_of(path)}", text_of(replaced(doc, path, [*value, "dog"]))))
            cases.append((f"tokens-number-{name_of(path)}", text_of(replaced(doc, path, [*value[:-1], 3]))))

    # indices, names and choices out of range; duplicates; a stash that is too long
    w_entry = next(p for p, v in paths(doc) if isinstance(v, dict) and v.get("name") == "w_v")
    o_entry = next(p for p, v in paths(doc) if isinstance(v, dict) and v.get("name") == "w_o")
    d_entry = ("direct", 0)
    for path, key, v in ((w_entry, "layer", 3), (w_entry, "head", 3), (w_entry, "name", "w_x"),
                         (w_entry, "name", "q"), (o_entry, "layer", 0), (o_entry, "name", "w_q"),
                         (d_entry, "layer", 3), (d_entry, "head", 0), (d_entry, "name", "w_q"),
                         (d_entry, "name", "Q"), (("stash", 0), "heads", 3), (("stash", 0), "d_model", 2000),
                         (("stash", 0), "layers", 9), (("stash", 0), "seed", 1.5),
                         (("settings",), "mask", "x"), (("settings",), "normalizer", "x"),
                         (("settings",), "backend", "tpu"), (("settings",), "dtype", "float16"),
                         (("settings",), "d_model", 0), (("settings",), "d_model", 6),
                         (("settings",), "layers", 9), (("settings",), "heads", 3), (("settings",), "heads", 65),
                         (("settings",), "layers", 1), (("settings",), "d_model", 8)):
        cases.append((f"range-{name_of(path)}.{key}={v!r}", text_of(replaced(doc, (*path, key), v))))
    cases.append(("o-entry-with-head", text_of(replaced(doc, o_entry, {**doc_at(doc, o_entry), "head": 1}))))
    cases.append(("w-entry-without-head", text_of(deleted(doc, (*w_entry, "head")))))
    for key, v in (("stage", "nope"), ("stage", "Scores"), ("theme", "blue"), ("weights_scale", "log"),
                   ("weights", "Seeded"), ("weights", "random"), ("sentence", None)):
        cases.append((f"choice-{key}={v!r}", text_of({**doc, key: v})))
    cases.append(("duplicate-weight", text_of({**doc, "weights": [*doc["weights"], doc["weights"][0]]})))
    cases.append(("duplicate-direct", text_of({**doc, "direct": [*doc["direct"], doc["direct"][0]]})))
    cases.append(("duplicate-stash", text_of({**doc, "stash": [*doc["stash"], doc["stash"][0]]})))
    many = [dict(doc["stash"][0], seed=s) for s in range(9)]
    cases.append(("stash-of-9", text_of({**doc, "stash": many})))
    cases.append(("duplicate-key", text.replace(b'"theme": "light"', b'"theme": "light", "theme": "dark"', 1)))
    cases.append(("nan-literal", text.replace(b'"zoom": 2.0', b'"zoom": NaN', 1)))

    # not UTF-8, and not text at all
    latin = text.replace(b'"the cat sat"', '"the Kätzchen sat"'.encode("latin-1"), 1)
    cases += [("latin-1", latin), ("utf-16", base_text().encode("utf-16")),
              ("utf-32", base_text().encode("utf-32")), ("utf-16-le", base_text().encode("utf-16-le"))]
    for n in (1, 7, 64, 1000, 100_000):
        cases.append((f"random-bytes-{n}", rng.randbytes(n)))
    buf = io.BytesIO()
    np.save(buf, np.eye(4))
    cases += [
        ("npy", buf.getvalue()), ("gzip", gzip.compress(text)), ("png", b"\x89PNG\r\n\x1a\n" + rng.randbytes(200)),
        ("zip", b"PK\x03\x04" + rng.randbytes(200)), ("nul-bytes", b"\x00" * 300), ("nul-inside", text[:40] + b"\x00"
                                                                                     + text[40:]),
        ("empty", b""), ("whitespace", b" \n\t\r\n"), ("bom-only", b"\xef\xbb\xbf"), ("null", b"null"),
        ("list", b"[]"), ("number", b"1"), ("string", b'"attnstudio-workspace"'), ("true", b"true"),
        ("two-documents", text + text), ("trailing-garbage", text + b"x"), ("lesson-toml", b'format = 1\nid = "x"\n'),
    ]
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        cases.append((f"pickle-{protocol}", pickle.dumps(doc, protocol=protocol)))

    # deep nesting, alone and where a value goes
    cases += [("nested-lists", b"[" * 100_000), ("nested-objects", b'{"a":' * 100_000),
              ("nested-closed", b"[" * 50_000 + b"]" * 50_000),
              ("nested-in-sentence", text.replace(b'"the cat sat"', b"[" * 50_000 + b"]" * 50_000, 1)),
              ("nested-shallow-in-settings", text_of({**doc, "settings": json.loads("[" * 500 + "]" * 500)}))]
    return cases


def doc_at(doc: Any, path: Path_) -> Any:
    for k in path:
        doc = doc[k]
    return doc


CORPUS = corpus()


def test_the_corpus_is_large_and_covers_every_kind() -> None:
    kinds = {name.split("-")[0].split("=")[0] for name, _ in CORPUS}
    assert len(CORPUS) >= 200, len(CORPUS)
    assert {"truncated", "high", "structure", "type", "missing", "extra", "version", "number", "shape", "range",
            "latin", "utf", "random", "pickle", "nested", "npy", "duplicate"} <= kinds, kinds


def check_refused(path: Path) -> WorkspaceError:
    with pytest.raises(WorkspaceError) as exc:
        load(path)
    message = str(exc.value)
    assert message.startswith(str(path)), message
    assert "\n" not in message and "\r" not in message and len(message) < 1200, message
    return exc.value


@pytest.mark.parametrize(("kind", "data"), CORPUS, ids=[f"{i:03d}-{name}"[:90] for i, (name, _) in enumerate(CORPUS)])
def test_a_malformed_file_is_one_workspace_error(tmp_path: Path, kind: str, data: bytes) -> None:
    path = tmp_path / "bad.attn"
    path.write_bytes(data)
    check_refused(path)
    # the same bytes handed over directly say the same thing
    with pytest.raises(WorkspaceError, match=r"^given\.attn: "):
        loads(data, "given.attn")


def test_the_message_names_the_field_where_there_is_one(tmp_path: Path) -> None:
    doc = base_doc()
    for path in (("settings", "d_model"), ("stash", 0, "direct", 0, "rows"), ("direct", 0, "tokens"), ("zoom",)):
        file = tmp_path / "field.attn"
        file.write_bytes(text_of(replaced(doc, path, "x")))
        assert check_refused(file).key == ".".join(str(k) for k in path).replace(".0", "[0]"), path


def test_a_file_over_the_limit_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "100MB.attn"
    with path.open("wb") as fh:
        fh.truncate(100 * 1000 * 1000)  # sparse
    err = check_refused(path)
    assert "100,000,000 bytes" in str(err) and "64 MiB" in str(err)
    path.unlink()
    with pytest.raises(WorkspaceError, match=r"^big: is 67,108,865 bytes"):
        loads(b" " * (MAX_BYTES + 1), "big")
    with pytest.raises(WorkspaceError, match=r"^big: is 67,108,865 bytes"):
        loads(" " * (MAX_BYTES + 1), "big")


def test_text_that_is_not_unicode_and_things_that_are_not_text() -> None:
    with pytest.raises(WorkspaceError, match=r"^s\.attn: holds characters that are not valid Unicode"):
        loads("\ud800" + base_text(), "s.attn")
    for thing in (None, 12, ["x"], {"format": "attnstudio-workspace"}):
        with pytest.raises(WorkspaceError, match=r"^s\.attn: expected the text"):
            loads(thing, "s.attn")  # type: ignore[arg-type]


def test_a_pickle_is_never_unpickled(tmp_path: Path) -> None:
    class Boom:
        def __reduce__(self) -> tuple[Any, ...]:
            return (Path.touch, (tmp_path / "pwned",))

    path = tmp_path / "evil.attn"
    path.write_bytes(pickle.dumps(Boom()))
    check_refused(path)
    assert not (tmp_path / "pwned").exists()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_flips_and_values_never_raise_anything_else(data: st.DataObject) -> None:
    """A random byte XOR-ed, or a random JSON value put anywhere: either a workspace (that
    saves again) or a WorkspaceError naming the source, never any other exception."""
    text = base_text().encode("utf-8")
    if data.draw(st.booleans()):
        i = data.draw(st.integers(0, len(text) - 1))
        mask = data.draw(st.integers(1, 255))
        blob = text[:i] + bytes([text[i] ^ mask]) + text[i + 1:]
    else:
        doc = base_doc()
        all_paths = [p for p, _ in paths(doc)]
        path = data.draw(st.sampled_from(all_paths))
        value = data.draw(st.recursive(
            st.none() | st.booleans() | st.integers(-(10**30), 10**30) | st.floats() | st.text(max_size=8),
            lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
            max_leaves=10))
        blob = text_of(replaced(doc, path, value))
    try:
        snap = loads(blob, "flip.attn")
    except WorkspaceError as exc:
        assert str(exc).startswith("flip.attn") and "\n" not in str(exc)
    else:
        assert isinstance(snap, Snapshot)
        assert loads(dumps(snap), "again.attn") == snap
