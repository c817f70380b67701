"""afetch: a terminal download manager."""

__version__ = "0.1.0"
