/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', diagnostics: false }],
  },
  globalSetup: '<rootDir>/testkit/jest-global-setup.ts',
  globalTeardown: '<rootDir>/testkit/jest-global-teardown.ts',
  testTimeout: 60000,
  maxWorkers: 2,
};
