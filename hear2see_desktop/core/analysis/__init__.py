"""Measurements of the narration's sound and the video's motion (onsets, spectral flux, optical flow).

Both the motion planner (audio-reactive pacing, flow in-betweens) and the metrics (AV-Align, flicker)
read them, so they live below both rather than in either.
"""
