from afetch_tui.cli import main

raise SystemExit(main())
