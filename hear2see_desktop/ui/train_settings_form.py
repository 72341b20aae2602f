"""The training hyperparameters as a form: the fields of TrainSettings, with the CLI's defaults and limits."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QWidget,
)

from hear2see_desktop.core.settings import DEFAULT_MODEL, DEVICES
from hear2see_desktop.core.training.settings import GRADIENT_CHECKPOINTING, PRECISIONS, TrainSettings
from hear2see_desktop.ui.layout import row
from hear2see_desktop.ui.model_notice import ModelNotice


def _spin(low: int, high: int, value: int, special: str = "", step: int = 1) -> QSpinBox:
    spin = QSpinBox(minimum=low, maximum=high, value=value, singleStep=step)
    if special:
        spin.setSpecialValueText(special)  # shown at the minimum, which stands for "never"/"auto"
    return spin


class TrainSettingsForm(QWidget):
    """Every setting that shapes the trained weights; `settings()` reads them as TrainSettings."""

    def __init__(self, base_model: str = DEFAULT_MODEL, base_config: str | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        defaults = TrainSettings()
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        self.base_edit = QLineEdit(base_model or DEFAULT_MODEL)
        self.base_edit.setToolTip("The SD 1.5 model to train on: a hub id, a diffusers folder or a .safetensors file")
        form.addRow("Base model", self.base_edit)
        self.base_notice = ModelNotice(self.base_edit)
        form.addRow("", self.base_notice)
        self.base_config_edit = QLineEdit(base_config or "")
        self.base_config_edit.setPlaceholderText("bundled SD 1.5 configs")
        self.base_config_edit.setToolTip("Component configs for a single-file base checkpoint")
        form.addRow("Base config", self.base_config_edit)

        self.rank = _spin(4, 128, defaults.rank)
        self.rank.setToolTip("Higher learns more detail and makes a bigger file")
        self.alpha = QDoubleSpinBox(minimum=0.0, maximum=1024.0, value=0.0, decimals=1)
        self.alpha.setSpecialValueText("= rank")
        self.alpha.setToolTip("The update is scaled by alpha/rank")
        form.addRow("Rank / alpha", row(self.rank, QLabel("alpha"), self.alpha))
        self.steps = _spin(1, 1_000_000, defaults.steps)
        self.warmup = _spin(-1, 1_000_000, -1, "auto")
        self.warmup.setToolTip("Steps of linear warm-up before the cosine decay (auto: a tenth, at most 100)")
        form.addRow("Steps", row(self.steps, QLabel("warm-up"), self.warmup))
        self.learning_rate = QDoubleSpinBox(decimals=6, singleStep=0.00005)  # decimals before the value
        self.learning_rate.setRange(0.000001, 1.0)
        self.learning_rate.setValue(defaults.learning_rate)
        form.addRow("Learning rate", self.learning_rate)
        self.resolution = _spin(64, 2048, defaults.resolution, step=64)
        self.resolution.setSuffix(" px")
        self.resolution.setToolTip("Images are resized and centre-cropped to this square")
        form.addRow("Resolution", self.resolution)
        self.batch = _spin(1, 64, defaults.batch_size)
        self.grad_accum = _spin(1, 128, defaults.grad_accum)
        self.grad_accum.setToolTip("Micro-batches per step: a larger effective batch in the same memory")
        form.addRow("Batch", row(self.batch, QLabel("grad. accumulation"), self.grad_accum))
        self.seed = _spin(0, 2**31 - 1, defaults.seed)
        form.addRow("Seed", self.seed)
        self.caption_prefix = QLineEdit()
        self.caption_prefix.setPlaceholderText("e.g. sks style")
        self.caption_prefix.setToolTip("A trigger word or phrase put before every caption")
        form.addRow("Caption prefix", self.caption_prefix)
        self.train_text_encoder = QCheckBox("Train the text encoder")
        self.train_text_encoder.setToolTip("Learns new words better, overfits sooner")
        self.flip = QCheckBox("Mirror images at random")
        self.flip.setChecked(defaults.flip)
        self.flip.setToolTip("Turn off for pictures with text or logos")
        form.addRow("", row(self.train_text_encoder, self.flip))
        self.validation_prompt = QLineEdit()
        self.validation_prompt.setPlaceholderText("a picture to draw every N steps (optional)")
        form.addRow("Validation prompt", self.validation_prompt)
        self.every = _spin(0, 1_000_000, defaults.every, "never")
        self.every.setToolTip("A checkpoint and a validation image every this many steps")
        self.validation_steps = _spin(1, 200, defaults.validation_steps)
        self.validation_steps.setToolTip("Denoising steps of each validation image")
        form.addRow("Every N steps", row(self.every, QLabel("drawn in"), self.validation_steps, QLabel("steps")))
        self.device = QComboBox()
        self.device.addItems(list(DEVICES))
        self.precision = QComboBox()
        self.precision.addItems(list(PRECISIONS))
        self.precision.setToolTip("auto: bf16/fp16 mixed precision on a CUDA GPU, fp32 elsewhere. fp16 and bf16 also "
                                  "run on the CPU: the model in half the memory, but slower than fp32 there")
        form.addRow("Device", row(self.device, QLabel("precision"), self.precision))
        self.gradient_checkpointing = QComboBox()
        self.gradient_checkpointing.addItems(list(GRADIENT_CHECKPOINTING))
        self.gradient_checkpointing.setToolTip("Recompute activations in the backward pass: less memory, more "
                                               "compute, the same weights (auto: on with a CUDA GPU)")
        form.addRow("Grad. checkpointing", self.gradient_checkpointing)

    def settings(self) -> TrainSettings:
        """The form as TrainSettings (not validated: TrainSettings.validate says what is off)."""
        prompt = self.validation_prompt.text().strip()
        return TrainSettings(
            base=self.base_edit.text().strip(), base_config=self.base_config_edit.text().strip() or None,
            rank=self.rank.value(), alpha=self.alpha.value() or None, steps=self.steps.value(),
            learning_rate=self.learning_rate.value(),
            warmup_steps=None if self.warmup.value() < 0 else self.warmup.value(),
            resolution=self.resolution.value(), batch_size=self.batch.value(), grad_accum=self.grad_accum.value(),
            seed=self.seed.value(), train_text_encoder=self.train_text_encoder.isChecked(),
            caption_prefix=self.caption_prefix.text().strip(), flip=self.flip.isChecked(), every=self.every.value(),
            validation_prompt=prompt or None, validation_steps=self.validation_steps.value(),
            device=self.device.currentText(), precision=self.precision.currentText(),
            gradient_checkpointing=self.gradient_checkpointing.currentText(),
        )

    def set_base(self, model: str, config: str | None = None) -> None:
        """Train on `model` (with the component configs in `config` for a single-file checkpoint)."""
        self.base_edit.setText(model)
        self.base_config_edit.setText(config or "")
