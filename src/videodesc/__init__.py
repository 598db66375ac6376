"""videodesc: automatic audio description for video."""

__version__ = "0.1.0"
