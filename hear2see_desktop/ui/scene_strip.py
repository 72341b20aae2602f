"""The storyboard's scenes as blocks on the narration's time axis, between the waveform and the frames.

Each block shows its scene's prompt; a double-click (or F2) edits the prompt in place, and the cut
between two scenes can be dragged. The strip never changes the storyboard itself: it emits what the
user asked for (`prompt_edited`, `boundary_moved`) and the window answers with `set_storyboard`, so
the window's storyboard stays the one source of truth.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QLineF, QRect, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFocusEvent,
    QFont,
    QFontMetrics,
    QHelpEvent,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QPen,
    QResizeEvent,
)
from PySide6.QtWidgets import QLineEdit, QSizePolicy, QToolTip, QWidget

from hear2see_desktop.core.errors import BadInputError

if TYPE_CHECKING:
    from hear2see_desktop.core.storyboard.board import Storyboard

MARGIN_PX = 4
EDGE_GRAB_PX = 5
"""How close (in pixels) the pointer must be to a cut to grab it rather than the block."""
NUDGE_S = 0.1
"""How far Shift+Left/Right moves the selected scene's start, for keyboard users."""
MIN_EDITOR_WIDTH_PX = 220
PLACEHOLDER_TEXT = "Scenes appear here after transcription"


class _PromptEditor(QLineEdit):
    """The inline editor: Enter commits, Esc cancels, losing focus commits (a popup menu does not)."""

    cancelled = Signal()
    focus_lost = Signal()

    def event(self, event: QEvent) -> bool:
        # Claim Esc and Enter before the window's shortcuts (Esc = cancel the task) see them.
        if event.type() == QEvent.Type.ShortcutOverride and isinstance(event, QKeyEvent) and event.key() in (
            Qt.Key.Key_Escape, Qt.Key.Key_Return, Qt.Key.Key_Enter
        ):
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt's name
        if event.key() == Qt.Key.Key_Escape:
            self.cancelled.emit()
            event.accept()
            return
        super().keyPressEvent(event)
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            event.accept()  # QLineEdit passes Enter on; the strip would take it as "edit again"

    def focusOutEvent(self, event: QFocusEvent) -> None:  # noqa: N802 - Qt's name
        super().focusOutEvent(event)
        if event.reason() != Qt.FocusReason.PopupFocusReason:
            self.focus_lost.emit()


