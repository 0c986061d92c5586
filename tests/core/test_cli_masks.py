"""--padding and --mask-cells on the command line: the trace they print is the one the core
computes for those cells (whose weights a loop over the unmasked keys reproduces), and
bad input is one line on stderr with exit status 2."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from attnstudio.cli import main
from attnstudio.studio import StudioModel
from attnstudio.studio.workspace import dumps


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def loop_softmax(row: list[float | None]) -> list[float]:
    """softmax over the cells that are not masked (JSON null = −∞), 0 for the masked ones."""
    kept = [x for x in row if x is not None]
    top = max(kept)
    total = sum(math.exp(x - top) for x in kept)
    return [0.0 if x is None else math.exp(x - top) / total for x in row]


def test_mask_cells_in_the_json_trace(capsys):
    code, out, err = run_cli(capsys, "trace", "the cat sat on", "--mask-cells", "0,0 3,1;3:2", "--format", "json")
    assert code == 0 and err == ""
    doc = json.loads(out)
    assert doc["settings"]["mask"] == "custom" and doc["mask_cells"] == [[0, 0], [3, 1], [3, 2]]
    head = doc["layers"][0]["heads"][0]
    masked = [[i, j] for i, row in enumerate(head["masked"]) for j, v in enumerate(row) if v is None]
    assert masked == [[0, 0], [3, 1], [3, 2]]
    for i, row in enumerate(head["masked"]):
        assert head["weights"][i] == pytest.approx(loop_softmax(row), abs=1e-12)
    assert head["weights"][3][1] == 0.0 and head["weights"][3][2] == 0.0


def test_padding_in_the_table_and_for_a_lesson_step(capsys):
    code, out, _ = run_cli(capsys, "trace", "the cat PAD PAD", "--padding", "2,3")
    assert code == 0 and "padding tokens: 2 3" in out and "mask=padding" in out
    code, out, _ = run_cli(capsys, "trace", "--lesson", "it-cat", "--step", "4", "--format", "json",
                           "--mask-cells", "0,3")
    doc = json.loads(out)
    weights = doc["layers"][0]["heads"][0]["weights"][0]
    assert weights[3] == 0.0 and weights[0] > 0  # the command line's cell instead of the lesson's


def test_a_workspace_traced_with_a_drawn_mask(tmp_path, capsys):
    path = tmp_path / "w.attn"
    path.write_text(dumps(StudioModel("a b c d").snapshot()), encoding="utf-8")
    code, out, _ = run_cli(capsys, "trace", "--workspace", str(path), "--padding", "0", "--format", "json")
    doc = json.loads(out)
    assert code == 0 and doc["padding"] == [0]
    assert np.all(np.array(doc["layers"][0]["heads"][0]["weights"])[:, 0] == 0.0)


@pytest.mark.parametrize(("argv", "message"), [
    (["trace", "a b c", "--mask-cells", "0,3"], "masked cell's key 3 does not exist: the sentence has tokens 0..2"),
    (["trace", "a b c", "--mask-cells", "0"], "--mask-cells takes QUERY,KEY pairs"),
    (["trace", "a b c", "--mask-cells", "1,1 1,1"], "masked cell (1, 1) is given twice"),
    (["trace", "a b c", "--padding", "one"], "--padding takes token positions"),
    (["trace", "a b c", "--padding", "3"], "padding token 3 does not exist"),
    (["trace", "a b c", "--causal", "--mask-cells", "0,1"], "give one mask, not --causal and --mask-cells"),
    (["export", "--lesson", "it-cat", "--out", "x", "--padding", "1"], "a lesson sets its own masks"),
])
def test_bad_masks_are_one_line_and_exit_2(capsys, argv, message):
    code, out, err = run_cli(capsys, *argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and message in err
