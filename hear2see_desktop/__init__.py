"""HEAR2SEE Desktop: spoken narration in, short video out, all on the device."""

__version__ = "0.1.0"
