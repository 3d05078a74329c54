#!/bin/sh
# Temporal's own schema on PostgreSQL, by the official tool (temporal-sql-tool, in the
# temporalio/admin-tools image): creates the two databases when missing, then brings both
# schemas to the version this image ships. Idempotent: safe on every `docker compose up`.
set -eu
: "${POSTGRES_SEEDS:?}" "${DB_PORT:?}" "${POSTGRES_USER:?}" "${SQL_PASSWORD:?}"
SCHEMA=/etc/temporal/schema/postgresql/v12

tool() {
  temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "$DB_PORT" -u "$POSTGRES_USER" "$@"
}

for db in temporal temporal_visibility; do
  tool --db "$db" create || true   # "already exists" on a second run
done
tool --db temporal setup-schema -v 0.0 || true
tool --db temporal update-schema -d "$SCHEMA/temporal/versioned"
tool --db temporal_visibility setup-schema -v 0.0 || true
tool --db temporal_visibility update-schema -d "$SCHEMA/visibility/versioned"
echo "Temporal schema is up to date"
