"""The `netprov` command line."""
