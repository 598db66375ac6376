from videodesc.cli.main import main

raise SystemExit(main())
