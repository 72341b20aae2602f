"""The model manager, the style trainer and Render on…, opened from the window and kept while it lives."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hear2see_desktop.ui.main_window.host import Part, WindowHost

if TYPE_CHECKING:
    from hear2see_desktop.ui.models_dialog import ModelsDialog
    from hear2see_desktop.ui.render_on_dialog import RenderOnDialog
    from hear2see_desktop.ui.train_dialog import TrainDialog


class ToolDialogs(Part):
    """Opens each dialog (made the first time) and keeps the window's model pickers in step with them."""

    def __init__(self, window: WindowHost) -> None:
        super().__init__(window)
        self.models_dialog: ModelsDialog | None = None  # made the first time it is opened
        self.train_dialog: TrainDialog | None = None  # likewise
        self.render_on_dialog: RenderOnDialog | None = None  # likewise

    def open_models_dialog(self) -> None:
        """The model manager (window-modal, not blocking); the pickers follow what it changes."""
        from hear2see_desktop.ui.models_dialog import ModelsDialog

        window = self.window
        if self.models_dialog is None:
            self.models_dialog = ModelsDialog(window, confirm=window.confirm, show_error=window.show_error)
            self.models_dialog.models_changed.connect(window.settings_panel.refresh_model_choices)
            self.models_dialog.models_changed.connect(window.refresh_speech_choices)
            self.models_dialog.finished.connect(self._on_models_dialog_closed)
        self.models_dialog.refresh()
        self.models_dialog.open()

    def _on_models_dialog_closed(self, _result: int) -> None:
        self.window.settings_panel.refresh_model_choices()
        if self.train_dialog is not None:
            self.train_dialog.form.base_notice.update_notice()
        self.window.refresh_speech_choices()

    def open_train_dialog(self) -> None:
        """The LoRA trainer, not modal (training takes long); a finished style joins the LoRA picker."""
        from hear2see_desktop.ui.train_dialog import TrainDialog

        window = self.window
        settings = window.settings_panel.settings()
        if self.train_dialog is None:
            self.train_dialog = TrainDialog(window, base_model=settings.model, base_config=settings.model_config,
                                            confirm=window.confirm, show_error=window.show_error)
            self.train_dialog.style_trained.connect(self._on_style_trained)
            self.train_dialog.style_chosen.connect(window.settings_panel.lora_edit.setText)
            self.train_dialog.models_wanted.connect(self.open_models_dialog)
        self.train_dialog.suggest_base(settings.model, settings.model_config)
        self.train_dialog.show()
        self.train_dialog.raise_()

    def _on_style_trained(self, _path: str) -> None:
        self.window.settings_panel.refresh_model_choices()

    def open_render_on_dialog(self) -> None:
        """Where renders run (window-modal, not blocking); its connection test looks for the form's models."""
        from hear2see_desktop.ui.render_on_dialog import RenderOnDialog

        window = self.window
        if self.render_on_dialog is None:
            self.render_on_dialog = RenderOnDialog(window.store, window)
        self.render_on_dialog.load()
        self.render_on_dialog.set_render_settings(window.settings_panel.settings())
        self.render_on_dialog.open()

    def stop(self) -> list[object]:
        """The window closes: stop a download and a training; their threads (and a connection test's), to wait
        for."""
        threads: list[object] = []
        if self.render_on_dialog is not None:
            threads.append(self.render_on_dialog.stop())
        if self.models_dialog is not None:
            threads.append(self.models_dialog.stop_download())
        if self.train_dialog is not None:
            threads.extend(self.train_dialog.stop_training())
        return threads


__all__ = ["ToolDialogs"]
