"""Render > Render on…: renders run on this computer or on a Ray cluster, with a test of the cluster's nodes.

The address is checked as it is typed (the same parser the CLI's --cluster uses); Test connection joins the
cluster on a worker thread and lists its nodes, their GPUs and which of the render's models each holds.
Without Ray installed the cluster choice is shown greyed out, with the command that installs it.
"""

from __future__ import annotations

from functools import partial

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from hear2see_desktop.core.cluster.address import INSTALL_COMMAND, parse_cluster_address, ray_installed
from hear2see_desktop.core.cluster.probe import ClusterReport, probe_for_render
from hear2see_desktop.core.errors import BadInputError
from hear2see_desktop.core.jobs import CallJob
from hear2see_desktop.core.settings import RenderSettings
from hear2see_desktop.ui.job_worker import JobWorker
from hear2see_desktop.ui.layout import row
from hear2see_desktop.ui.settings_store import RenderOn, SettingsStore
from hear2see_desktop.ui.wiring import without_arguments

ADDRESS_HINT = "local:2, auto or ray://HOST:10001"
PROBE_TIMEOUT_S = 15.0
ERROR_STYLE = "color: #c0392b;"
_PROBES: set[JobWorker] = set()
"""Connection tests still running: kept here, not only by a dialog that may be closed first."""


