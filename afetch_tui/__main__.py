from afetch_tui.cli import run

run()
