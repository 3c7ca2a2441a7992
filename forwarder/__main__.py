"""``python -m forwarder``: see forwarder/cli.py."""

import sys

from forwarder.cli import main

sys.exit(main())
