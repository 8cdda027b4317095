from pixfeed.cli import main

raise SystemExit(main())
