import { readdir, readFile } from 'node:fs/promises'
import path from 'node:path'
import { clickhouseMigrationsDir } from '@cpi/schemas'
import { describe, expect, it } from 'vitest'
import { checkClusterName, forCluster, REPLICATION_PATH } from './cluster.ts'
import { parseMigration } from './migrations.ts'

describe('forCluster', () => {
  it('puts ON CLUSTER after the object and replicates MergeTree engines, keeping their arguments', () => {
    expect(
      forCluster(
        'CREATE TABLE IF NOT EXISTS cpi.outcomes\n(\n  a String\n)\nENGINE = ReplacingMergeTree(version)\nORDER BY a',
        'c1',
      ),
    ).toBe(
      `CREATE TABLE IF NOT EXISTS cpi.outcomes ON CLUSTER c1\n(\n  a String\n)\nENGINE = ReplicatedReplacingMergeTree(${REPLICATION_PATH}, version)\nORDER BY a`,
    )
    expect(
      forCluster('CREATE TABLE IF NOT EXISTS cpi.e (a String) ENGINE = ReplacingMergeTree ORDER BY a', 'c1'),
    ).toBe(
      `CREATE TABLE IF NOT EXISTS cpi.e ON CLUSTER c1 (a String) ENGINE = ReplicatedReplacingMergeTree(${REPLICATION_PATH}) ORDER BY a`,
    )
    expect(forCluster('CREATE TABLE t (a String) ENGINE = MergeTree() ORDER BY a', 'c1')).toBe(
      `CREATE TABLE t ON CLUSTER c1 (a String) ENGINE = ReplicatedMergeTree(${REPLICATION_PATH}) ORDER BY a`,
    )
    expect(forCluster('CREATE OR REPLACE VIEW cpi.v AS SELECT 1', 'c1')).toBe(
      'CREATE OR REPLACE VIEW cpi.v ON CLUSTER c1 AS SELECT 1',
    )
    expect(forCluster('ALTER TABLE cpi.events ADD COLUMN IF NOT EXISTS x UInt8', 'c1')).toBe(
      'ALTER TABLE cpi.events ON CLUSTER c1 ADD COLUMN IF NOT EXISTS x UInt8',
    )
    expect(forCluster('CREATE DATABASE IF NOT EXISTS cpi', 'c1')).toBe(
      'CREATE DATABASE IF NOT EXISTS cpi ON CLUSTER c1',
    )
    expect(
      forCluster('CREATE TABLE IF NOT EXISTS `cpi`.`x` (a String) ENGINE = MergeTree ORDER BY a', 'c1'),
    ).toBe(
      `CREATE TABLE IF NOT EXISTS \`cpi\`.\`x\` ON CLUSTER c1 (a String) ENGINE = ReplicatedMergeTree(${REPLICATION_PATH}) ORDER BY a`,
    )
    // Not DDL, or already on a cluster: unchanged.
    expect(forCluster('SELECT 1', 'c1')).toBe('SELECT 1')
    expect(forCluster('ALTER TABLE t ON CLUSTER other DROP COLUMN x', 'c1')).toBe(
      'ALTER TABLE t ON CLUSTER other DROP COLUMN x',
    )
  })

  it('refuses a cluster name that is not an identifier', () => {
    expect(() => checkClusterName("c1'; DROP")).toThrow('is not an identifier')
    expect(checkClusterName('prod_cluster')).toBe('prod_cluster')
  })

  it("rewrites every statement of the project's migrations: each DDL on the cluster, each table replicated", async () => {
    const files = (await readdir(clickhouseMigrationsDir)).filter((file) => file.endsWith('.sql')).sort()
    expect(files.length).toBeGreaterThanOrEqual(5)
    let ddl = 0
    for (const file of files) {
      const migration = parseMigration(
        file,
        await readFile(path.join(clickhouseMigrationsDir, file), 'utf8'),
        'cpi',
      )
      for (const statement of migration.statements) {
        const rewritten = forCluster(statement, 'c1')
        if (/^\s*(CREATE|ALTER|DROP|EXCHANGE)\s/i.test(statement)) {
          ddl++
          expect(rewritten, `${file}: ${statement.slice(0, 60)}`).toMatch(
            /^\s*\S+(\s+\S+)*?\s+ON CLUSTER c1(?:[\s(]|$)/,
          )
        }
        if (/ENGINE\s*=/.test(statement)) {
          expect(rewritten, file).toMatch(/ENGINE = Replicated\w*MergeTree\('\/clickhouse\/tables\//)
          expect(rewritten, file).not.toMatch(/ENGINE = (Replacing|Summing)?MergeTree/)
        }
      }
    }
    expect(ddl).toBeGreaterThanOrEqual(10)
  })
})
