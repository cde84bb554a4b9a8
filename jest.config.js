/** @type {import('jest').Config} */
module.exports = {
  preset: 'ts-jest',
  // Node, with the process's Float32Array (test/helpers/environment.js: onnxruntime's outputs).
  testEnvironment: '<rootDir>/test/helpers/environment.js',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', {}] },
  // Integration tests start real Orthanc processes; give them room but never hang forever.
  testTimeout: 120000,
  // nock patches globals that Jest's between-file cleanup would otherwise warn about.
  testEnvironmentOptions: { globalsCleanup: 'off' },
  // One temporary folder per run, removed at its end (test/helpers/tmpRoot.js).
  globalSetup: '<rootDir>/test/helpers/tmpRoot.js',
  globalTeardown: '<rootDir>/test/helpers/tmpTeardown.js',
};
