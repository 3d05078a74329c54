"""Workers: the central worker (workflows, database and central plugin activities) and the
per-hypervisor agents (`--host H`, the plugin steps that must run on host H)."""
