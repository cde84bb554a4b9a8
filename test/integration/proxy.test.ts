import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BridgeApp } from '../../src/app';
import { loadConfig } from '../../src/config';
import { makeMammoStudy, samplePatients } from '../fixtures/studies';
import { TestOrthanc } from '../helpers/orthanc';
import { FaultyProxy } from '../helpers/proxy';
import { TEST_SECRET } from '../helpers/samples';

const clinical = new TestOrthanc('clinical', { Plugins: [] });
const research = new TestOrthanc('research');
let proxy: FaultyProxy;
let proxied = '';

beforeAll(async () => {
  await Promise.all([clinical.start(), research.start()]);
  proxy = new FaultyProxy(clinical.port);
  proxied = await proxy.start();
});
afterAll(async () => {
  await proxy.stop();
  await Promise.all([clinical.destroy(), research.destroy()]);
});

async function runThroughProxy(mode: 'cut' | 'stall', patient: number): Promise<void> {
  const p = samplePatients(patient + 1)[patient]!;
  let study = '';
  for (const i of makeMammoStudy(p, {
    studyIndex: 1,
    studyDate: '20240901',
    mammoRows: 256,
    mammoColumns: 256,
  }))
    study = (await clinical.upload(i.bytes)).ParentStudy;
  await clinical.waitStable([study]);
  const before = (await research.get<string[]>('/instances')).length;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), `bridge-proxy-${mode}-`));
  const cfgFile = path.join(dataDir, 'c.json');
  writeFileSync(
    cfgFile,
    JSON.stringify({
      source: { url: proxied, timeoutMs: 1000 },
      pipeline: { retryBaseMs: 50, retryMaxMs: 200, maxAttempts: 20, concurrency: 1 },
    }),
  );
  proxy.mode = mode;
  proxy.cutAfterBytes = 20_000; // in the middle of a 128 KB file
  proxy.faults = 3;
  proxy.misbehaved = 0;
  const app = new BridgeApp(
    loadConfig({
      env: { BRIDGE_RESEARCH_URL: research.url, BRIDGE_DATA_DIR: dataDir, BRIDGE_SECRET: TEST_SECRET },
      configPath: cfgFile,
    }),
    { console: false },
  );
  try {
    const summary = await app.runOnce();
    expect(summary.ok).toBe(true); // (a fresh state reads the whole change log: earlier studies too)
  } finally {
    await app.stop();
  }
  expect(proxy.misbehaved).toBeGreaterThan(0);
  expect((await research.get<string[]>('/instances')).length - before).toBe(4);
}

describe('broken connections to a real Orthanc', () => {
  it('retries transfers cut mid-file by a proxy and still carries every instance once', async () => {
    await runThroughProxy('cut', 0);
  });

  it('times out transfers that stall mid-file and still carries every instance once', async () => {
    await runThroughProxy('stall', 1);
  });
});
