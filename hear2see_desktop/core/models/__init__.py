"""The model manager: a catalogue of known models, downloads on request, installed state, imports."""
