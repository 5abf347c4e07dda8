import { fileURLToPath } from 'node:url'

/** The numbered ClickHouse DDL migrations (`NNNN_name.sql`), applied in order by @cpi/clickhouse. */
export const clickhouseMigrationsDir = fileURLToPath(new URL('../clickhouse/migrations/', import.meta.url))
