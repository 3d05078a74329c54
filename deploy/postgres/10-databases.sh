#!/bin/sh
# Runs once, when the PostgreSQL volume is first initialised (docker-entrypoint-initdb.d):
# a role and a database for netprov, and a role for Temporal (its databases `temporal` and
# `temporal_visibility` are created by temporal-sql-tool, see deploy/temporal/setup-schema.sh).
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres <<SQL
CREATE ROLE netprov LOGIN PASSWORD '${NETPROV_DB_PASSWORD}';
CREATE DATABASE netprov OWNER netprov;
CREATE ROLE temporal LOGIN CREATEDB PASSWORD '${TEMPORAL_DB_PASSWORD}';
SQL
