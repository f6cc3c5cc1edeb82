"""`heroku-preflight [APP_DIR] [--static | --build | --steps ...] [--json]`: see preflight.cli."""

import sys

from heroku_preflight.cli import main

if __name__ == "__main__":
    sys.exit(main())
