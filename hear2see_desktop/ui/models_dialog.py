"""The Models dialog: what is installed, downloads on request, imports, removal and the models folder.

The dialog lists what core/models reports and starts its jobs; downloading, importing (hashing, copying,
converting) and removing run in a JobWorker, one at a time, so the window never waits on them. Closing
while a download runs cancels it first (its `.part` is kept, so the next download resumes).
Message boxes, file pickers and opening a folder are constructor arguments, so tests can answer them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt, QThread, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from hear2see_desktop.core.errors import BadInputError
from hear2see_desktop.core.jobs import CallJob
from hear2see_desktop.core.models import registry
from hear2see_desktop.core.models.catalogue import CatalogueEntry
from hear2see_desktop.core.models.download import DownloadJob, human_bytes
from hear2see_desktop.core.models.importing import KIND_LORA, import_file, list_imported
from hear2see_desktop.core.weights_format import PICKLE_SUFFIXES
from hear2see_desktop.ui.fix_words import sentence
from hear2see_desktop.ui.job_worker import JobWorker

log = logging.getLogger(__name__)

COLUMNS = ("Name", "What it is for", "Size", "Licence", "State")
PURPOSES = {
    "sd": "Pictures (Stable Diffusion model)",
    "lora": "Pictures (style LoRA)",
    "taesd": "Fast previews while rendering",
    "vosk": "Speech recognition (Vosk, live)",
    "whisper": "Speech recognition (Whisper)",
    "clip": "Scoring frames against text (CLIPSIM)",
    "motion": "Motion for Animate mode (AnimateDiff)",
}
STATE_TEXT = {"installed": "installed", "partial": "partly downloaded", "missing": "not installed",
              "imported": "imported"}
MODEL_FILE_FILTER = "Checkpoints and LoRAs (*.safetensors *.ckpt *.pt *.pth *.bin);;All files (*)"
TRUST_QUESTION = "Do you trust this file? It will be converted to safetensors once."
DOWNLOAD_CHUNK_BYTES = 1 << 16
"""Small reads, so Cancel is answered within a moment even on a slow link."""
_BAR_STEPS = 1000


def ask_yes_no(parent: QWidget, title: str, question: str) -> bool:
    answer = QMessageBox.question(parent, title, question)
    return answer == QMessageBox.StandardButton.Yes


def show_warning(parent: QWidget, title: str, text: str) -> None:
    QMessageBox.warning(parent, title, text)


def choose_model_file(parent: QWidget) -> str:
    """A checkpoint or LoRA file the user picked, or "" when they cancelled."""
    path, _ = QFileDialog.getOpenFileName(parent, "Import a checkpoint or LoRA", str(Path.home()), MODEL_FILE_FILTER)
    return path


def choose_folder(parent: QWidget, start: str) -> str:
    """A folder the user picked for the models, or "" when they cancelled."""
    return QFileDialog.getExistingDirectory(parent, "Choose the models folder", start)


def open_folder(folder: Path) -> None:
    QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))


@dataclass(frozen=True)
class ModelRow:
    """What one table row stands for: a catalogue entry (`key` is its name) or an imported file (its path)."""

    key: str
    source: str  # "catalogue" or "imported"
    state: str  # "installed", "partial", "missing" or "imported"
    title: str


class ModelsDialog(QDialog):
    """The model manager; `models_changed` fires after a download, import, removal or a new models folder."""

    models_changed = Signal()

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        confirm: Callable[[QWidget, str, str], bool] = ask_yes_no,
        show_error: Callable[[QWidget, str, str], None] = show_warning,
        choose_file: Callable[[QWidget], str] = choose_model_file,
        choose_folder: Callable[[QWidget, str], str] = choose_folder,
        open_folder: Callable[[Path], None] = open_folder,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Models")
        self.confirm = confirm
        self.show_error = show_error
        self.choose_file = choose_file
        self.choose_folder = choose_folder
        self.open_folder = open_folder
        self.rows: list[ModelRow] = []
        self._entries: dict[str, CatalogueEntry] = {}
        self._worker: JobWorker | None = None
        self._job_kind = ""  # "download", "import" or "remove" while a job runs
        self._job_title = ""
        self._close_result: int | None = None  # close with this once the running job has stopped
        self._folder_fixed = False  # $HEAR2SEE_MODELS_DIR decides the folder
        self._build()
        self.refresh()
        self.resize(860, 460)

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        folder_row = QHBoxLayout()
        folder_row.addWidget(QLabel("Models folder:"))
        self.folder_label = QLabel()
        self.folder_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        folder_row.addWidget(self.folder_label, 1)
        self.change_folder_button = QPushButton("Change…")
        self.change_folder_button.clicked.connect(self.change_folder)
        self.default_folder_button = QPushButton("Use default")
        self.default_folder_button.clicked.connect(self.use_default_folder)
        self.open_folder_button = QPushButton("Open folder")
        self.open_folder_button.clicked.connect(self.open_models_folder)
        for button in (self.change_folder_button, self.default_folder_button, self.open_folder_button):
            folder_row.addWidget(button)
        layout.addLayout(folder_row)
        self.override_label = QLabel(f"{registry.MODELS_DIR_ENV_VAR} is set, so it decides the models folder.")
        layout.addWidget(self.override_label)

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        layout.addWidget(self.table, 1)

        progress_row = QHBoxLayout()
        self.progress_bar = QProgressBar()
        self.progress_bar.setTextVisible(False)
        self.progress_bar.hide()
        self.status_label = QLabel()
        self.status_label.setWordWrap(True)
        self.cancel_button = QPushButton("Cancel download")
        self.cancel_button.clicked.connect(self.cancel_download)
        progress_row.addWidget(self.progress_bar, 1)
        progress_row.addWidget(self.status_label, 2)
        progress_row.addWidget(self.cancel_button)
        layout.addLayout(progress_row)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.download_button = buttons.addButton("Download", QDialogButtonBox.ButtonRole.ActionRole)
        self.remove_button = buttons.addButton("Remove", QDialogButtonBox.ButtonRole.ActionRole)
        self.import_button = buttons.addButton("Import…", QDialogButtonBox.ButtonRole.ActionRole)
        self.download_button.clicked.connect(self.download_selected)
        self.remove_button.clicked.connect(self.remove_selected)
        self.import_button.clicked.connect(self.import_model)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    # ------------------------------------------------------------------------------------------
    # The list

    def refresh(self) -> None:
        """Read the catalogue's states and the import index again (stats only: quick) and show them."""
        selected = self.selected_row()
        self.rows = []
        self.table.setRowCount(0)
        try:
            states = registry.model_states()
        except BadInputError as error:
            states = []
            self.status_label.setText(sentence(error))
        self._entries = {state.entry.name: state.entry for state in states}
        for state in states:
            entry = state.entry
            shown = STATE_TEXT[state.state]
            if state.state == "partial":
                shown += f" ({human_bytes(state.partial_bytes)})"
            tip = f"{entry.name}: {entry.homepage}" if entry.homepage else entry.name
            self._add_row(ModelRow(entry.name, "catalogue", state.state, entry.title),
                          [entry.title, PURPOSES.get(entry.kind, entry.kind), human_bytes(entry.size_bytes),
                           entry.licence, shown], tip)
        for item in list_imported():
            purpose = "Pictures (imported LoRA)" if item.get("kind") == KIND_LORA else "Pictures (imported checkpoint)"
            name = str(item.get("name") or Path(item["path"]).stem)
            self._add_row(ModelRow(item["path"], "imported", "imported", name),
                          [name, purpose, human_bytes(int(item.get("size_bytes") or 0)), "from its source",
                           STATE_TEXT["imported"]], item["path"])
        self._show_folder()
        if selected is not None:
            self.select(selected.key)
        self._update_buttons()

    def _add_row(self, row: ModelRow, texts: list[str], tooltip: str) -> None:
        index = self.table.rowCount()
        self.table.insertRow(index)
        for column, text in enumerate(texts):
            item = QTableWidgetItem(text)
            item.setToolTip(tooltip)
            self.table.setItem(index, column, item)
        self.rows.append(row)

    def _show_folder(self) -> None:
        self.folder_label.setText(str(registry.models_root()))
        overridden = registry.models_root_override() is not None
        self.override_label.setVisible(overridden)
        self._folder_fixed = overridden

    def row_index(self, key: str) -> int:
        """The table row of catalogue entry `key` (its name) or imported file `key` (its path); -1 if none."""
        return next((index for index, row in enumerate(self.rows) if row.key == key), -1)

    def state_text(self, key: str) -> str:
        """The State column as the user reads it ("installed", "partly downloaded (…)", ...); "" if not listed."""
        index = self.row_index(key)
        item = self.table.item(index, COLUMNS.index("State")) if index >= 0 else None
        return item.text() if item is not None else ""

    def select(self, key: str) -> None:
        index = self.row_index(key)
        if index >= 0:
            self.table.selectRow(index)

    def selected_row(self) -> ModelRow | None:
        rows = {index.row() for index in self.table.selectionModel().selectedRows()} if self.rows else set()
        return self.rows[min(rows)] if rows and min(rows) < len(self.rows) else None

    def _update_buttons(self) -> None:
        row = self.selected_row()
        idle = self._worker is None and self._close_result is None
        catalogue = row is not None and row.source == "catalogue"
        state = row.state if row is not None else ""
        self.download_button.setEnabled(idle and catalogue and state != "installed")
        self.download_button.setText("Resume" if catalogue and state == "partial" else "Download")
        self.remove_button.setEnabled(idle and catalogue and state in ("installed", "partial"))
        self.remove_button.setToolTip("" if row is None or catalogue else
                                      "Imported files are removed by deleting them from the models folder.")
        self.import_button.setEnabled(idle)
        self.change_folder_button.setEnabled(idle and not self._folder_fixed)
        self.default_folder_button.setEnabled(idle and not self._folder_fixed)
        self.cancel_button.setEnabled(self._job_kind == "download" and self._worker is not None)
        self.cancel_button.setVisible(self._job_kind == "download")

    # ------------------------------------------------------------------------------------------
    # Jobs

    def download_selected(self) -> None:
        """Download (or resume) the selected catalogue entry in a worker."""
        row = self.selected_row()
        if row is None or row.source != "catalogue" or self._worker is not None:
            return
        entry = self._entries[row.key]
        job = DownloadJob(entry, chunk_bytes=DOWNLOAD_CHUNK_BYTES)
        worker = JobWorker(job, f"download-{entry.name}")
        worker.finished.connect(self._on_downloaded)
        self._start(worker, "download", entry.title, f"Downloading {entry.title}…")

    def cancel_download(self) -> None:
        if self._worker is not None and self._job_kind == "download":
            self._worker.cancel()
            self.status_label.setText("Cancelling the download…")
            self.cancel_button.setEnabled(False)

    def remove_selected(self) -> None:
        """Ask, then delete what the selected catalogue entry installed (in a worker: a big folder takes a while)."""
        row = self.selected_row()
        if row is None or row.source != "catalogue" or self._worker is not None:
            return
        entry = self._entries[row.key]
        question = (f"Remove {entry.title} from {registry.models_root()}? "
                    "You can download it again later.")
        if not self.confirm(self, "Remove model", question):
            return
        worker = JobWorker(CallJob(lambda: registry.remove(entry.name), f"Removing {entry.title}"), "remove")
        worker.finished.connect(self._on_removed)
        self._start(worker, "remove", entry.title, f"Removing {entry.title}…")

    def import_model(self) -> None:
        """Pick a file and import it in a worker; a pickle-based one is imported only if the user trusts it."""
        if self._worker is not None:
            return
        chosen = self.choose_file(self)
        if not chosen:
            return
        path = Path(chosen)
        trust = path.suffix.lower() in PICKLE_SUFFIXES  # the rule import_file refuses such files by
        if trust and not self.confirm(self, "Import a pickle-based file",
                                      f"{path.name} is a pickle-based file, which can run code when it is loaded. "
                                      f"{TRUST_QUESTION}"):
            self.status_label.setText(f"{path.name} was not imported.")
            return
        worker = JobWorker(CallJob(lambda: import_file(path, trust_pickle=trust), f"Importing {path.name}"), "import")
        worker.finished.connect(self._on_imported)
        self._start(worker, "import", path.name, f"Importing {path.name}…")

    def _start(self, worker: JobWorker, kind: str, title: str, message: str) -> None:
        self._worker = worker
        self._job_kind = kind
        self._job_title = title
        worker.progress.connect(self._on_progress)
        worker.failed.connect(self._on_failed)
        worker.cancelled.connect(self._on_cancelled)
        self.progress_bar.setRange(0, 0)  # busy until the first report
        self.progress_bar.show()
        self.status_label.setText(message)
        self._update_buttons()
        worker.start()

    def _on_progress(self, done: int, total: int, message: str) -> None:
        self.progress_bar.setRange(0, _BAR_STEPS)
        self.progress_bar.setValue(int(_BAR_STEPS * min(done, total) / max(total, 1)))
        self.status_label.setText(message)

    def _on_downloaded(self, _folder: object) -> None:
        self._job_ended(f"Installed {self._job_title}.")
        self.models_changed.emit()

    def _on_removed(self, freed: object) -> None:
        freed_bytes = freed if isinstance(freed, int) else 0
        self._job_ended(f"Removed {self._job_title}, freeing {human_bytes(freed_bytes)}.")
        self.models_changed.emit()

    def _on_imported(self, result: object) -> None:
        kind, installed = result if isinstance(result, tuple) else ("", "")
        self._job_ended(f"Imported {self._job_title} as a {'LoRA' if kind == KIND_LORA else 'checkpoint'}.")
        self.select(str(installed))
        self.models_changed.emit()

    def _on_failed(self, message: str) -> None:
        kind = self._job_kind
        self._job_ended(message)
        titles = {"download": "Download failed", "import": "Cannot import", "remove": "Cannot remove"}
        self.show_error(self, titles.get(kind, "Something went wrong"), message)

    def _on_cancelled(self) -> None:
        self._job_ended(f"Download of {self._job_title} cancelled; Resume continues where it stopped.")

    def _job_ended(self, message: str) -> None:
        """Back to idle after any job: the list shows what is on disk now; a pending close happens."""
        self._worker = None
        self._job_kind = ""
        self.progress_bar.hide()
        self.status_label.setText(message)
        self.refresh()
        if self._close_result is not None:
            result, self._close_result = self._close_result, None
            super().done(result)

    # ------------------------------------------------------------------------------------------
    # The models folder

    def change_folder(self) -> None:
        folder = self.choose_folder(self, str(registry.models_root()))
        if not folder:
            return
        try:
            registry.set_models_root(folder)
        except BadInputError as error:
            self.show_error(self, "Cannot use that folder", sentence(error))
            return
        self._folder_changed()

    def use_default_folder(self) -> None:
        registry.set_models_root(None)
        self._folder_changed()

    def _folder_changed(self) -> None:
        self.status_label.setText(f"Models are now looked up in {registry.models_root()}; "
                                  "models already installed elsewhere were not moved.")
        self.refresh()
        self.models_changed.emit()

    def open_models_folder(self) -> None:
        root = registry.models_root()
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            self.show_error(self, "Cannot open the models folder",
                            f"{root} cannot be created ({error.strerror or error}): choose another models folder.")
            return
        self.open_folder(root)

    # ------------------------------------------------------------------------------------------
    # Closing

    def done(self, result: int) -> None:
        """Close, but never under a running job: a download is cancelled first (after asking)."""
        if self._worker is None:
            super().done(result)
            return
        if self._close_result is not None:
            return  # already closing
        if self._job_kind == "download":
            if not self.confirm(self, "Download running",
                                f"{self._job_title} is still downloading. Cancel the download and close? "
                                "It resumes where it stopped next time."):
                return
            self._worker.cancel()
            self.status_label.setText("Cancelling the download…")
        else:
            self.status_label.setText("Closing once this has finished…")
        self._close_result = result
        self._update_buttons()

    def stop_download(self) -> QThread | None:
        """Cancel a running job without asking (the app is quitting); returns its thread to wait for."""
        if self._worker is None:
            return None
        self._worker.cancel()
        return self._worker.thread
