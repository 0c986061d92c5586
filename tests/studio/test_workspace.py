"""Workspace files: every saved field round-trips exactly, weights are stored compactly, what
is transient is not saved, and the example in docs/workspace.md is a workspace."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import numpy as np
import pytest

from attnstudio.core.lessons import load_lesson
from attnstudio.core.settings import Settings
from attnstudio.core.weights import Weights
from attnstudio.studio import Snapshot, StudioModel
from attnstudio.studio import workspace as ws
from attnstudio.studio.edits import weight_cell
from attnstudio.studio.inputs import RowOverride, run
from attnstudio.studio.snapshot import frozen_array, frozen_weights, same
from attnstudio.studio.workspace import FORMAT, MAX_BYTES, SUFFIX, VERSION, WorkspaceError, dumps, load, loads

DOC = Path(__file__).resolve().parents[2] / "docs" / "workspace.md"
SAVED = ("sentence", "settings", "weights", "embeddings", "direct", "stash", "edited", "padding", "mask_cells",
         "stage", "layer", "head", "theme", "zoom", "weights_scale")
TRANSIENT = {"selected_row": -1, "highlight_rows": (), "highlight_cells": (), "lesson": None, "step": -1,
             "before_lesson": None, "answers": (), "pinned": None}
# Floats whose text form is easy to get wrong: repr must bring each back bit for bit.
TRICKY = (1 / 3, 0.1 + 0.2, -0.0, 5e-324, 1e6, -1e6, 1e-300, 2.0 ** -1074 * 3, 123456.78901234567)


def busy_model() -> StudioModel:
    """Edited weights in two layers, an X override and a direct Q made for an earlier sentence,
    a stash from a size change, and every view and display option away from its default."""
    m = StudioModel("The cat sat on the mat")
    m.set_weight_cell(0, 0, "w_q", 0, 0, 0.25)
    m.set_embedding_cell(0, 1, 1.5)
    m.set_direct(0, 0, "v", np.arange(24.0).reshape(6, 4) / 7)
    m.set_setting(d_model=8, heads=2, layers=2, temperature=0.5, mask="causal", positional=True,
                  normalizer="sparsemax", dtype="float32")  # stashes the 4-wide edits
    for i, v in enumerate(TRICKY):
        m.set_weight_cell(0, 1, "w_k", i % 8, i // 8, v)
    m.set_weight_cell(1, 0, "w_o", 2, 3, -0.1)
    m.set_weight_cell(1, 1, "w_v", 7, 3, 1e6)
    m.set_embedding_cell(1, 2, 0.1 + 0.2)
    m.set_direct(1, 1, "q", np.random.default_rng(1).normal(size=(6, 4)))
    m.set_sentence("The cat sat on the rug, quietly")  # the overrides keep their own tokens
    m.apply(stage="weights", layer=1, head=1, theme="light", zoom=1.5, weights_scale="row", selected_row=2,
            highlight_rows=(1,), highlight_cells=((1, 0),), padding=(6,), mask_cells=((0, 6), (2, 2)))
    return m


def without_transient(snap: Snapshot) -> Snapshot:
    return dataclasses.replace(snap, **TRANSIENT)


def assert_read_only(snap: Snapshot) -> None:
    arrays = [m for lw in snap.weights.layers for hw in lw.heads for m in (hw.w_q, hw.w_k, hw.w_v)]
    arrays += [lw.w_o for lw in snap.weights.layers]
    arrays += [ov.matrix for _, ov in snap.direct] + ([snap.embeddings.matrix] if snap.embeddings else [])
    for _, (w, emb, direct) in snap.stash:
        arrays += [lw.w_o for lw in w.layers] + [ov.matrix for _, ov in direct] + ([emb.matrix] if emb else [])
    assert arrays and all(not a.flags.writeable and a.dtype == np.float64 for a in arrays)


def test_the_busy_model_differs_from_the_default_in_every_saved_field() -> None:
    snap, default = busy_model().snapshot(), Snapshot()
    assert [f for f in SAVED if same(getattr(snap, f), getattr(default, f))] == []
    assert {f.name for f in dataclasses.fields(Snapshot)} == set(SAVED) | set(TRANSIENT)


def test_every_saved_field_round_trips_exactly_through_text() -> None:
    snap = busy_model().snapshot()
    back = loads(dumps(snap), "busy.attn")
    for f in SAVED:
        assert same(getattr(back, f), getattr(snap, f)), f
    assert back == without_transient(snap)
    assert_read_only(back)
    # the edits and overrides really are in it, on the right tokens
    assert back.embeddings is not None and back.embeddings.tokens[:3] == ("The", "cat", "sat")
    assert [k for k, _ in back.direct] == [(1, 1, "q")]
    assert [k for k, _ in back.stash] == [(4, 1, 1, 0)]
    w_k = back.weights.layers[0].heads[1].w_k
    for i, v in enumerate(TRICKY):
        assert w_k[i % 8, i // 8].tobytes() == np.float64(v).tobytes()


def test_every_saved_field_round_trips_exactly_through_a_file(tmp_path: Path) -> None:
    snap = busy_model().snapshot()
    path = tmp_path / f"busy{SUFFIX}"
    ws.save(snap, path)
    assert path.read_bytes() == dumps(snap).encode("utf-8")
    back = load(path)
    assert back == without_transient(snap)
    assert_read_only(back)
    assert dumps(back) == dumps(snap)  # saved again, the same file
    assert not list(tmp_path.glob("*.saving"))


def test_what_is_transient_comes_back_as_the_default() -> None:
    snap = busy_model().snapshot()
    assert snap.selected_row == 2 and snap.highlight_rows == (1,)
    back = loads(dumps(snap), "t.attn")
    for name, default in TRANSIENT.items():
        assert same(getattr(back, name), default), name
    assert set(json.loads(dumps(snap))) == set(ws.TOP_KEYS)
    assert set(ws.NOT_SAVED) == set(TRANSIENT)
    doc = json.loads(dumps(snap))
    doc["selected_row"] = 2
    with pytest.raises(WorkspaceError, match=r"^t\.attn: selected_row: unknown key: a workspace does not keep"):
        loads(json.dumps(doc), "t.attn")


def test_a_loaded_workspace_restores_into_the_model_and_computes_the_same() -> None:
    m = busy_model()
    m.set_sentence("The cat sat on the mat")
    snap = m.snapshot()
    other = StudioModel()
    other.restore(loads(dumps(snap), "r.attn"))
    a, b = run(m.inputs()), run(other.inputs())
    for la, lb in zip(a.layers, b.layers):
        np.testing.assert_array_equal(la.output, lb.output)
    # the stash came back too: switching to the old sizes brings the old edits back
    other.set_setting(d_model=4, heads=1, layers=1)
    assert other.matrix("w_q", 0, 0)[0, 0] == 0.25
    assert other.snapshot().embeddings is not None and other.snapshot().embeddings.matrix[0, 1] == 1.5
    assert other.is_direct(0, 0, "v")


def test_seeded_weights_are_one_word() -> None:
    m = StudioModel("a b c", Settings(d_model=16, heads=4, layers=3, seed=7))
    doc = json.loads(dumps(m.snapshot()))
    assert doc["weights"] == "seeded"
    assert doc["format"] == FORMAT and doc["version"] == VERSION
    assert len(dumps(m.snapshot())) < 1000
    back = loads(dumps(m.snapshot()), "s.attn")
    assert same(back.weights, Weights.seeded(m.settings))


def test_only_matrices_that_differ_are_written_and_minus_zero_counts() -> None:
    m = StudioModel("a b c", Settings(d_model=8, heads=2, layers=2))
    m.set_weight_cell(1, 1, "w_v", 0, 0, 0.5)
    m.set_weight_cell(0, 0, "w_o", 3, 3, 0.25)
    doc = json.loads(dumps(m.snapshot()))
    assert [(e["layer"], e.get("head"), e["name"]) for e in doc["weights"]] == [(1, None, "w_o"), (2, 2, "w_v")]
    # a cell set to the value it had is still the seeded matrix; -0.0 for 0.0 is not (bit for bit)
    seeded = Weights.seeded(m.settings)
    zero = np.argwhere(seeded.layers[0].heads[0].w_k == 0)
    m2 = StudioModel("a b c", Settings(d_model=8, heads=2, layers=2))
    m2.set_weight_cell(0, 1, "w_q", 0, 0, float(seeded.layers[0].heads[1].w_q[0, 0]))
    assert json.loads(dumps(m2.snapshot()))["weights"] == "seeded"
    if len(zero):
        r, c = (int(i) for i in zero[0])
        m2.set_weight_cell(0, 0, "w_k", r, c, -0.0)
        doc2 = json.loads(dumps(m2.snapshot()))
        assert [e["name"] for e in doc2["weights"]] == ["w_k"]
        assert np.signbit(loads(dumps(m2.snapshot()), "z.attn").weights.layers[0].heads[0].w_k[r, c])


@pytest.mark.slow
def test_the_largest_model_with_one_edit_is_a_small_file(tmp_path: Path) -> None:
    settings = Settings(d_model=1024, heads=64, layers=8)
    weights, _ = weight_cell(Weights.seeded(settings), 5, 63, "w_v", 1000, 15, 0.123456789)
    snap = Snapshot(sentence="big model", settings=settings, weights=frozen_weights(weights), edited=True)
    path = tmp_path / "big.attn"
    ws.save(snap, path)
    size = path.stat().st_size
    assert size < 1_000_000, size
    back = load(path)
    assert back.weights.layers[5].heads[63].w_v[1000, 15] == 0.123456789
    assert same(back.weights, snap.weights)
    doc = json.loads(path.read_text())
    assert [(e["layer"], e["head"], e["name"]) for e in doc["weights"]] == [(6, 64, "w_v")]


def test_saving_during_a_lesson_saves_the_screen_as_it_is() -> None:
    m = StudioModel()
    m.set_weight_cell(0, 0, "w_q", 0, 0, 0.75)  # the user's own work, kept for after the lesson
    m.open_lesson(load_lesson("causal"))
    m.next_step()
    snap = m.snapshot()
    assert snap.lesson is not None and snap.before_lesson is not None
    back = loads(dumps(snap), "lesson.attn")
    assert back.lesson is None and back.step == -1 and back.before_lesson is None
    for f in SAVED:
        assert same(getattr(back, f), getattr(snap, f)), f
    StudioModel().restore(back)


def test_a_version_2_workspace_opens_with_todays_seeded_numbers_and_is_saved_as_version_3() -> None:
    # Version 3 changed the seeded numbers (docs/workspace.md, "The version rule"): a
    # version 2 file keeps the matrices it lists and takes today's seeded ones for the rest.
    m = StudioModel("the cat sat")
    m.set_weight_cell(0, 0, "w_q", 1, 2, 0.5)
    doc = json.loads(dumps(m.snapshot()))
    assert doc["version"] == VERSION == 3
    listed = doc["weights"][0]["rows"]
    doc["version"] = 2
    snap = loads(json.dumps(doc), "old.attn")
    seeded = Weights.seeded(snap.settings)
    assert snap.weights.layers[0].heads[0].w_q.tolist() == listed
    assert same(snap.weights.layers[0].heads[0].w_k, seeded.layers[0].heads[0].w_k)
    assert same(snap.weights.layers[0].w_o, seeded.layers[0].w_o)
    assert json.loads(dumps(snap))["version"] == 3


def test_the_example_in_the_docs_is_a_workspace() -> None:
    text = DOC.read_text(encoding="utf-8")
    block = re.search(r"```json\n(.*?)```", text, re.S)
    assert block is not None
    snap = loads(block.group(1), "docs/workspace.md")
    assert snap.sentence == "the cat sat" and snap.theme == "light" and snap.zoom == 1.5
    assert snap.stage == "scores" and snap.edited
    w_q = snap.weights.layers[0].heads[0].w_q
    seeded = Weights.seeded(snap.settings).layers[0].heads[0].w_q
    assert np.argwhere(w_q != seeded).tolist() == [[1, 2]] and w_q[1, 2] == 0.5
    assert same(snap.weights.layers[0].heads[0].w_k, Weights.seeded(snap.settings).layers[0].heads[0].w_k)
    (key, k), = snap.direct
    assert key == (0, 0, "k") and k.tokens == ("the", "cat", "sat")
    np.testing.assert_array_equal(k.matrix, [[1, 0, 0, 0], [2, 0, 0, 0], [0, 1, 0, 0]])
    # every key of the format has a row in the docs' table
    for key in (*ws.TOP_KEYS, *ws.STASH_KEYS):
        assert f"`{key}`" in text, key
    # and the example is what the studio writes for that work
    m = StudioModel("the cat sat")
    m.set_weight_cell(0, 0, "w_q", 1, 2, 0.5)
    m.set_direct(0, 0, "k", [[1.0, 0, 0, 0], [2.0, 0, 0, 0], [0, 1.0, 0, 0]])
    m.apply(theme="light", zoom=1.5, stage="scores")
    assert dumps(m.snapshot()) == block.group(1)


@pytest.mark.parametrize("sentence", ["Kätzchen — 猫 😺 sat", "lone \ud800 surrogate", "", "quote \" and \\ and \n"])
def test_any_sentence_round_trips(sentence: str) -> None:
    m = StudioModel(sentence)
    text = dumps(m.snapshot())
    text.encode("utf-8")  # always writable as UTF-8
    assert loads(text, "s.attn").sentence == sentence
    assert loads(text.encode("utf-8"), "s.attn").sentence == sentence
    if sentence.startswith("K"):
        assert "Kätzchen" in text  # written as UTF-8, not escaped


def test_the_messages_name_the_file_and_the_field() -> None:
    doc = json.loads(dumps(Snapshot()))
    doc["settings"]["heads"] = "x"
    with pytest.raises(WorkspaceError) as exc:
        loads(json.dumps(doc), "my.attn")
    assert str(exc.value) == "my.attn: settings.heads: must be a whole number from 1 to 64, not 'x'"
    assert exc.value.key == "settings.heads" and exc.value.source == "my.attn"

    doc = json.loads(dumps(Snapshot()))
    doc["version"] = 4
    with pytest.raises(WorkspaceError, match=r"^my\.attn: version: written by a newer attnstudio: version 4; "
                                             r"this one reads 3$"):
        loads(json.dumps(doc), "my.attn")

    doc = json.loads(dumps(Snapshot()))
    doc["settings"].update(d_model=6, heads=4)
    with pytest.raises(WorkspaceError, match=r"^my\.attn: settings\.heads: d_model = 6 is not divisible"):
        loads(json.dumps(doc), "my.attn")

    doc = json.loads(dumps(Snapshot()))
    doc["thme"] = "light"
    with pytest.raises(WorkspaceError, match=r"^my\.attn: thme: unknown key \(did you mean 'theme'\?\)$"):
        loads(json.dumps(doc), "my.attn")

    doc = json.loads(dumps(Snapshot()))
    doc["weights"] = [{"layer": 1, "head": 1, "name": "w_q", "rows": [[0.1] * 4] * 3 + [[0.1, 0.1, 1e400, 0.1]]}]
    with pytest.raises(WorkspaceError, match=r"^my\.attn: weights\[0\]\.rows: W_Q \(layer 1, head 1\) row 4, "
                                             r"column 3 is infinite"):
        loads(json.dumps(doc), "my.attn")


def test_a_file_over_the_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "huge.attn"
    with path.open("wb") as fh:
        fh.truncate(100_000_000)  # sparse: no disk is used
    with pytest.raises(WorkspaceError, match=r"huge\.attn: is 100,000,000 bytes; a workspace may be at most "):
        load(path)


def test_dumps_refuses_what_it_could_not_open_again(monkeypatch: pytest.MonkeyPatch) -> None:
    bad = np.array(Weights.seeded(Settings()).layers[0].heads[0].w_q)
    bad[0, 0] = np.nan
    w = Weights.seeded(Settings())
    w.layers[0].heads[0].w_q = bad
    with pytest.raises(WorkspaceError, match="cannot be saved"):
        dumps(Snapshot(weights=frozen_weights(w), edited=True))
    m = busy_model()
    monkeypatch.setattr(ws, "MAX_BYTES", 2000)
    with pytest.raises(WorkspaceError, match=r"cannot be saved: it would be [0-9,]+ bytes; a workspace may be at"):
        dumps(m.snapshot())
    assert MAX_BYTES == 64 << 20


def test_load_names_a_missing_file_or_a_folder(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match=r"nope\.attn: no such file"):
        load(tmp_path / "nope.attn")
    with pytest.raises(WorkspaceError, match="is not a file"):
        load(tmp_path)


def test_a_hand_written_file_may_list_a_matrix_equal_to_the_seeded_one_and_an_int_zoom() -> None:
    doc = json.loads(dumps(Snapshot()))
    seeded = Weights.seeded(Settings())
    doc["weights"] = [{"layer": 1, "name": "w_o", "rows": seeded.layers[0].w_o.tolist()}]
    doc["zoom"] = 2
    doc["embeddings"] = {"tokens": [], "rows": []}
    snap = loads(json.dumps(doc), "hand.attn")
    assert same(snap.weights, seeded) and snap.zoom == 2.0 and isinstance(snap.zoom, float)
    assert snap.embeddings is not None and snap.embeddings.matrix.shape == (0, 4)
    assert json.loads(dumps(snap))["weights"] == "seeded"


def test_an_empty_x_override_round_trips() -> None:
    snap = Snapshot(sentence="", embeddings=RowOverride(frozen_array(np.zeros((0, 4))), ()), edited=True)
    back = loads(dumps(snap), "e.attn")
    assert back == snap
