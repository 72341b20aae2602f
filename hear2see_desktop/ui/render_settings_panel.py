"""The render settings form: reads and writes one RenderSettings, with Draft/Balanced/Final presets."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QSpinBox,
    QToolButton,
    QWidget,
)

from hear2see_desktop.core.aspect import ASPECT_LABELS, CUSTOM, DRAFT_SIZES, FULL_SIZES, aspect_of, reshaped
from hear2see_desktop.core.models.choices import ModelChoice, lora_choices, model_choices, motion_choices
from hear2see_desktop.core.models.thumbnails import thumbnail_path
from hear2see_desktop.core.render.lcm import (
    ANIMATE_LCM_CFG,
    ANIMATE_LCM_STEPS,
    installed_animate_lcm,
    installed_lcm_lora,
    lcm_draft,
)
from hear2see_desktop.core.render.schedulers import SCHEDULER_LABELS
from hear2see_desktop.core.settings import (
    DEFAULT_FPS,
    DEFAULT_MODEL,
    DEFAULT_MOTION_MODEL,
    DEVICES,
    MAX_TRANSITION_S,
    MODES,
    LoraSpec,
    RenderSettings,
)
from hear2see_desktop.ui.captions_field import CaptionsField
from hear2see_desktop.ui.layout import row
from hear2see_desktop.ui.model_notice import ModelNotice
from hear2see_desktop.ui.music_field import MusicField
from hear2see_desktop.ui.wiring import without_arguments

PRESETS: dict[str, dict[str, object]] = {
    "Draft": {"steps": 12, "cfg": 7.0, "width": 384, "height": 384, "fps": 6, "frames": 6},
    "Balanced": {"steps": 25, "cfg": 7.0, "width": 512, "height": 512, "fps": 8, "frames": 16},
    "Final": {"steps": 40, "cfg": 7.5, "width": 512, "height": 512, "fps": 12, "frames": None},
}

LCM_PRESET = "LCM draft"
TRANSITION_STEP_S = 0.25
WHOLE_TRANSITION = "whole"
"""The transition box's lowest entry: transitions over the whole time between keyframes (no hold), as runs
logged before transitions had a length were rendered."""

MODE_LABELS: dict[str, tuple[str, str]] = {
    "classic": ("Classic — one image per frame, as in the paper",
                "An independent image for each distinct frame (seed + i), each held for its share of the "
                "narration: the HEAR2SEE paper's method."),
    "smooth": ("Smooth — keyframes with denoised in-betweens",
               "A keyframe for each scene, held, then dissolved into the next: the dissolve's frames are denoised "
               "from a blend of the two, so they stay pictures. A small share of classic's work."),
    "fast": ("Fast — keyframes with optical-flow in-betweens",
             "The same keyframes and holds; the dissolve's frames are warped along the optical flow, without "
             "the model. The quickest mode."),
    "animate": ("Animate — motion model",
                "One continuous clip from an AnimateDiff motion model: things move (water, wings, clouds) and the "
                "prompt travels from scene to scene at the narration's cuts. Rendered at 8 fps and brought to "
                "the output rate along the optical flow. Needs a motion model (File > Models…) and a GPU for "
                "anything above 256 px."),
}
"""Label and tooltip of each render mode, in the order of MODES."""


class RenderSettingsPanel(QWidget):
    """Every setting that shapes a render; `settings()` / `set_settings()` map it to RenderSettings."""

    settings_changed = Signal()
    scenes_changed = Signal()  # the user changed how the narration is cut into scenes
    models_wanted = Signal()  # the "not on this machine" notice's link: open File > Models…

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._hidden = RenderSettings()  # fields the form does not show (prompt, style) ride along
        self._setting = False  # set_settings is filling the form: not the user's change
        form = QFormLayout(self)

        presets = QHBoxLayout()
        self.preset_buttons: dict[str, QPushButton] = {}
        for name in PRESETS:
            button = QPushButton(name)
            button.setToolTip(_preset_tooltip(name))
            button.clicked.connect(without_arguments(partial(self.apply_preset, name)))
            presets.addWidget(button)
            self.preset_buttons[name] = button
        self.lcm_button = QPushButton(LCM_PRESET)
        self.lcm_button.clicked.connect(self.apply_lcm_draft)
        presets.addWidget(self.lcm_button)
        form.addRow("Preset", presets)

        self.mode = QComboBox()
        self.mode.setAccessibleName("Render mode")
        for key in MODES:
            label, tip = MODE_LABELS[key]
            self.mode.addItem(label, key)
            self.mode.setItemData(self.mode.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
        self._mode_shown = "classic"
        form.addRow("Mode", self.mode)
        self.reactivity = QDoubleSpinBox(minimum=0.0, maximum=1.0, singleStep=0.05, value=0.5, decimals=2)
        self.reactivity.setAccessibleName("Reactivity")
        self.reactivity.setToolTip("0 moves between keyframes (animate: between scene prompts) evenly; 1 moves "
                                   "only on the narration's onsets and loud moments, which also punch the picture in")
        self.keyframe_interval = QDoubleSpinBox(minimum=0.5, maximum=60.0, singleStep=0.5, value=3.0, decimals=1,
                                                suffix=" s")
        self.keyframe_interval.setAccessibleName("Keyframe interval")
        self.keyframe_interval.setToolTip("Smooth and fast: a new keyframe at least this often inside a scene")
        form.addRow("Reactivity", row(self.reactivity, QLabel("Keyframe every"), self.keyframe_interval))
        self.transition = QDoubleSpinBox(minimum=-TRANSITION_STEP_S, maximum=MAX_TRANSITION_S,
                                         singleStep=TRANSITION_STEP_S, value=0.5, decimals=2, suffix=" s")
        self.transition.setSpecialValueText(WHOLE_TRANSITION)  # shown at the minimum: transition_s None
        self.transition.setAccessibleName("Transition")
        self.transition.setToolTip("Smooth and fast: each picture holds, then dissolves into the next over this "
                                   "long; 0 is a hard cut, 'whole' morphs all the time")
        self.scene_change = QComboBox()
        self.scene_change.addItem("Cut", "cut")
        self.scene_change.addItem("Dissolve", "dissolve")
        self.scene_change.setAccessibleName("Between scenes")
        self.scene_change.setToolTip("Smooth and fast: Cut starts each scene on its first frame with a picture of "
                                     "its own; Dissolve crosses the cut with the transition, keeping one look "
                                     "across scenes (some frames then show the next scene early)")
        form.addRow("Transition", row(self.transition, QLabel("Between scenes"), self.scene_change))
        self.min_scene = QDoubleSpinBox(minimum=0.5, maximum=600.0, singleStep=0.5, value=2.0, decimals=1,
                                        suffix=" s")
        self.min_scene.setAccessibleName("Shortest scene")
        self.max_scene = QDoubleSpinBox(minimum=0.5, maximum=600.0, singleStep=0.5, value=8.0, decimals=1,
                                        suffix=" s")
        self.max_scene.setAccessibleName("Longest scene")
        for spin in (self.min_scene, self.max_scene):
            spin.setToolTip("How long the narration's scenes may be: cuts fall on sentence and clause ends "
                            "within these limits")
        form.addRow("Scenes", row(self.min_scene, QLabel("to"), self.max_scene))
        self.captions_field = CaptionsField(lambda: (self.width_px.value(), self.height_px.value()))
        self.captions = self.captions_field.check
        self.captions_field.changed.connect(self.settings_changed)
        form.addRow("", self.captions_field)
        self.music = MusicField()
        self.music.changed.connect(self.settings_changed)
        form.addRow("Music", self.music)

        self.model_edit = QLineEdit(DEFAULT_MODEL)
        self.model_edit.setToolTip("A hub id from the local cache, a diffusers folder or an SD 1.5 .safetensors file")
        self.model_menu = QMenu(self)
        browse_model = _menu_button(self.model_menu, "Choose a model file; the arrow lists the installed models")
        browse_model.clicked.connect(self._browse_model)
        form.addRow("Model", row(self.model_edit, browse_model))
        self.model_notice = ModelNotice(self.model_edit)
        self.model_notice.models_wanted.connect(self.models_wanted)
        form.addRow("", self.model_notice)

        self.motion_edit = QLineEdit(DEFAULT_MOTION_MODEL)
        self.motion_edit.setAccessibleName("Motion model")
        self.motion_edit.setToolTip("Animate: the AnimateDiff motion model, as a hub id from the models folder or "
                                    "the local cache, a diffusers folder or a .safetensors motion module")
        self.motion_menu = QMenu(self)
        self.browse_motion = _menu_button(self.motion_menu, "Choose a motion module file; the arrow lists the "
                                          "installed motion models")
        self.browse_motion.clicked.connect(self._browse_motion)
        form.addRow("Motion model", row(self.motion_edit, self.browse_motion))

        self.lora_edit = QLineEdit()
        self.lora_edit.setPlaceholderText("none")
        self.lora_menu = QMenu(self)
        browse_lora = _menu_button(self.lora_menu, "Choose a LoRA file; the arrow lists the installed LoRAs")
        browse_lora.clicked.connect(self._browse_lora)
        self.lora_weight = QDoubleSpinBox(minimum=-4.0, maximum=4.0, singleStep=0.1, value=1.0, decimals=2)
        self.lora_weight.setToolTip("LoRA strength")
        form.addRow("LoRA", row(self.lora_edit, browse_lora, self.lora_weight))

        self.scheduler = QComboBox()
        for key, label in SCHEDULER_LABELS.items():
            self.scheduler.addItem(label, key)
        form.addRow("Scheduler", self.scheduler)

        self.steps = QSpinBox(minimum=1, maximum=200, value=25)
        form.addRow("Steps", self.steps)
        self.cfg = QDoubleSpinBox(minimum=0.0, maximum=30.0, singleStep=0.5, value=7.5, decimals=1)
        form.addRow("CFG", self.cfg)
        self.frames = QSpinBox(minimum=0, maximum=10000, value=0)
        self.frames.setSpecialValueText("one per output frame")
        self.frames.setToolTip("Distinct images held evenly across the narration")
        form.addRow("Frames", self.frames)
        self.fps = QSpinBox(minimum=1, maximum=60, value=8)
        form.addRow("FPS", self.fps)

        self.seed = QSpinBox(minimum=0, maximum=2**31 - 1, value=0)
        self.seed_locked = QCheckBox("Lock")
        self.seed_locked.setChecked(True)
        self.seed_locked.setToolTip("Unlocked: a new random seed for every render")
        randomise = QToolButton(text="Random")
        randomise.setToolTip("Pick a random seed")
        randomise.clicked.connect(self.randomise_seed)
        form.addRow("Seed", row(self.seed, self.seed_locked, randomise))

        self.width_px = QSpinBox(minimum=64, maximum=2048, singleStep=64, value=512, suffix=" px")
        self.height_px = QSpinBox(minimum=64, maximum=2048, singleStep=64, value=512, suffix=" px")
        self.aspect = _aspect_picker()
        self._sizing = False  # the picker is setting the size, or the size the picker
        form.addRow("Size", row(self.aspect, self.width_px, self.height_px))

        self.device = QComboBox()
        self.device.addItems(list(DEVICES))
        form.addRow("Device", self.device)
        self.estimate_label = QLabel("")
        self.estimate_label.setAccessibleName("Estimated time")
        self.estimate_label.setWordWrap(True)
        form.addRow("Estimate", self.estimate_label)

        for spin in (self.steps, self.frames, self.fps, self.seed, self.width_px, self.height_px):
            spin.valueChanged.connect(self.settings_changed)
        for dspin in (self.cfg, self.lora_weight, self.reactivity, self.keyframe_interval, self.transition,
                      self.min_scene, self.max_scene):
            dspin.valueChanged.connect(self.settings_changed)
        for combo in (self.scheduler, self.device, self.mode, self.scene_change):
            combo.currentIndexChanged.connect(self.settings_changed)
        for edit in (self.model_edit, self.lora_edit, self.motion_edit):
            edit.textChanged.connect(self.settings_changed)
        self.aspect.currentIndexChanged.connect(self._on_aspect_chosen)
        for spin in (self.width_px, self.height_px):
            spin.valueChanged.connect(self._show_aspect)
        self.mode.currentIndexChanged.connect(self._on_mode_changed)
        for dspin in (self.min_scene, self.max_scene):
            dspin.valueChanged.connect(self._on_scene_lengths_changed)
        self._show_mode_controls()
        self.refresh_model_choices()

    def refresh_model_choices(self) -> None:
        """Rebuild the Model and LoRA menus from what is installed now (after the Models dialog changed it)."""

        self._show_draft_button()
        _fill_menu(self.model_menu, model_choices(), self.model_edit,
                   "No models installed: download or import one in File > Models…", self._browse_model)
        self.model_notice.update_notice()
        _fill_menu(self.lora_menu, lora_choices(), self.lora_edit,
                   "No LoRAs installed: import one in File > Models…", self._browse_lora)
        _fill_menu(self.motion_menu, motion_choices(), self.motion_edit,
                   "No motion models installed: download one in File > Models…", self._browse_motion)

    def _show_draft_button(self) -> None:
        """The LCM draft needs the LCM-LoRA, or in animate mode AnimateLCM's motion module and LoRA: say which."""
        size = f"{PRESETS['Draft']['width']}×{PRESETS['Draft']['height']}"
        if self.current_mode() == "animate":
            ready = installed_animate_lcm() is not None
            tip = (f"{LCM_PRESET}: AnimateLCM's motion module and LoRA, LCM sampling, {ANIMATE_LCM_STEPS} steps at "
                   f"CFG {ANIMATE_LCM_CFG:g}, {size}" if ready
                   else "Download AnimateLCM and its LoRA in File > Models… for few-step animate drafts")
        else:
            ready = installed_lcm_lora() is not None
            tip = (f"{LCM_PRESET}: the LCM-LoRA in place of the LoRA, LCM sampling, 4 steps without CFG, {size}"
                   if ready else "Download the LCM-LoRA in File > Models… for 4-step drafts")
        self.lcm_button.setEnabled(ready)
        self.lcm_button.setToolTip(tip)

    def settings(self) -> RenderSettings:
        """The form as RenderSettings (not validated: the job validates and says what is wrong)."""
        lora_path = self.lora_edit.text().strip()
        return replace(
            self._hidden.with_caption_style(self.captions_field.caption_style()),
            model=self.model_edit.text().strip() or DEFAULT_MODEL,
            loras=[LoraSpec(lora_path, round(self.lora_weight.value(), 2))] if lora_path else [],
            scheduler=str(self.scheduler.currentData()),
            steps=self.steps.value(),
            cfg=round(self.cfg.value(), 2),
            frames=self.frames.value() or None,
            fps=self.fps.value(),
            seed=self.seed.value(),
            width=self.width_px.value(),
            height=self.height_px.value(),
            device=self.device.currentText(),
            mode=self.current_mode(),
            motion_model=self.motion_edit.text().strip() or DEFAULT_MOTION_MODEL,
            reactivity=round(self.reactivity.value(), 2),
            keyframe_interval_s=round(self.keyframe_interval.value(), 1),
            transition_s=None if self.transition.value() < 0 else round(self.transition.value(), 2),
            scene_change=str(self.scene_change.currentData()),
            min_scene_s=round(self.min_scene.value(), 1),
            max_scene_s=round(self.max_scene.value(), 1),
            captions=self.captions.isChecked(),
            music_path=self.music.music_path(),
            music_level_db=self.music.level_db(),
        )

    def current_mode(self) -> str:
        return str(self.mode.currentData())

    def set_settings(self, settings: RenderSettings) -> None:
        """Show `settings` in the form (it does not count as the user changing the scenes or the mode)."""
        self._setting = True
        try:
            self._fill(settings)
        finally:
            self._setting = False
        self._show_mode_controls()

    def _fill(self, settings: RenderSettings) -> None:
        self._hidden = settings
        index = self.mode.findData(settings.mode)
        self.mode.setCurrentIndex(max(0, index))
        self._mode_shown = self.current_mode()
        self.reactivity.setValue(settings.reactivity)
        self.keyframe_interval.setValue(settings.keyframe_interval_s)
        self.transition.setValue(self.transition.minimum() if settings.transition_s is None
                                 else settings.transition_s)
        self.scene_change.setCurrentIndex(max(0, self.scene_change.findData(str(settings.scene_change))))
        self.min_scene.setValue(settings.min_scene_s)
        self.max_scene.setValue(settings.max_scene_s)
        self.captions.setChecked(settings.captions)
        self.captions_field.set_caption_style(settings.caption_style())
        self.music.set_music(settings.music_path, settings.music_level_db)
        self.model_edit.setText(settings.model)
        self.model_edit.setCursorPosition(0)
        self.motion_edit.setText(settings.motion_model)
        self.motion_edit.setCursorPosition(0)
        lora = settings.loras[0] if settings.loras else None
        self.lora_edit.setText(lora.path if lora else "")
        self.lora_weight.setValue(lora.weight if lora else 1.0)
        self.scheduler.setCurrentIndex(max(0, self.scheduler.findData(settings.scheduler)))
        self.steps.setValue(settings.steps)
        self.cfg.setValue(settings.cfg)
        self.frames.setValue(settings.frames or 0)
        self.fps.setValue(settings.fps)
        self.seed.setValue(min(settings.seed, self.seed.maximum()))
        self.width_px.setValue(settings.width)
        self.height_px.setValue(settings.height)
        self.device.setCurrentText(settings.device)

    def apply_lcm_draft(self) -> None:
        """The Draft preset rendered in 4 unguided LCM steps with the installed LCM-LoRA (it takes the LoRA
        slot: the form holds one LoRA)."""

        draft = replace(self.settings(), **self._in_current_aspect(PRESETS["Draft"]), loras=[])  # type: ignore[arg-type]
        self.set_settings(lcm_draft(draft))

    def show_estimate(self, text: str, warning: bool = False) -> None:
        """How long a render of these settings will take here (the window works it out as they change)."""
        self.estimate_label.setText(text)
        self.estimate_label.setStyleSheet("color: #b35900; font-weight: bold;" if warning else "")

    def draft_of(self, settings: RenderSettings) -> RenderSettings:
        """The quick alternative to `settings`: the LCM draft when its models are installed, else the Draft preset."""
        if self.lcm_button.isEnabled():
            return lcm_draft(replace(settings, **PRESETS["Draft"], loras=[]))  # type: ignore[arg-type]
        return replace(settings, **PRESETS["Draft"])  # type: ignore[arg-type]

    def apply_draft(self) -> None:
        """Show `draft_of` the form's settings (what the LCM draft button or the Draft preset would do)."""
        self.set_settings(self.draft_of(self.settings()))

    def apply_preset(self, name: str) -> None:
        """Set the speed/quality trade-off of a named preset, leaving model, LoRA and seed alone."""
        preset = self._in_current_aspect(PRESETS[name])
        self.set_settings(replace(self.settings(), **preset))  # type: ignore[arg-type]

    def _in_current_aspect(self, preset: dict[str, object]) -> dict[str, object]:
        """A preset's square size made the shape the picker shows, at about the same pixel count."""
        aspect = str(self.aspect.currentData())
        if aspect == CUSTOM or "width" not in preset:
            return preset
        width, height = reshaped(int(preset["width"]), int(preset["height"]), aspect)  # type: ignore[call-overload]
        return {**preset, "width": width, "height": height}

    def _on_aspect_chosen(self, _index: int) -> None:
        """A chosen aspect sets the size of its shape with about as many pixels (a draft stays a draft)."""
        aspect = str(self.aspect.currentData())
        if self._sizing or aspect == CUSTOM:
            return
        width, height = reshaped(self.width_px.value(), self.height_px.value(), aspect)
        self._sizing = True
        try:
            self.width_px.setValue(width)
            self.height_px.setValue(height)
        finally:
            self._sizing = False

    def _show_aspect(self, _value: int = 0) -> None:
        """The picker names the size's shape; a size of no aspect's shape shows Custom."""
        if self._sizing:
            return
        self._sizing = True
        try:
            index = self.aspect.findData(aspect_of(self.width_px.value(), self.height_px.value()))
            self.aspect.setCurrentIndex(index)
        finally:
            self._sizing = False

    def _on_mode_changed(self, _index: int) -> None:
        """A new mode brings its frame rate, unless the rate was set away from the old mode's default."""
        old, new = self._mode_shown, self.current_mode()
        self._mode_shown = new
        if not self._setting and old != new and self.fps.value() == DEFAULT_FPS.get(old):
            self.fps.setValue(DEFAULT_FPS[new])
        self._show_mode_controls()

    def _show_mode_controls(self) -> None:
        """Keyframes and the way between scenes only mean something in smooth and fast; reactivity and the
        transition also in animate (its prompt's travel across a cut); the motion model only in animate; the
        image count only in classic."""
        mode = self.current_mode()
        sequence = mode != "classic"
        keyframes = mode in ("smooth", "fast")
        self.reactivity.setEnabled(sequence)
        self.keyframe_interval.setEnabled(keyframes)
        self.transition.setEnabled(sequence)
        self.scene_change.setEnabled(keyframes)
        self.motion_edit.setEnabled(mode == "animate")
        self.browse_motion.setEnabled(mode == "animate")
        self._show_draft_button()
        self.frames.setEnabled(not sequence)
        self.mode.setToolTip(MODE_LABELS[mode][1])
        self.frames.setToolTip("Distinct images held evenly across the narration" if not sequence
                               else "Smooth, fast and animate render every output frame")

    def _on_scene_lengths_changed(self, _value: float) -> None:
        if not self._setting:
            self.scenes_changed.emit()

    def randomise_seed(self) -> None:
        self.seed.setValue(random.randint(0, self.seed.maximum()))

    def seed_for_next_render(self) -> int:
        """With the lock off, every render gets a fresh seed (shown in the form, so it can be kept)."""
        if not self.seed_locked.isChecked():
            self.randomise_seed()
        return self.seed.value()

    def _browse_model(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose a Stable Diffusion 1.5 checkpoint", str(Path.home()),
                                              "Safetensors checkpoints (*.safetensors);;All files (*)")
        if path:
            self.model_edit.setText(path)

    def _browse_motion(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose an AnimateDiff motion module", str(Path.home()),
                                              "Motion modules (*.safetensors)")
        if path:
            self.motion_edit.setText(path)

    def _browse_lora(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose a LoRA", str(Path.home()),
                                              "LoRA files (*.safetensors)")
        if path:
            self.lora_edit.setText(path)


