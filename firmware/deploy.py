"""`python -m firmware.deploy DEST --config FILE`: the deploy command's
fixed name. A laptop tool, never installed on a board: the code is in
tools/deploy.py, with the other laptop-side tools."""

import sys

from tools.deploy import main

if __name__ == "__main__":
    sys.exit(main())
