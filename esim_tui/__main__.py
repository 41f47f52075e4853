from esim_tui.cli import main

raise SystemExit(main())
