// Cluster-ready DDL by configuration (CLICKHOUSE_CLUSTER): the migrations are written for one
// server; on a cluster every DDL statement runs ON CLUSTER and every MergeTree-family table is
// replicated (one shard, as many replicas as the cluster has). The migration files and their
// checksums stay the same either way: the rewrite happens when they are applied.

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/

/** A cluster name fit for DDL; anything else is refused before it reaches SQL. */
export function checkClusterName(cluster: string): string {
  if (!IDENTIFIER.test(cluster))
    throw new Error(`cluster name ${JSON.stringify(cluster)} is not an identifier`)
  return cluster
}

/** The ZooKeeper/Keeper path and replica name of replicated tables, from the servers' macros. */
export const REPLICATION_PATH = "'/clickhouse/tables/{shard}/{database}/{table}', '{replica}'"

/**
 * One DDL statement for a cluster: `ON CLUSTER <name>` after the object of CREATE TABLE / VIEW /
 * DATABASE / ALTER TABLE / DROP and after the two tables of EXCHANGE TABLES, and `Replicated` MergeTree engines with the replication path
 * before their own arguments. Other statements are returned unchanged.
 */
export function forCluster(statement: string, cluster: string): string {
  const name = checkClusterName(cluster)
  const onCluster = ` ON CLUSTER ${name}`
  let sql = statement.replace(
    /^(\s*(?:CREATE\s+(?:OR\s+REPLACE\s+)?(?:TABLE|VIEW|MATERIALIZED\s+VIEW|DATABASE)(?:\s+IF\s+NOT\s+EXISTS)?|ALTER\s+TABLE|DROP\s+(?:TABLE|VIEW|DATABASE)(?:\s+IF\s+EXISTS)?)\s+[\w.${}`]+)/i,
    (head) => (/\sON\s+CLUSTER\s/i.test(statement) ? head : `${head}${onCluster}`),
  )
  // EXCHANGE TABLES a AND b: ON CLUSTER after both names.
  sql = sql.replace(/^(\s*EXCHANGE\s+TABLES\s+[\w.${}`]+\s+AND\s+[\w.${}`]+)/i, (head) =>
    /\sON\s+CLUSTER\s/i.test(statement) ? head : `${head}${onCluster}`,
  )
  sql = sql.replace(
    /ENGINE\s*=\s*(Replacing|Summing|Aggregating|Collapsing|VersionedCollapsing)?MergeTree(?:\s*\(([^)]*)\))?/i,
    (_match, kind: string | undefined, args: string | undefined) => {
      const own = args?.trim() ? `, ${args.trim()}` : ''
      return `ENGINE = Replicated${kind ?? ''}MergeTree(${REPLICATION_PATH}${own})`
    },
  )
  return sql
}
