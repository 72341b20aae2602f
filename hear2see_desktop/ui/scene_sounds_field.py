"""The row under the scenes about the take's sounds: whether a tagger hears them, and the selected scene's words.

"Hear sound events" asks the window to cut the scenes with the take's sounds (a notice with a link to File >
Models… says when the tagger is not installed). Once a tagger heard the take, the selected scene's sound words
show beside a switch: the user edits them or turns them off for that scene. Like the scene strip, the row
never changes the storyboard: it emits what the user asked for and the window answers with `show_scene`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QLineEdit, QWidget

from hear2see_desktop.core.sounds.tagger import DEFAULT_SOUND_MODEL

if TYPE_CHECKING:
    from hear2see_desktop.core.storyboard.board import Storyboard

MODEL_NEEDED_TEXT = f"Sound events need the {DEFAULT_SOUND_MODEL} model: <a href=\"models\">File &gt; Models…</a>"
NO_SCENE_TEXT = "Select a scene to see the words its sounds add"


class SceneSoundsField(QWidget):
    """A "Hear sound events" switch, its model notice, and the selected scene's sound words with their switch."""

    hearing_toggled = Signal(bool)  # the user wants the take's sounds heard (True) or not
    sound_words_edited = Signal(int, str, bool)  # scene index, its sound words, whether they are on
    models_wanted = Signal()  # the notice's link: open File > Models…

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.hear_check = QCheckBox("Hear sound events")
        self.hear_check.setToolTip("Tag the take's sounds (rain, thunder, a dog) and add what they picture to the "
                                   "scenes; a take without speech is cut from its sounds")
        layout.addWidget(self.hear_check)
        self.notice = QLabel(MODEL_NEEDED_TEXT)
        self.notice.setTextFormat(Qt.TextFormat.RichText)
        self.notice.setVisible(False)
        layout.addWidget(self.notice)
        self.words_check = QCheckBox("Sound words")
        self.words_check.setToolTip("Switch off to keep this scene's sounds out of its prompt")
        layout.addWidget(self.words_check)
        self.words_edit = QLineEdit()
        self.words_edit.setPlaceholderText(NO_SCENE_TEXT)
        self.words_edit.setAccessibleName("Scene sound words")
        layout.addWidget(self.words_edit, 1)
        layout.addStretch(0)  # keeps the switches their own size while the words are hidden
        self._index: int | None = None
        self._shown = ("", True)  # the words and switch the board holds for the shown scene
        self.hear_check.toggled.connect(self.hearing_toggled)
        self.notice.linkActivated.connect(self._on_link)
        self.words_check.toggled.connect(self._on_words_changed)
        self.words_edit.editingFinished.connect(self._on_words_changed)
        self.show_scene(None, None)

    def set_hearing(self, on: bool) -> None:
        """Check or uncheck "Hear sound events" without emitting `hearing_toggled`."""
        self.hear_check.blockSignals(True)
        self.hear_check.setChecked(on)
        self.hear_check.blockSignals(False)

    def set_model_needed(self, needed: bool) -> None:
        """Show or hide the notice that the tagger is not installed."""
        self.notice.setVisible(needed)

    def show_scene(self, index: int | None, board: Storyboard | None) -> None:
        """Show scene `index`'s sound words; the words and switch are shown only while `board` has a track."""
        has_sounds = board is not None and board.sounds is not None
        self.words_check.setVisible(has_sounds)
        self.words_edit.setVisible(has_sounds)
        scene = board.scenes[index] if has_sounds and index is not None and 0 <= index < len(board.scenes) else None
        self._index = index if scene is not None else None
        words, on = (scene.sound_words, scene.sound_words_on) if scene is not None else ("", True)
        self._shown = (words, on)
        for widget in (self.words_check, self.words_edit):
            widget.blockSignals(True)
        self.words_edit.setText(words)
        self.words_check.setChecked(on)
        self.words_edit.setEnabled(scene is not None and on)
        self.words_check.setEnabled(scene is not None)
        for widget in (self.words_check, self.words_edit):
            widget.blockSignals(False)

    def shown_index(self) -> int | None:
        """The scene whose sound words are shown, if any."""
        return self._index

    def _on_words_changed(self) -> None:
        if self._index is None:
            return
        words, on = " ".join(self.words_edit.text().split()), self.words_check.isChecked()
        self.words_edit.setEnabled(on)
        if (words, on) != self._shown:
            self._shown = (words, on)
            self.sound_words_edited.emit(self._index, words, on)

    def _on_link(self, _link: str) -> None:
        self.models_wanted.emit()


__all__ = ["MODEL_NEEDED_TEXT", "NO_SCENE_TEXT", "SceneSoundsField"]
