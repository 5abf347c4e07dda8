import { defineConfig } from 'vitest/config'

// Unit tests live beside the code; integration and end-to-end tests under test/ run against
// the real Kafka broker and ClickHouse engine that test/setup/global-setup.ts provides.
export default defineConfig({
  test: {
    reporters: ['default'],
    projects: [
      {
        test: {
          name: 'unit',
          include: [
            'packages/*/src/**/*.test.ts',
            'services/*/src/**/*.test.ts',
            'schemas/src/**/*.test.ts',
            // Pure tests that span workspaces (no broker, no engine).
            'test/**/*.unit.test.ts',
          ],
          pool: 'threads',
          // Some pure tests simulate a day of events; on 2 cores beside the integration tests
          // they can take several seconds. A safety net, not a speed goal.
          testTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/**/*.int.test.ts', 'test/**/*.e2e.test.ts'],
          globalSetup: ['test/setup/global-setup.ts'],
          // One process per test file: the embedded engine allows one data directory per process.
          pool: 'forks',
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
})
