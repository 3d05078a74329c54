"""`python -m devstack`: run the whole dev stack in the foreground (what `make run` does)."""

from devstack.stack import run

raise SystemExit(run())