class SceneStrip(QWidget):
    """One block per scene on the same axis as WaveformView and TimelineView (x = t / span * width)."""

    scene_selected = Signal(int)  # index of the scene the user picked
    prompt_edited = Signal(int, str)  # scene index, the new prompt (stripped, never empty)
    boundary_moved = Signal(int, float)  # index of the scene whose start moves, its new start (s)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Scenes")
        self.setAccessibleDescription(PLACEHOLDER_TEXT)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(True)  # hover over a cut shows the split cursor
        self.placeholder_text = PLACEHOLDER_TEXT
        # Tall enough for the inline editor, so it covers the block it edits.
        self._height_px = max(QLineEdit().sizeHint().height(), QFontMetrics(self.font()).height() + 8) + 2 * MARGIN_PX
        self.setFixedHeight(self._height_px)
        self._board: Storyboard | None = None
        self._duration_s = 0.0
        self._selected: int | None = None
        self._drag_index: int | None = None  # the scene whose start is being dragged
        self._drag_time_s: float | None = None
        self._editor: _PromptEditor | None = None
        self._editing_index: int | None = None

    # --- data in ----------------------------------------------------------------------------------
    def set_storyboard(self, board: Storyboard | None) -> None:
        """Show `board` (None: the placeholder); the selection is kept where the scene still exists."""
        if self._editor is not None:
            self._close_editor()
        self._board = board
        self._drag_index = self._drag_time_s = None
        if board is None or not board.scenes:
            self._selected = None
        elif self._selected is not None:
            self._selected = min(self._selected, len(board.scenes) - 1)
        self._describe()
        self.update()

    def set_duration(self, seconds: float) -> None:
        """Length of the narration the width stands for (as in the waveform and the timeline)."""
        seconds = max(float(seconds), 0.0)
        if seconds != self._duration_s:
            self._duration_s = seconds
            self._place_editor()
            self.update()

    def set_selected(self, index: int | None) -> None:
        """Highlight scene `index` (None: no highlight) without emitting `scene_selected`."""
        count = self.scene_count()
        self._selected = None if index is None or count == 0 else min(max(index, 0), count - 1)
        self._describe()
        self.update()

    # --- state out --------------------------------------------------------------------------------
    @property
    def storyboard(self) -> Storyboard | None:
        return self._board

    @property
    def span_s(self) -> float:
        """Seconds the width stands for: the narration, or the storyboard's length before that is known."""
        if self._duration_s > 0:
            return self._duration_s
        return self._board.duration_s if self._board is not None else 0.0

    def scene_count(self) -> int:
        return len(self._board.scenes) if self._board is not None else 0

    def selected_index(self) -> int | None:
        return self._selected

    def is_editing(self) -> bool:
        return self._editor is not None

    def editor(self) -> QLineEdit | None:
        """The inline prompt editor while one is open."""
        return self._editor

    def is_dragging(self) -> bool:
        return self._drag_index is not None

    def seconds_to_x(self, seconds: float) -> float:
        span = self.span_s
        return 0.0 if span <= 0 else seconds / span * self.width()

    def x_to_seconds(self, x: float) -> float:
        """The moment under a horizontal position, clamped to the axis."""
        span = self.span_s
        return min(max(x / max(1, self.width()) * span, 0.0), span)

    def block_rect(self, index: int) -> QRect:
        """Where scene `index` is drawn as shown now (a cut being dragged included); empty if none."""
        board = self._shown_board()
        if board is None or not 0 <= index < len(board.scenes):
            return QRect()
        scene = board.scenes[index]
        left = round(self.seconds_to_x(scene.start_s))
        right = round(self.seconds_to_x(scene.end_s))
        return QRect(left, MARGIN_PX, max(1, right - left), max(1, self.height() - 2 * MARGIN_PX))

    def edge_x(self, index: int) -> float:
        """The x of the cut at the start of scene `index` (1 .. count-1) as shown now."""
        board = self._shown_board()
        if board is None or not 1 <= index < len(board.scenes):
            raise IndexError(f"scene {index} has no inner edge to drag")
        return self.seconds_to_x(board.scenes[index].start_s)

    def scene_at_x(self, x: float) -> int | None:
        board = self._shown_board()
        if board is None or self.span_s <= 0:
            return None
        return board.scene_at(self.x_to_seconds(x))

    def edge_at_x(self, x: float) -> int | None:
        """The inner cut within EDGE_GRAB_PX of `x` (the nearest), as the index of the scene it starts."""
        board = self._board
        if board is None or self.span_s <= 0:
            return None
        best: tuple[float, int] | None = None
        for index in range(1, len(board.scenes)):
            distance = abs(self.seconds_to_x(board.scenes[index].start_s) - x)
            if distance <= EDGE_GRAB_PX and (best is None or distance < best[0]):
                best = (distance, index)
        return best[1] if best is not None else None

    def sizeHint(self) -> QSize:
        return QSize(640, self._height_px)

    def minimumSizeHint(self) -> QSize:
        return QSize(32, self._height_px)

    # --- editing ----------------------------------------------------------------------------------
    def edit_scene(self, index: int) -> None:
        """Open the inline editor over scene `index`, holding its prompt, all selected."""
        board = self._board
        if board is None or not 0 <= index < len(board.scenes):
            return
        if self._editor is not None:
            self._close_editor()
        self._select(index)
        editor = _PromptEditor(self)
        editor.setAccessibleName(f"Prompt of scene {index + 1}")
        editor.setText(board.scenes[index].prompt)
        editor.setCursorPosition(0)
        editor.selectAll()
        editor.returnPressed.connect(self._commit_edit)
        editor.focus_lost.connect(self._commit_edit)
        editor.cancelled.connect(self._cancel_edit)
        self._editor, self._editing_index = editor, index
        self._place_editor()
        editor.show()
        editor.setFocus(Qt.FocusReason.OtherFocusReason)

    def _commit_edit(self) -> None:
        editor, index = self._editor, self._editing_index
        if editor is None or index is None or self._board is None:
            return
        text = " ".join(editor.text().split())
        self._close_editor()
        if text and text != self._board.scenes[index].prompt:
            self.prompt_edited.emit(index, text)

    def _cancel_edit(self) -> None:
        self._close_editor()

    def _close_editor(self) -> None:
        editor = self._editor
        self._editor = self._editing_index = None  # first: hiding it loses focus, which calls back here
        if editor is not None:
            had_focus = editor.hasFocus()
            editor.hide()
            editor.deleteLater()
            if had_focus:
                self.setFocus(Qt.FocusReason.OtherFocusReason)

    # --- events -----------------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton or self._board is None:
            super().mousePressEvent(event)
            return
        x = event.position().x()
        edge = self.edge_at_x(x)
        if edge is not None:
            self._drag_index = edge
            self._drag_time_s = self._board.scenes[edge].start_s
            self.setCursor(Qt.CursorShape.SplitHCursor)
        else:
            index = self.scene_at_x(x)
            if index is not None:
                self._select(index)
        self.setFocus(Qt.FocusReason.MouseFocusReason)
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        x = event.position().x()
        if self._drag_index is not None:
            self._drag_time_s = self.x_to_seconds(x)
            self.update()
            event.accept()
            return
        if self.edge_at_x(x) is not None:
            self.setCursor(Qt.CursorShape.SplitHCursor)
        elif self.scene_at_x(x) is not None:
            self.setCursor(Qt.CursorShape.PointingHandCursor)
        else:
            self.unsetCursor()
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self._drag_index is not None and self._board is not None:
            index = self._drag_index
            self._drag_time_s = self.x_to_seconds(event.position().x())
            shown = self._shown_board()
            self._drag_index = self._drag_time_s = None
            self.update()
            if shown is not None:
                new_start_s = shown.scenes[index].start_s
                if abs(new_start_s - self._board.scenes[index].start_s) > 1e-6:
                    self.boundary_moved.emit(index, new_start_s)
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            x = event.position().x()
            index = self.scene_at_x(x)
            if index is not None and self.edge_at_x(x) is None:
                self.edit_scene(index)
                event.accept()
                return
        super().mouseDoubleClickEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        count = self.scene_count()
        key, shift = event.key(), bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        if key == Qt.Key.Key_Escape and self._drag_index is not None:
            self._drag_index = self._drag_time_s = None
            self.update()
        elif count == 0:
            super().keyPressEvent(event)
            return
        elif key in (Qt.Key.Key_Left, Qt.Key.Key_Right) and shift:
            self._nudge(-NUDGE_S if key == Qt.Key.Key_Left else NUDGE_S)
        elif key in (Qt.Key.Key_Left, Qt.Key.Key_Right):
            current = self._selected if self._selected is not None else (-1 if key == Qt.Key.Key_Right else count)
            self._select(min(max(current + (1 if key == Qt.Key.Key_Right else -1), 0), count - 1))
        elif key == Qt.Key.Key_Home:
            self._select(0)
        elif key == Qt.Key.Key_End:
            self._select(count - 1)
        elif key in (Qt.Key.Key_F2, Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.edit_scene(self._selected if self._selected is not None else 0)
        else:
            super().keyPressEvent(event)
            return
        event.accept()

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip and isinstance(event, QHelpEvent):
            index = self.scene_at_x(event.pos().x())
            if index is None or self._board is None:
                QToolTip.hideText()
                event.ignore()
            else:
                scene = self._board.scenes[index]
                said = f"\n“{scene.text}”" if scene.text else ""
                edited = " (edited)" if scene.edited else ""
                QToolTip.showText(event.globalPos(), f"Scene {index + 1}, {scene.start_s:.1f}–{scene.end_s:.1f} s"
                                  f"{edited}\n{scene.prompt}{said}", self)
            return True
        return super().event(event)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._place_editor()  # its block moved with the new width

    def paintEvent(self, event: QPaintEvent) -> None:
        width, height = self.width(), self.height()
        if width <= 0 or height <= 0:
            return
        palette = self.palette()
        painter = QPainter(self)
        painter.fillRect(self.rect(), palette.color(QPalette.ColorRole.Window).darker(104))
        board = self._shown_board()
        if board is None or not board.scenes or self.span_s <= 0:
            painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.placeholder_text)
            painter.end()
            return
        highlight = palette.color(QPalette.ColorRole.Highlight)
        tints = (palette.color(QPalette.ColorRole.Base), palette.color(QPalette.ColorRole.AlternateBase))
        plain_font = self.font()
        edited_font = QFont(plain_font)
        edited_font.setItalic(True)
        for index, scene in enumerate(board.scenes):
            rect = self.block_rect(index)
            selected = index == self._selected
            fill = QColor(highlight) if selected else QColor(tints[index % 2])
            if selected:
                fill.setAlpha(90)
            painter.fillRect(rect, fill)
            painter.setPen(QPen(highlight if selected else palette.color(QPalette.ColorRole.Mid), 2 if selected else 1))
            painter.drawRect(rect.adjusted(0, 0, -1, -1))
            if self._editing_index == index:
                continue
            font = edited_font if scene.edited else plain_font
            painter.setFont(font)
            text_rect = rect.adjusted(4, 0, -4, 0)
            label = QFontMetrics(font).elidedText(f"{index + 1}  {scene.prompt}", Qt.TextElideMode.ElideRight,
                                                  max(0, text_rect.width()))
            painter.setPen(palette.color(QPalette.ColorRole.Text))
            painter.drawText(text_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, label)
        if self._drag_index is not None:
            x = self.edge_x(self._drag_index)
            painter.setPen(QPen(highlight, 3))
            painter.drawLine(QLineF(x, 0, x, height))
        painter.end()

    # --- internals --------------------------------------------------------------------------------
    def _shown_board(self) -> Storyboard | None:
        """The board as drawn: with the cut being dragged moved (clamped as the storyboard clamps it)."""
        board = self._board
        if board is None or self._drag_index is None or self._drag_time_s is None:
            return board
        try:
            return board.with_boundary(self._drag_index, self._drag_time_s)
        except BadInputError:
            return board

    def _select(self, index: int) -> None:
        self.set_selected(index)
        self.scene_selected.emit(index)

    def _nudge(self, delta_s: float) -> None:
        """Move the selected scene's start (or, for the first scene, its end) by `delta_s`."""
        board, index = self._board, self._selected
        if board is None or index is None or len(board.scenes) < 2:
            return
        edge = index if index >= 1 else 1
        moved = board.with_boundary(edge, board.scenes[edge].start_s + delta_s)
        if abs(moved.scenes[edge].start_s - board.scenes[edge].start_s) > 1e-6:
            self.boundary_moved.emit(edge, moved.scenes[edge].start_s)

    def _describe(self) -> None:
        """Keep the accessible description saying which scene is selected and what it shows."""
        board, index = self._board, self._selected
        if board is None or not board.scenes:
            self.setAccessibleDescription(self.placeholder_text)
            return
        help_text = ("Left and Right pick a scene, F2 edits its prompt, Shift+Left and Shift+Right move its start; "
                     "drag the edge between two scenes to move the cut.")
        if index is None:
            self.setAccessibleDescription(f"{len(board.scenes)} scenes. {help_text}")
            return
        scene = board.scenes[index]
        self.setAccessibleDescription(f"Scene {index + 1} of {len(board.scenes)}, {scene.start_s:.1f} to "
                                      f"{scene.end_s:.1f} seconds: {scene.prompt}. {help_text}")

    def _place_editor(self) -> None:
        """Put the inline editor over its block, at least MIN_EDITOR_WIDTH_PX wide and inside the strip."""
        editor, index = self._editor, self._editing_index
        if editor is None or index is None:
            return
        rect = self.block_rect(index)
        width = min(max(rect.width(), MIN_EDITOR_WIDTH_PX), self.width())
        left = min(max(rect.left(), 0), max(0, self.width() - width))
        height = min(editor.sizeHint().height(), self.height())
        editor.setGeometry(left, max(0, (self.height() - height) // 2), width, height)


__all__ = ["EDGE_GRAB_PX", "NUDGE_S", "PLACEHOLDER_TEXT", "SceneStrip"]
