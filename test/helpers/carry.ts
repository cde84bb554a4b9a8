/**
 * One study through a real bridge with the default configuration: upload the files to the clinical
 * Orthanc, wait until Orthanc calls the study stable, run `bridge run --once` against the pair, and
 * hand back the bridge's data folder (its state database and logs) for the test to read.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BridgeApp } from '../../src/app';
import { loadConfig } from '../../src/config';
import type { TestOrthanc } from './orthanc';
import { TEST_SECRET } from './samples';

export async function carryStudy(
  clinical: TestOrthanc,
  research: TestOrthanc,
  files: readonly Buffer[],
  label: string,
): Promise<string> {
  let studyId = '';
  for (const bytes of files) studyId = (await clinical.upload(bytes)).ParentStudy;
  await clinical.waitStable([studyId]);
  const dataDir = mkdtempSync(path.join(os.tmpdir(), `bridge-${label}-`));
  await runBridgeOnce(clinical, research, dataDir);
  return dataDir;
}

/** The environment that points a bridge at a clinical/research pair, its state in `dataDir`. */
export function pairEnv(
  clinical: TestOrthanc,
  research: TestOrthanc,
  dataDir: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    BRIDGE_SOURCE_URL: clinical.url,
    BRIDGE_RESEARCH_URL: research.url,
    BRIDGE_DATA_DIR: dataDir,
    BRIDGE_SECRET: TEST_SECRET,
    ...extra,
  };
}

/** `bridge run --once` against the pair, with its state in `dataDir`; `poll: false` runs only the queued jobs. */
export async function runBridgeOnce(
  clinical: TestOrthanc,
  research: TestOrthanc,
  dataDir: string,
  opts: { poll?: boolean } = {},
): Promise<void> {
  const app = new BridgeApp(loadConfig({ env: pairEnv(clinical, research, dataDir) }), { console: false });
  try {
    await app.runOnce(opts);
  } finally {
    await app.stop();
  }
}
