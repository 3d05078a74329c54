#!/bin/sh
# Entry point of a hypervisor agent container: start this host's Open vSwitch (ovsdb-server and
# ovs-vswitchd with bridge br-int, by plugins.ovs.hosts, the same code `make run` uses), then
# become the agent itself (`exec`, so SIGTERM reaches it and it stops gracefully).
# Needs root and privileges for network namespaces: the compose file runs agents privileged.
set -eu
host=""
previous=""
for argument in "$@"; do
  [ "$previous" = "--host" ] && host="$argument"
  previous="$argument"
done
if [ -n "$host" ]; then
  python -c 'import sys
from netprov.settings import get_settings
from plugins.ovs.hosts import start_hosts
start_hosts([sys.argv[1]], get_settings().data_dir)' "$host"
fi
exec "$@"
