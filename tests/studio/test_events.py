"""Events: kinds announced once per batch and in a fixed order, notes delivered with their
batch, a callback that changes the model starts a new announcement instead of nesting."""

import pytest

from attnstudio.studio import StudioModel
from attnstudio.studio.events import KINDS, Events


def test_nested_batches_announce_once_at_the_end_in_kind_order():
    ev = Events()
    order: list[str] = []
    for kind in KINDS:
        ev.connect(kind, lambda k=kind: order.append(k))
    ev.connect_note(lambda text: order.append(f"note:{text}"))
    with ev.batch():
        ev.changed("lesson", "view")
        ev.note("hello")
        with ev.batch():
            ev.changed("inputs", "view")
        assert order == []
    assert order == ["inputs", "view", "lesson", "note:hello"]


def test_unknown_kinds_are_refused():
    ev = Events()
    with pytest.raises(ValueError, match="unknown change kind"):
        ev.connect("everything", lambda: None)
    with pytest.raises(ValueError, match="unknown change kind"):
        ev.changed("everything")


def test_disconnect_stops_the_calls():
    ev = Events()
    seen: list[int] = []

    def callback() -> None:
        seen.append(1)

    ev.connect("view", callback)
    ev.changed("view")
    ev.disconnect(callback)
    ev.changed("view")
    assert seen == [1]


def test_a_callback_that_changes_the_model_gets_a_second_announcement_not_a_nested_one():
    m = StudioModel()
    seen: list[tuple[frozenset[str], str]] = []
    depth = [0]

    def on_any(kinds: frozenset[str]) -> None:
        depth[0] += 1
        assert depth[0] == 1, "announcements must not nest"
        seen.append((kinds, m.stage))
        if m.stage == "scores":
            m.set_stage("weights")  # a listener reacting with a change of its own
        depth[0] -= 1

    m.events.connect_any(on_any)
    m.set_stage("scores")
    assert seen == [(frozenset({"view"}), "scores"), (frozenset({"view"}), "weights")]
