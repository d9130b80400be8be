from echoarb.cli import main

raise SystemExit(main())
