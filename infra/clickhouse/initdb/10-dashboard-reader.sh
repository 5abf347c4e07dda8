#!/bin/bash
# The read-only ClickHouse user Grafana connects with (infra/grafana/README.md, "A read-only
# user"). docker-compose.yml mounts this folder at /docker-entrypoint-initdb.d, which the
# clickhouse-server image runs once, on its first start with an empty data volume, as the admin
# user of CLICKHOUSE_USER / CLICKHOUSE_PASSWORD (which needs CLICKHOUSE_DEFAULT_ACCESS_MANAGEMENT=1).
# The image sources a .sh file that is not executable: everything runs in a subshell so that
# nothing here changes the entrypoint's shell.
(
  set -eu
  reader=${CLICKHOUSE_DASHBOARD_USER:-grafana}
  database=${CLICKHOUSE_DATABASE:-cpi}
  password=${CLICKHOUSE_DASHBOARD_PASSWORD:-}
  identifier='^[A-Za-z_][A-Za-z0-9_]*$'
  [[ $reader =~ $identifier ]] || { echo "CLICKHOUSE_DASHBOARD_USER=$reader is not an identifier" >&2; exit 1; }
  [[ $database =~ $identifier ]] || { echo "CLICKHOUSE_DATABASE=$database is not an identifier" >&2; exit 1; }
  [[ -n $password ]] || { echo "CLICKHOUSE_DASHBOARD_PASSWORD is empty" >&2; exit 1; }
  # A string literal: backslashes and single quotes escaped.
  password=${password//\\/\\\\}
  password=${password//\'/\\\'}
  echo "creating the read-only user $reader (SELECT on $database.*)"
  clickhouse-client --host 127.0.0.1 --user "${CLICKHOUSE_USER:-default}" --password "${CLICKHOUSE_PASSWORD:-}" \
    --multiquery <<SQL
CREATE DATABASE IF NOT EXISTS ${database};
CREATE SETTINGS PROFILE IF NOT EXISTS cpi_dashboard_reader
    SETTINGS readonly = 1, max_execution_time = 60 MAX 120 CHANGEABLE_IN_READONLY, max_memory_usage = 4000000000;
CREATE USER IF NOT EXISTS ${reader} IDENTIFIED WITH sha256_password BY '${password}'
    SETTINGS PROFILE cpi_dashboard_reader;
GRANT SELECT ON ${database}.* TO ${reader};
SQL
)
