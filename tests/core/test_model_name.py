"""What the window and the exports call a model: its folder, or its model card's title."""

from __future__ import annotations

from attnstudio.core.model_folder import model_name


def test_a_named_folder_is_its_name(tmp_path):
    folder = tmp_path / "bert-base-uncased"
    folder.mkdir()
    (folder / "README.md").write_text("# Something else\n")
    assert model_name(folder) == "bert-base-uncased"


def test_a_generic_folder_takes_the_model_cards_first_heading(tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    assert model_name(folder) == "model"  # no card: the folder's name still
    (folder / "README.md").write_text("---\ntags: [x]\n---\n\n## not a title\n# all-MiniLM-L6-v2\n# later\n")
    assert model_name(folder) == "all-MiniLM-L6-v2"


def test_the_test_model_is_named_by_its_card(minilm):
    assert minilm.info.name == "all-MiniLM-L6-v2"
