"""The Textual dashboard. Imported lazily: the headless commands never load it."""

from __future__ import annotations

from afetch_tui.ui.app import AfetchApp, run_dashboard

__all__ = ["AfetchApp", "run_dashboard"]
