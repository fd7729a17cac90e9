"""`python -m optimizer` is the same as `irel-alloc`."""

import sys

from .cli import main

sys.exit(main())
