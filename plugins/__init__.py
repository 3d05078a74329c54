"""Switch and hypervisor plugins: the only code that touches network devices."""
