/**
 * One temporary folder for a whole test run (jest's globalSetup and globalTeardown): every
 * folder the tests make under os.tmpdir() (state folders of the bridges they start, Orthanc's and
 * PostgreSQL's storage, storescp's output, browser profiles) goes inside it, and it is removed when
 * the run ends, pass or fail. Before, a run left about a hundred folders of sample data in /tmp.
 * Set BRIDGE_KEEP_TEST_TMP=1 to keep it for a look after a failure.
 */
const { chmodSync, mkdtempSync, rmSync } = require('node:fs');
const os = require('node:os');
const path = require('node:path');

async function setup() {
  const root = mkdtempSync(path.join(os.tmpdir(), 'bridge-tests-'));
  // The test PostgreSQL runs as the postgres user in a folder of its own inside: it must pass through.
  chmodSync(root, 0o711);
  process.env.BRIDGE_TEST_TMP = root;
  // os.tmpdir() reads TMPDIR on each call; the test workers start after this, with this environment.
  process.env.TMPDIR = root;
}

async function teardown() {
  const root = process.env.BRIDGE_TEST_TMP;
  if (!root || process.env.BRIDGE_KEEP_TEST_TMP === '1') return;
  rmSync(root, { recursive: true, force: true, maxRetries: 3 });
}

// The setup is this module (jest's globalSetup); tmpTeardown.js hands jest the teardown.
module.exports = setup;
module.exports.teardown = teardown;
