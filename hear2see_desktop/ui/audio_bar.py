"""The "Audio" step's controls: record/stop, input device, level, elapsed time, import, play."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QWidget

from hear2see_desktop.core.recording import InputDevice
from hear2see_desktop.ui.level_meter import LevelMeter


def format_clock(seconds: float) -> str:
    """m:ss.t for the elapsed-time label."""
    seconds = max(0.0, seconds)
    return f"{int(seconds // 60)}:{seconds % 60:04.1f}"


class AudioBar(QWidget):
    """Buttons and readouts only; the window decides what a click does."""

    record_clicked = Signal()
    import_clicked = Signal()
    play_clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.record_button = QPushButton("● Record")
        self.record_button.setToolTip("Record a narration from the microphone (R)")
        self.record_button.clicked.connect(self.record_clicked)
        layout.addWidget(self.record_button)
        self.device_combo = QComboBox()
        self.device_combo.setToolTip("Input device")
        self.device_combo.setMinimumWidth(180)
        layout.addWidget(self.device_combo)
        self.speech_combo = QComboBox()
        self.speech_combo.setToolTip("Speech model: automatic uses an installed Vosk model, else Whisper; "
                                     "more languages in File > Models…")
        self.speech_combo.addItem("Speech: automatic", None)
        layout.addWidget(self.speech_combo)
        self.level_meter = LevelMeter()
        self.level_meter.setMinimumWidth(140)
        layout.addWidget(self.level_meter)
        self.elapsed_label = QLabel(format_clock(0.0))
        self.elapsed_label.setToolTip("Length of the take")
        layout.addWidget(self.elapsed_label)
        layout.addStretch(1)
        self.import_button = QPushButton("Import…")
        self.import_button.setToolTip("Open an audio file (WAV, FLAC, OGG, MP3, M4A, …); you can also drop one here")
        self.import_button.clicked.connect(self.import_clicked)
        layout.addWidget(self.import_button)
        self.play_button = QPushButton("▶ Play")
        self.play_button.setEnabled(False)
        self.play_button.clicked.connect(self.play_clicked)
        layout.addWidget(self.play_button)

    def set_devices(self, devices: list[InputDevice], no_mic_reason: str | None) -> None:
        """Fill the picker; with no microphone the Record button is disabled and says why."""
        self.device_combo.clear()
        for device in devices:
            self.device_combo.addItem(device.name, device.index)
            if device.is_default:
                self.device_combo.setCurrentIndex(self.device_combo.count() - 1)
        can_record = bool(devices) and no_mic_reason is None
        self.record_button.setEnabled(can_record)
        self.device_combo.setEnabled(can_record)
        if not can_record:
            reason = no_mic_reason or "No microphone was found: connect one, or import an audio file."
            self.record_button.setToolTip(reason)
            self.device_combo.setToolTip(reason)
            self.device_combo.addItem("No microphone")

    def selected_device(self) -> int | None:
        data = self.device_combo.currentData()
        return int(data) if data is not None else None

    def set_speech_choices(self, choices: list[tuple[str, str | None]], selected: str | None = None) -> None:
        """Fill the speech-model picker with (label, catalogue name) pairs, keeping `selected` if it is there."""
        wanted = selected if selected is not None else self.selected_speech_model()
        self.speech_combo.blockSignals(True)
        self.speech_combo.clear()
        for label, name in choices:
            self.speech_combo.addItem(label, name)
        index = self.speech_combo.findData(wanted) if wanted is not None else 0
        self.speech_combo.setCurrentIndex(max(0, index))
        self.speech_combo.blockSignals(False)

    def selected_speech_model(self) -> str | None:
        """The catalogue name of the chosen speech model, or None for automatic."""
        data = self.speech_combo.currentData()
        return str(data) if data else None

    def set_recording(self, recording: bool) -> None:
        self.record_button.setText("■ Stop" if recording else "● Record")
        self.import_button.setEnabled(not recording)
        self.device_combo.setEnabled(not recording and self.record_button.isEnabled())
        self.speech_combo.setEnabled(not recording)
        if not recording:
            self.level_meter.reset()

    def set_playing(self, playing: bool) -> None:
        self.play_button.setText("❚❚ Pause" if playing else "▶ Play")
