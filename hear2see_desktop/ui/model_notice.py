"""A line under a model field that says when the model it names is not on this machine, with a link to get it."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QLineEdit, QWidget

from hear2see_desktop.core.render.model_source import catalogue_entry_for, missing_model, model_missing_text
from hear2see_desktop.core.settings import DEFAULT_MODEL


class ModelNotice(QLabel):
    """Follows `edit` as the user types (a few `stat`s per change); hidden while the model is installed.

    Its link emits `models_wanted`: the window opens File > Models…, where the download and the import are."""

    models_wanted = Signal()

    def __init__(self, edit: QLineEdit, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._edit = edit
        self.setTextFormat(Qt.TextFormat.RichText)
        self.linkActivated.connect(lambda _link: self.models_wanted.emit())
        self.setVisible(False)
        edit.textChanged.connect(self.update_notice)
        self.update_notice()

    def update_notice(self) -> None:
        """Show or hide the notice for what the field names now (also after models were installed)."""
        missing = missing_model(self._edit.text() or DEFAULT_MODEL)
        self.setVisible(missing is not None)
        if missing is None:
            return
        entry = catalogue_entry_for(missing)
        link = (f"download ({entry.size_bytes / 1e9:.1f} GB) or import…" if entry is not None
                else "choose, download or import one…")
        self.setText(f"Not installed: <a href=\"models\">{html.escape(link)}</a>")
        self.setToolTip(model_missing_text(missing))
