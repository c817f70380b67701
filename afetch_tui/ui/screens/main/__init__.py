"""The main screen's parts, one job a module: `paint` repaints it, `context` is what every
action works with, and `view`, `commands`, `asking` and `adding` are what its keys do.

`MainScreen` (`afetch_tui.ui.screens.main_screen`) composes the widgets, holds the key
bindings and delegates each `action_` method to these in a line or two.
"""
