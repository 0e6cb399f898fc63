"""``python -m loadtest <scenario> [options]`` (see loadtest.cli)."""

from loadtest.cli import main

raise SystemExit(main())
