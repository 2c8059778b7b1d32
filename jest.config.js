/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // The cluster suite starts PostgreSQL, the Temporal Server, nginx and four processes: `npm run test:cluster` runs it.
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/cluster/'],
  // swc strips types only; `npm run typecheck` (tsc) is the type check, run before jest by `npm test`.
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } } }] },
  testTimeout: 120_000,
  maxWorkers: 2,
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
};
