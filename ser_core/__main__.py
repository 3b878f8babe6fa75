"""Run the command line interface: ``python -m ser_core ...``."""

from ser_core.cli import main

raise SystemExit(main())
