"""The dashboard screen and its modal dialogs, one per module."""