class RenderOnDialog(QDialog):
    """Chooses where renders run and saves the choice in `store` when accepted (`SettingsStore.render_on()`)."""

    render_on_changed = Signal()  # accepted: the store holds the new choice

    def __init__(self, store: SettingsStore, parent: QWidget | None = None, *,
                 ray_available: bool | None = None) -> None:
        """`ray_available`: whether Ray can be imported (None: ask; tests pass False for a machine without it)."""
        super().__init__(parent)
        self.setWindowTitle("Render on")
        self.store = store
        self.ray_available = ray_installed() if ray_available is None else ray_available
        self._render_settings = RenderSettings()
        self.tester: JobWorker | None = None

        self.this_computer = QRadioButton("This computer")
        self.cluster = QRadioButton("A Ray cluster")
        self.cluster.setToolTip("Render on Ray workers: on this computer (local:N) or on the machines of a cluster")
        self.choice = QButtonGroup(self)
        self.choice.addButton(self.this_computer)
        self.choice.addButton(self.cluster)
        self.address = QLineEdit()
        self.address.setAccessibleName("Cluster address")
        self.address.setPlaceholderText(ADDRESS_HINT)
        self.address.setToolTip("local:N starts N workers on this computer; auto joins the cluster this computer "
                                "joined with `ray start`; ray://HOST:PORT joins a cluster through its Ray Client port")
        self.test_button = QPushButton("Test connection")
        self.address_error = QLabel()
        self.address_error.setAccessibleName("Address problem")
        self.address_error.setStyleSheet(ERROR_STYLE)
        self.address_error.setWordWrap(True)
        self.address_error.hide()
        self.install_note = QLabel(f"Rendering on a cluster needs Ray, which is not installed here: run "
                                   f"<code>{INSTALL_COMMAND}</code> in the app's folder, then restart the app.")
        self.install_note.setAccessibleName("Ray install command")
        self.install_note.setWordWrap(True)
        self.install_note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.install_note.setVisible(not self.ray_available)
        self.result = QLabel()
        self.result.setAccessibleName("Connection test")
        self.result.setWordWrap(True)
        self.result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)

        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Where renders run:"))
        layout.addWidget(self.this_computer)
        layout.addWidget(self.cluster)
        layout.addWidget(row(self.address, self.test_button))
        layout.addWidget(self.address_error)
        layout.addWidget(self.install_note)
        layout.addWidget(self.result)
        layout.addStretch(1)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(520)

        self.this_computer.toggled.connect(self._update_enabled)
        self.address.textChanged.connect(self._check_address)
        self.test_button.clicked.connect(without_arguments(self.test_connection))
        self.buttons.accepted.connect(without_arguments(self.accept))
        self.buttons.rejected.connect(without_arguments(self.reject))
        self.load()

    # --- the fields ------------------------------------------------------------------------------
    def load(self) -> None:
        """Show the stored choice (a cluster choice shows as this computer where Ray is missing)."""
        on_cluster = self.store.render_on_choice() is RenderOn.CLUSTER and self.ray_available
        self.address.setText(self.store.cluster_address())
        (self.cluster if on_cluster else self.this_computer).setChecked(True)
        self.result.clear()
        self._update_enabled()

    def set_render_settings(self, settings: RenderSettings) -> None:
        """The settings whose models Test connection looks for on the nodes."""
        self._render_settings = settings

    def address_problem(self) -> str | None:
        """The inline sentence for the address as typed, or None when it is one (or this computer is chosen)."""
        if not self.cluster.isChecked():
            return None
        text = self.address.text().strip()
        if not text:
            return f"Give the cluster's address: {ADDRESS_HINT}."
        try:
            parse_cluster_address(text)
        except BadInputError as error:
            return str(error)
        return None

    def accept(self) -> None:
        """Save the choice, unless the address is not one (then say so beside it)."""
        problem = self.address_problem()
        if problem is not None:
            self._show_problem(problem)
            self.address.setFocus()
            return
        choice = RenderOn.CLUSTER if self.cluster.isChecked() else RenderOn.THIS_COMPUTER
        self.store.set_render_on(choice, self.address.text())
        self.render_on_changed.emit()
        super().accept()

    def _check_address(self, *_text: object) -> None:
        """As the address is typed: its problem beside it (an empty field is only a problem on OK)."""
        self._show_problem(self.address_problem() if self.address.text().strip() else None)

    def _show_problem(self, problem: str | None) -> None:
        self.address_error.setText(problem or "")
        self.address_error.setVisible(problem is not None)
        self.test_button.setEnabled(self.cluster.isChecked() and self.address_problem() is None
                                    and not self.is_testing())

    def _update_enabled(self, *_checked: object) -> None:
        self.cluster.setEnabled(self.ray_available)
        self.address.setEnabled(self.ray_available and self.cluster.isChecked())
        self._check_address()

    # --- the connection test ----------------------------------------------------------------------
    def is_testing(self) -> bool:
        return self.tester is not None and self.tester.is_running()

    def test_connection(self) -> None:
        """Join the cluster on a worker thread and list what it has; the answer replaces the last one."""
        if self.address_problem() is not None or self.is_testing():
            return
        address = self.address.text().strip()
        self.result.setStyleSheet("")
        self.result.setText(f"Connecting to {address}…")
        job = CallJob(partial(probe_for_render, address, self._render_settings, PROBE_TIMEOUT_S),
                      "Testing the cluster")
        worker = JobWorker(job, "cluster-test", preview_interval_s=None)
        worker.finished.connect(self._show_report)
        worker.failed.connect(self._show_failure)
        self.tester = worker
        _PROBES.add(worker)
        worker.start()
        self.test_button.setEnabled(False)

    def _show_report(self, report: object) -> None:
        self._test_ended()
        if isinstance(report, ClusterReport):
            self.result.setStyleSheet("")
            self.result.setText("\n".join(report.summary()))

    def _show_failure(self, sentence: str) -> None:
        self._test_ended()
        self.result.setStyleSheet(ERROR_STYLE)
        self.result.setText(sentence)

    def _test_ended(self) -> None:
        sender = self.sender()
        _PROBES.difference_update({w for w in _PROBES if w is sender})
        if sender is self.tester:
            self.tester = None
        self._check_address()

    def stop(self) -> object | None:
        """The window closes: the running test's thread, to wait for (a test cannot be cut short)."""
        return self.tester.thread if self.is_testing() and self.tester is not None else None


__all__ = ["ADDRESS_HINT", "RenderOnDialog"]
