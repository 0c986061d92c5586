"""Entry script of the frozen app: the same ``main()`` as the ``attnstudio`` command.

PyInstaller needs a script, not a console-scripts entry point; this is all it is.
"""

import sys

from attnstudio.cli import main

if __name__ == "__main__":
    sys.exit(main())
