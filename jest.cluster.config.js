// `npm run test:cluster`: the suites that run on the production shape (scripts/cluster/start-cluster.ts), one at a time.
const base = require('./jest.config');

/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: base.testEnvironment,
  transform: base.transform,
  roots: ['<rootDir>/test/cluster'],
  testMatch: ['**/*.test.ts'],
  // Each suite starts its own cluster (PostgreSQL, Temporal Server, nginx, four certflow processes): one at a time.
  maxWorkers: 1,
  testTimeout: 600_000,
};
