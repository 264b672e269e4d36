"""Allow ``python -m mcprop``."""

from mcprop.interface.cli import main

raise SystemExit(main())
