from scxtop.cli import main

raise SystemExit(main())
