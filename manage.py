#!/usr/bin/env python
"""Django's command-line utility; `yanglao <command>` is the same thing once installed."""

import sys

from yanglao.cli import main

if __name__ == "__main__":
    main(sys.argv[1:])
