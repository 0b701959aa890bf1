from leanagent.cli import main

raise SystemExit(main())