def _aspect_picker() -> QComboBox:
    """The video's shape: each aspect with its sizes in the tooltip, and Custom for a size typed by hand."""
    picker = QComboBox()
    picker.setAccessibleName("Aspect")
    for aspect, label in ASPECT_LABELS.items():
        picker.addItem(label, aspect)
        full, draft = FULL_SIZES[aspect], DRAFT_SIZES[aspect]
        picker.setItemData(picker.count() - 1, f"{full[0]}×{full[1]}, a draft {draft[0]}×{draft[1]}: sizes "
                           "Stable Diffusion 1.5 renders well in this shape", Qt.ItemDataRole.ToolTipRole)
    picker.addItem("Custom", CUSTOM)
    picker.setCurrentIndex(picker.findData(aspect_of(RenderSettings.width, RenderSettings.height)))
    picker.setToolTip("The video's shape; choosing one sets the size with about as many pixels as now "
                      "(9:16 for Shorts, Reels and TikTok)")
    return picker


def _menu_button(menu: QMenu, tooltip: str) -> QToolButton:
    """The `…` button: a click browses for a file, its arrow drops down `menu`."""
    button = QToolButton(text="…")
    button.setToolTip(tooltip)
    button.setMenu(menu)
    button.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
    return button


def _fill_menu(menu: QMenu, choices: list[ModelChoice], edit: QLineEdit, empty_text: str,
               browse: Callable[[], None]) -> None:
    """One action per choice (its thumbnail as icon when a render left one) that puts its path in `edit`."""
    menu.clear()
    for choice in choices:
        action = menu.addAction(choice.label)
        action.setData(choice.path)
        action.setToolTip(choice.path)
        action.setStatusTip(choice.path)
        thumbnail = thumbnail_path(choice.path)
        if thumbnail.is_file():
            action.setIcon(QIcon(str(thumbnail)))
        action.triggered.connect(without_arguments(partial(edit.setText, choice.path)))
    if not choices:
        menu.addAction(empty_text).setEnabled(False)
    menu.addSeparator()
    menu.addAction("Browse…").triggered.connect(without_arguments(browse))


def _preset_tooltip(name: str) -> str:
    preset = PRESETS[name]
    frames = preset["frames"] or "every output frame"
    return (f"{name}: {preset['steps']} steps, {preset['width']}×{preset['height']}, "
            f"{preset['fps']} fps, {frames} images")
