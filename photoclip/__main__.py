from photoclip.app import main

raise SystemExit(main())
