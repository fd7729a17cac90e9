"""`python -m optimizer` is the same as `irel-alloc`."""

from .cli import entry

entry()
