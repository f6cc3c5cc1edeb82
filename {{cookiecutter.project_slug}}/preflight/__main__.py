"""`python -m preflight [APP_DIR] [--static | --build | --steps ...] [--json]`: see preflight.cli."""

import sys

from preflight.cli import main

if __name__ == "__main__":
    sys.exit(main())
