"""The "Train a style" dialog: the train-lora options as a form, a live loss curve and validation images.

The dialog only fills a TrainSettings and starts jobs: the dataset check and the training itself (see
core/training/style_job.py) run in JobWorkers, so the window stays responsive through hours of training.
Cancel stops after the current step and the job keeps a checkpoint, which Resume continues from. A finished style is
copied into the LoRA folder and `style_trained` tells the main window to refresh its LoRA picker.
Message boxes and file pickers are constructor arguments, so tests can answer them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QThread, Signal
from PySide6.QtGui import QImage
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from hear2see_desktop.core.errors import BadInputError
from hear2see_desktop.core.jobs import CallJob
from hear2see_desktop.core.settings import DEFAULT_MODEL
from hear2see_desktop.core.training.dataset import LoraDataset
from hear2see_desktop.core.training.style_job import (
    StyleTrainingJob,
    TrainedStyle,
    check_dataset,
    default_output,
)
from hear2see_desktop.ui.fix_words import sentence
from hear2see_desktop.ui.job_worker import JobWorker
from hear2see_desktop.ui.layout import row
from hear2see_desktop.ui.loss_plot import LossPlot
from hear2see_desktop.ui.sample_strip import SampleStrip
from hear2see_desktop.ui.train_settings_form import TrainSettingsForm

_BAR_STEPS = 1000
_ERROR_STYLE = "color: #c0392b;"


def ask_yes_no(parent: QWidget, title: str, question: str) -> bool:
    return QMessageBox.question(parent, title, question) == QMessageBox.StandardButton.Yes


def show_warning(parent: QWidget, title: str, text: str) -> None:
    QMessageBox.warning(parent, title, text)


def choose_dataset_folder(parent: QWidget, start: str) -> str:
    """A folder the user picked, or "" when they cancelled."""
    return QFileDialog.getExistingDirectory(parent, "Choose the folder of captioned images", start)


def choose_output_file(parent: QWidget, start: str) -> str:
    path, _ = QFileDialog.getSaveFileName(parent, "Save the style as", start, "LoRA files (*.safetensors)")
    return path


class TrainSteps(QObject):
    """The training job's typed step events as a signal, so the loss curve hears them on the window's thread."""

    step_done = Signal(int, float)  # step, loss

    def hear(self, step: int, _steps: int, loss: float) -> None:
        self.step_done.emit(step, float(loss))


class TrainDialog(QDialog):
    """Trains a LoRA style; `style_trained(path)` after one is added, `style_chosen(path)` on "Use this style"."""

    style_trained = Signal(str)
    style_chosen = Signal(str)
    models_wanted = Signal()  # the base model's "Not installed" link: open File > Models…

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        base_model: str = DEFAULT_MODEL,
        base_config: str | None = None,
        confirm: Callable[[QWidget, str, str], bool] = ask_yes_no,
        show_error: Callable[[QWidget, str, str], None] = show_warning,
        choose_folder: Callable[[QWidget, str], str] = choose_dataset_folder,
        choose_output: Callable[[QWidget, str], str] = choose_output_file,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Train a style")
        self.confirm = confirm
        self.show_error = show_error
        self.choose_folder = choose_folder
        self.choose_output = choose_output
        self.worker: JobWorker | None = None
        self.job: StyleTrainingJob | None = None
        self.trained_path: Path | None = None  # the LoRA the picker lists, after a run finished
        self.dataset: LoraDataset | None = None
        self._checks: set[JobWorker] = set()  # dataset checks still running (held until they report)
        self._latest_check: JobWorker | None = None  # only the newest check may land
        self._checked_text = ""
        self._output_auto = True  # the output follows the dataset's name until the user sets it
        self._last_step = 0
        self._steps: TrainSteps | None = None  # the running job's step events
        self._close_result: int | None = None
        self._build(base_model, base_config)
        self._update_buttons()
        self.resize(1060, 700)

    # ------------------------------------------------------------------------------------------
    # The form

    def _build(self, base_model: str, base_config: str | None) -> None:
        self.form_box = QWidget()  # everything the user sets; disabled while training
        data_box = QGroupBox("Images and output")
        form = QFormLayout(data_box)
        self.dataset_edit = QLineEdit()
        self.dataset_edit.setPlaceholderText("a folder of images, each with a caption")
        self.dataset_edit.setToolTip("Captions: name.txt beside name.png, or a metadata.jsonl (file_name, text)")
        self.dataset_edit.editingFinished.connect(self._on_dataset_edited)
        browse_dataset = QPushButton("Browse…")
        browse_dataset.clicked.connect(self._browse_dataset)
        form.addRow("Dataset", row(self.dataset_edit, browse_dataset))
        self.dataset_label = QLabel("Choose a folder of at least 4 captioned images (15 or more is better).")
        self.dataset_label.setWordWrap(True)
        form.addRow("", self.dataset_label)
        self.output_edit = QLineEdit(str(default_output("style")))
        self.output_edit.textEdited.connect(self._on_output_edited)
        browse_output = QPushButton("…")
        browse_output.clicked.connect(self._browse_output)
        form.addRow("Output", row(self.output_edit, browse_output))
        self.resume = QCheckBox("Resume from the last checkpoint of this output")
        self.resume.toggled.connect(self._update_buttons)
        form.addRow("", self.resume)
        settings_box = QGroupBox("Training")
        self.form = TrainSettingsForm(base_model, base_config)
        self.form.base_notice.models_wanted.connect(self.models_wanted)
        QVBoxLayout(settings_box).addWidget(self.form)
        left = QVBoxLayout(self.form_box)
        left.setContentsMargins(0, 0, 0, 0)
        left.addWidget(data_box)
        left.addWidget(settings_box)
        left.addStretch(1)

        self.loss_plot = LossPlot()
        self.samples = SampleStrip()
        right = QVBoxLayout()
        right.addWidget(QLabel("Loss"))
        right.addWidget(self.loss_plot, 1)
        right.addWidget(self.samples)
        columns = QHBoxLayout()
        columns.addWidget(self.form_box, 0)
        columns.addLayout(right, 1)

        self.progress_bar = QProgressBar()
        self.progress_bar.setTextVisible(False)
        self.status_label = QLabel("Choose a dataset, then Start.")
        self.status_label.setWordWrap(True)
        buttons = QHBoxLayout()
        self.start_button = QPushButton("Start")
        self.start_button.setDefault(True)
        self.start_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.use_button = QPushButton("Use this style")
        self.use_button.setToolTip("Put the trained LoRA in the render settings' LoRA field")
        self.use_button.clicked.connect(self.use_style)
        self.close_button = QPushButton("Close")
        self.close_button.clicked.connect(self.reject)
        for button in (self.start_button, self.cancel_button, self.use_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.close_button)

        layout = QVBoxLayout(self)
        layout.addLayout(columns, 1)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.status_label)
        layout.addLayout(buttons)

    def suggest_base(self, model: str, config: str | None = None) -> None:
        """Follow the render settings' model while no training runs (it is what the style will be used with)."""
        if self.worker is None and model:
            self.form.set_base(model, config)

    def is_training(self) -> bool:
        return self.worker is not None

    def is_checking(self) -> bool:
        """A dataset check is still running."""
        return bool(self._checks)

    def _update_buttons(self) -> None:
        idle = self.worker is None and self._close_result is None
        self.form_box.setEnabled(idle)
        self.start_button.setEnabled(idle)
        self.start_button.setText("Resume" if self.resume.isChecked() else "Start")
        self.cancel_button.setEnabled(self.worker is not None and not self.worker.is_cancel_requested())
        self.use_button.setVisible(self.trained_path is not None)
        self.use_button.setEnabled(idle and self.trained_path is not None)

    # ------------------------------------------------------------------------------------------
    # Dataset and output

    def _browse_dataset(self) -> None:
        chosen = self.choose_folder(self, self.dataset_edit.text().strip() or str(Path.home()))
        if chosen:
            self.set_dataset(chosen)

    def set_dataset(self, folder: str) -> None:
        """Use `folder` as the dataset: check it in a worker, and name the output after it unless set by hand."""
        self.dataset_edit.setText(folder)
        self.check_dataset()

    def _on_dataset_edited(self) -> None:
        if self.dataset_edit.text().strip() != self._checked_text:  # not on every focus change
            self.check_dataset()

    def check_dataset(self) -> None:
        """Count the captioned images in a worker (every image is decoded, which takes a moment)."""
        text = self.dataset_edit.text().strip()
        self._checked_text = text
        self.dataset = None
        if not text:
            return
        folder = Path(text).expanduser()
        if self._output_auto and folder.name:
            self.output_edit.setText(str(default_output(folder.name)))
        prefix = self.form.caption_prefix.text().strip()
        worker = JobWorker(CallJob(lambda: check_dataset(folder, prefix), "Checking the dataset"), "check-dataset")
        worker.finished.connect(self._on_dataset_checked)
        worker.failed.connect(self._on_dataset_failed)
        self._checks.add(worker)
        self._latest_check = worker
        self._show_dataset_line("Checking the images and captions…")
        worker.start()

    def _on_dataset_checked(self, result: object) -> None:
        worker = self.sender()
        self._checks.discard(worker)  # type: ignore[arg-type]
        if worker is not self._latest_check or not isinstance(result, LoraDataset):
            return
        self.dataset = result
        self._show_dataset_line(f"{len(result.examples)} captioned images found, "
                                f"e.g. “{result.examples[0].caption}”.")

    def _on_dataset_failed(self, message: str) -> None:
        worker = self.sender()
        self._checks.discard(worker)  # type: ignore[arg-type]
        if worker is self._latest_check:
            self._show_dataset_line(message, error=True)

    def _show_dataset_line(self, text: str, error: bool = False) -> None:
        self.dataset_label.setText(text)
        self.dataset_label.setStyleSheet(_ERROR_STYLE if error else "")

    def _on_output_edited(self, _text: str) -> None:
        self._output_auto = False

    def _browse_output(self) -> None:
        chosen = self.choose_output(self, self.output_edit.text().strip() or str(default_output("style")))
        if chosen:
            if not chosen.lower().endswith(".safetensors"):
                chosen += ".safetensors"
            self.output_edit.setText(chosen)
            self._output_auto = False

    # ------------------------------------------------------------------------------------------
    # Training

    def start(self) -> None:
        """Check the form (one sentence if something is off), then train in a worker."""
        if self.worker is not None:
            return
        dataset = self.dataset_edit.text().strip()
        output = self.output_edit.text().strip()
        settings = self.form.settings()
        try:
            if not dataset:
                raise BadInputError("Choose the dataset folder: images with a caption each.")
            if not output:
                raise BadInputError("Choose where to save the style (a .safetensors file).")
            settings.validate()
        except BadInputError as error:
            self.show_error(self, "Cannot train", sentence(error))
            return
        resume = self.resume.isChecked()
        if not resume:
            self.loss_plot.clear()
            self.samples.clear()
        self.loss_plot.set_total_steps(settings.steps)
        self.trained_path = None
        self._last_step = 0
        self._steps = TrainSteps()
        self._steps.step_done.connect(self._on_step)
        self.job = StyleTrainingJob(Path(dataset).expanduser(), Path(output).expanduser(), settings, resume,
                                    on_step=self._steps.hear)
        worker = JobWorker(self.job, "train-lora")
        worker.progress.connect(self._on_progress)
        worker.preview_ready.connect(self._on_sample)
        worker.finished.connect(self._on_finished)
        worker.failed.connect(self._on_failed)
        worker.cancelled.connect(self._on_cancelled)
        self.worker = worker
        self.progress_bar.setRange(0, 0)  # busy until the first report
        self.status_label.setText("Resuming…" if resume else "Starting…")
        self._update_buttons()
        worker.start()

    def cancel(self) -> None:
        """Stop after the current step; the job keeps a checkpoint of the steps done."""
        if self.worker is None:
            return
        self.worker.cancel()
        self.status_label.setText("Stopping after this step and saving a checkpoint…")
        self._update_buttons()

    def _on_progress(self, done: int, total: int, message: str) -> None:
        self.progress_bar.setRange(0, _BAR_STEPS)
        self.progress_bar.setValue(int(_BAR_STEPS * min(done, total) / max(total, 1)))
        if self.worker is not None and not self.worker.is_cancel_requested():
            self.status_label.setText(message)

    def _on_step(self, step: int, loss: float) -> None:
        self._last_step = step
        self.loss_plot.add_point(step, loss)

    def _on_sample(self, image: object) -> None:
        if isinstance(image, QImage):
            self.samples.add_sample(self._last_step, image)

    def _on_finished(self, trained: object) -> None:
        if not isinstance(trained, TrainedStyle):
            self._ended("Training finished.")
            return
        result = trained.result
        self.resume.setChecked(False)
        if trained.installed is None:
            self._ended(f"Saved {result.out_path} ({result.steps} steps, final loss {result.final_loss:.4f}), but "
                        f"it could not be added to the LoRA list: {trained.import_error}")
            return
        self.trained_path = trained.installed
        self._ended(f"Saved {trained.installed} ({result.steps} steps, final loss {result.final_loss:.4f}); "
                    "it is in the LoRA list now.")
        self.style_trained.emit(str(trained.installed))

    def _on_failed(self, message: str) -> None:
        self._ended(message)
        self.show_error(self, "Cannot train", message)

    def _on_cancelled(self) -> None:
        kept = self.job.kept_checkpoint if self.job is not None else None
        if kept is None:
            self._ended("Training cancelled; no checkpoint was kept, so the next run starts from the beginning.")
            return
        self.resume.setChecked(True)
        self._ended(f"Training cancelled; the checkpoint {kept} is kept: press Resume to continue from it.")

    def _ended(self, message: str) -> None:
        """Back to idle after any run; a close asked for during the run happens now."""
        self.worker = None
        self.progress_bar.setRange(0, _BAR_STEPS)
        self.status_label.setText(message)
        if self._close_result is not None:
            result, self._close_result = self._close_result, None
            super().done(result)
        self._update_buttons()

    def use_style(self) -> None:
        if self.trained_path is not None:
            self.style_chosen.emit(str(self.trained_path))
            self.status_label.setText(f"The render settings now use {self.trained_path.stem}.")

    # ------------------------------------------------------------------------------------------
    # Closing

    def done(self, result: int) -> None:
        """Close, but never under a running training: ask, cancel, and close once the checkpoint is saved."""
        if self.worker is None:
            super().done(result)
            return
        if self._close_result is not None:
            return  # already closing
        if not self.confirm(self, "Training running",
                            "A style is still training. Stop it and close? The last checkpoint is kept, so Resume "
                            "continues from it later."):
            return
        self._close_result = result
        self.cancel()

    def stop_training(self) -> list[QThread]:
        """Cancel a running training without asking (the app is quitting); returns the threads to wait for.

        A dataset check cannot be cancelled but ends within moments; its thread is returned too, since the
        application must not quit under any running thread.
        """
        if self.worker is not None:
            self.worker.cancel()
        threads = []
        for worker in (self.worker, *self._checks):
            try:
                if worker is not None and worker.thread is not None and worker.is_running():
                    threads.append(worker.thread)
            except RuntimeError:  # the thread already ended and Qt deleted it
                pass
        return threads
