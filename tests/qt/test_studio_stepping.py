"""Stepping through the stages: buttons, the stage list, thumbnails and window-level keys."""

import pytest
from PySide6.QtCore import Qt

from attnstudio.core.trace import STAGE_KEYS, STAGES


def shown(window):
    """The stage the window shows: its large title, the list and the outlined thumbnail agree."""
    i = STAGE_KEYS.index(window.studio.stage)
    assert window.stage_view.title.text() == f"{i + 1} · {STAGES[i][1]}"
    assert window.stage_strip.stage_list.currentData() == window.studio.stage
    current = [k for k, t in window.stage_strip.thumbs.items() if t.property("current")]
    assert current == [window.studio.stage]
    return window.studio.stage


def test_buttons_visit_every_stage_in_order(window, qtbot):
    strip = window.stage_strip
    assert shown(window) == "tokens" and not strip.back_btn.isEnabled()
    seen = [shown(window)]
    while strip.next_btn.isEnabled():
        qtbot.mouseClick(strip.next_btn, Qt.MouseButton.LeftButton)
        seen.append(shown(window))
    assert seen == list(STAGE_KEYS)
    back = [shown(window)]
    while strip.back_btn.isEnabled():
        qtbot.mouseClick(strip.back_btn, Qt.MouseButton.LeftButton)
        back.append(shown(window))
    assert back == list(reversed(STAGE_KEYS))


@pytest.mark.parametrize(("forward", "backward"), [(Qt.Key.Key_Right, Qt.Key.Key_Left),
                                                    (Qt.Key.Key_PageDown, Qt.Key.Key_PageUp)])
def test_keys_step_through_every_stage(window, qtbot, forward, backward):
    handle = window.windowHandle()
    seen = [shown(window)]
    for _ in STAGE_KEYS[1:]:
        qtbot.keyClick(handle, forward)
        seen.append(shown(window))
    assert seen == list(STAGE_KEYS)
    qtbot.keyClick(handle, forward)  # past the end: stays
    assert shown(window) == STAGE_KEYS[-1]
    for i in reversed(range(len(STAGE_KEYS) - 1)):
        qtbot.keyClick(handle, backward)
        assert shown(window) == STAGE_KEYS[i]


def test_home_end_and_the_clicker_keys_even_while_typing(window, qtbot):
    handle = window.windowHandle()
    qtbot.keyClick(handle, Qt.Key.Key_End)
    assert shown(window) == "heads"
    qtbot.keyClick(handle, Qt.Key.Key_Home)
    assert shown(window) == "tokens"
    # In the sentence field the arrows move the cursor, but a clicker's PgDn still steps.
    window.sentence.field.setFocus()
    qtbot.keyClick(handle, Qt.Key.Key_Right)
    assert shown(window) == "tokens"
    qtbot.keyClick(handle, Qt.Key.Key_PageDown)
    assert shown(window) == "embeddings"


def test_thumbnails_and_the_stage_list_jump(window, qtbot):
    for key in ("weights", "projections", "heads"):
        thumb = window.stage_strip.thumbs[key]
        # Click where the thumbnail is on screen: the window routes it to what lies on top.
        pos = thumb.mapTo(window, thumb.rect().center())
        qtbot.mouseClick(window.windowHandle(), Qt.MouseButton.LeftButton, pos=pos)
        assert shown(window) == key
    window.stage_strip.stage_list.activated.emit(STAGE_KEYS.index("masked"))
    assert shown(window) == "masked"


def test_every_stage_is_visible_at_once_and_the_current_one_is_large(window, qtbot):
    window.go_to_stage("weights")
    qtbot.wait(10)
    thumbs = window.stage_strip.thumbs
    assert all(t.isVisible() for t in thumbs.values())
    big = window.heatmap.size()
    small = thumbs["weights"].size()
    assert big.width() * big.height() > 10 * small.width() * small.height()
