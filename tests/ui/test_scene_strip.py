"""The scene strip: blocks on the narration's axis, prompts edited in place, cuts dragged, all by keyboard too."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt
from pytestqt.qtbot import QtBot

from hear2see_desktop.core.storyboard.board import MIN_DRAGGED_SCENE_S, Scene, Storyboard
from hear2see_desktop.ui.scene_strip import EDGE_GRAB_PX, NUDGE_S, PLACEHOLDER_TEXT, SceneStrip

WIDTH_PX = 600


def board() -> Storyboard:
    """Three scenes over 6 s: cuts at 2 s and 4 s (100 px per second at 600 px)."""
    return Storyboard(
        [
            Scene(0.0, 2.0, "A red fox runs.", "red fox running, snow"),
            Scene(2.0, 4.0, "An owl watches.", "owl on a pine branch"),
            Scene(4.0, 6.0, "Night falls.", "night sky over a forest"),
        ],
        duration_s=6.0,
    )


class Heard:
    """Records what the strip emits (bound methods of a plain object: the strip lives on the UI thread)."""

    def __init__(self, strip: SceneStrip) -> None:
        self.selected: list[int] = []
        self.prompts: list[tuple[int, str]] = []
        self.boundaries: list[tuple[int, float]] = []
        strip.scene_selected.connect(self.selected.append)
        strip.prompt_edited.connect(self.on_prompt)
        strip.boundary_moved.connect(self.on_boundary)

    def on_prompt(self, index: int, prompt: str) -> None:
        self.prompts.append((index, prompt))

    def on_boundary(self, index: int, time_s: float) -> None:
        self.boundaries.append((index, time_s))


@pytest.fixture
def strip(qtbot: QtBot) -> SceneStrip:
    widget = SceneStrip()
    qtbot.addWidget(widget)
    widget.resize(WIDTH_PX, widget.sizeHint().height())
    widget.set_duration(6.0)
    widget.set_storyboard(board())
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def test_blocks_lie_on_the_same_axis_as_the_waveform_and_timeline(strip: SceneStrip) -> None:
    assert [strip.block_rect(i).left() for i in range(3)] == [0, 200, 400]
    assert all(strip.block_rect(i).width() == 200 for i in range(3))
    assert strip.edge_x(1) == pytest.approx(200.0) and strip.edge_x(2) == pytest.approx(400.0)
    with pytest.raises(IndexError):
        strip.edge_x(0)  # the start of the clip is not a cut
    assert strip.block_rect(3).isEmpty()


def test_without_a_storyboard_the_strip_says_where_scenes_come_from(qtbot: QtBot) -> None:
    strip = SceneStrip()
    qtbot.addWidget(strip)
    assert strip.placeholder_text == PLACEHOLDER_TEXT
    assert strip.scene_count() == 0 and strip.block_rect(0).isEmpty()
    strip.resize(300, strip.height())
    assert not strip.grab().isNull()
    assert strip.accessibleName() == "Scenes"


def test_a_click_selects_the_scene_under_it(qtbot: QtBot, strip: SceneStrip) -> None:
    heard = Heard(strip)
    qtbot.mouseClick(strip, Qt.MouseButton.LeftButton, pos=strip.block_rect(2).center())
    assert heard.selected == [2] and strip.selected_index() == 2
    assert "Scene 3 of 3" in strip.accessibleDescription()


def test_double_click_edits_the_prompt_and_enter_commits_it(qtbot: QtBot, strip: SceneStrip) -> None:
    heard = Heard(strip)
    qtbot.mouseDClick(strip, Qt.MouseButton.LeftButton, pos=strip.block_rect(1).center())
    editor = strip.editor()
    assert editor is not None and strip.is_editing()
    assert editor.text() == "owl on a pine branch" and editor.accessibleName() == "Prompt of scene 2"
    assert strip.block_rect(1).intersects(editor.geometry())  # it sits over the block it edits
    editor.selectAll()
    qtbot.keyClicks(editor, "a snowy owl at dusk")
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    assert heard.prompts == [(1, "a snowy owl at dusk")]
    assert not strip.is_editing()


def test_escape_cancels_an_edit(qtbot: QtBot, strip: SceneStrip) -> None:
    heard = Heard(strip)
    strip.edit_scene(0)
    editor = strip.editor()
    assert editor is not None
    qtbot.keyClicks(editor, "something else")
    qtbot.keyClick(editor, Qt.Key.Key_Escape)
    assert heard.prompts == [] and not strip.is_editing()


def test_losing_focus_commits_an_edit(qtbot: QtBot, strip: SceneStrip) -> None:
    heard = Heard(strip)
    strip.activateWindow()
    strip.edit_scene(2)
    editor = strip.editor()
    assert editor is not None
    editor.setText("stars over the pines")
    qtbot.waitUntil(editor.hasFocus)
    strip.setFocus()  # focus moves away, as when the user clicks elsewhere
    qtbot.waitUntil(lambda: not strip.is_editing())
    assert heard.prompts == [(2, "stars over the pines")]


def test_an_unchanged_or_empty_prompt_is_not_an_edit(qtbot: QtBot, strip: SceneStrip) -> None:
    heard = Heard(strip)
    for text in ("red fox running, snow", "   "):
        strip.edit_scene(0)
        strip.editor().setText(text)
        qtbot.keyClick(strip.editor(), Qt.Key.Key_Return)
    assert heard.prompts == []


def test_hovering_a_cut_shows_the_split_cursor(qtbot: QtBot, strip: SceneStrip) -> None:
    y = strip.height() // 2
    qtbot.mouseMove(strip, QPoint(round(strip.edge_x(1)) + EDGE_GRAB_PX - 2, y))
    qtbot.waitUntil(lambda: strip.cursor().shape() == Qt.CursorShape.SplitHCursor)
    qtbot.mouseMove(strip, strip.block_rect(1).center())
    qtbot.waitUntil(lambda: strip.cursor().shape() != Qt.CursorShape.SplitHCursor)


def test_dragging_a_cut_moves_it_live_and_reports_it_on_release(qtbot: QtBot, strip: SceneStrip) -> None:
    heard = Heard(strip)
    y = strip.height() // 2
    qtbot.mousePress(strip, Qt.MouseButton.LeftButton, pos=QPoint(round(strip.edge_x(2)), y))
    assert strip.is_dragging()
    qtbot.mouseMove(strip, QPoint(330, y))
    assert strip.edge_x(2) == pytest.approx(330.0)  # drawn where the pointer is, before release
    assert strip.block_rect(1).width() == 130 and strip.block_rect(2).left() == 330
    assert heard.boundaries == []
    qtbot.mouseRelease(strip, Qt.MouseButton.LeftButton, pos=QPoint(330, y))
    assert heard.boundaries == [(2, pytest.approx(3.3))]
    assert not strip.is_dragging()


def test_a_cut_cannot_be_dragged_past_its_neighbour(qtbot: QtBot, strip: SceneStrip) -> None:
    heard = Heard(strip)
    y = strip.height() // 2
    qtbot.mousePress(strip, Qt.MouseButton.LeftButton, pos=QPoint(round(strip.edge_x(1)), y))
    qtbot.mouseMove(strip, QPoint(590, y))
    qtbot.mouseRelease(strip, Qt.MouseButton.LeftButton, pos=QPoint(590, y))
    assert heard.boundaries == [(1, pytest.approx(4.0 - MIN_DRAGGED_SCENE_S))]


def test_the_keyboard_selects_edits_and_nudges(qtbot: QtBot, strip: SceneStrip) -> None:
    heard = Heard(strip)
    strip.setFocus()
    qtbot.keyClick(strip, Qt.Key.Key_Right)
    qtbot.keyClick(strip, Qt.Key.Key_Right)
    qtbot.keyClick(strip, Qt.Key.Key_Left)
    assert heard.selected == [0, 1, 0] and strip.selected_index() == 0
    qtbot.keyClick(strip, Qt.Key.Key_End)
    assert strip.selected_index() == 2
    qtbot.keyClick(strip, Qt.Key.Key_Left, Qt.KeyboardModifier.ShiftModifier)
    assert heard.boundaries == [(2, pytest.approx(4.0 - NUDGE_S))]
    qtbot.keyClick(strip, Qt.Key.Key_F2)
    assert strip.is_editing() and strip.editor().text() == "night sky over a forest"
    qtbot.keyClick(strip.editor(), Qt.Key.Key_Escape)
    assert not strip.is_editing()


def test_a_new_storyboard_keeps_the_selection_and_closes_an_editor(strip: SceneStrip) -> None:
    strip.set_selected(2)
    strip.edit_scene(2)
    strip.set_storyboard(board().with_scene_prompt(2, "the moon"))
    assert strip.selected_index() == 2 and not strip.is_editing()
    strip.set_storyboard(Storyboard([Scene(0.0, 6.0, "", "one long scene")], 6.0))
    assert strip.selected_index() == 0
    strip.set_storyboard(None)
    assert strip.selected_index() is None and strip.scene_count() == 0


@pytest.mark.parametrize(("width", "height"), [(1, 1), (37, 9), (640, 40), (2400, 60)])
def test_painting_survives_odd_sizes(strip: SceneStrip, width: int, height: int) -> None:
    strip.setFixedSize(width, height)
    strip.set_selected(1)
    assert not strip.grab().isNull()
