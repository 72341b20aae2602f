"""The pipeline without any GUI: audio, ASR, prompts, rendering, video, run records.

Nothing in this package imports Qt; the CLI and the desktop app both drive these jobs.
"""
