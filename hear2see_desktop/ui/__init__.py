"""PySide6 widgets and thread workers of the desktop app; they display plain data handed to them by core jobs."""
