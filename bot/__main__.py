"""`python -m bot`: the same command line as `learncity`."""

import sys

from bot.startup.cli import main

if __name__ == "__main__":
    sys.exit(main())
