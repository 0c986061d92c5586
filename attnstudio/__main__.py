"""`python -m attnstudio` runs the same entry point as the `attnstudio` command."""

import sys

from attnstudio.cli import main

sys.exit(main())
