/**
 * `bridge doctor` on real servers: a clinical Orthanc with the Explorer plugin, a research Orthanc
 * with a password, the bridge API running. Everything in place: exit 0. Then every first-run fault
 * of issue 24 at once (a wrong Orthanc password, a clinical Orthanc without the plugin's token, a
 * destination nobody listens on, a world-readable secret file, a state database of an older
 * schema): all reported in one run, each with its fix, exit 1.
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { BridgeApp } from '../../src/app';
import { loadConfig } from '../../src/config';
import type { Finding } from '../../src/doctor';
import { TestOrthanc, freePort } from '../helpers/orthanc';
import { ADMIN_TOKEN, OPERATOR_TOKEN, TEST_SECRET } from '../helpers/samples';

const CLI = path.resolve(__dirname, '../../dist/cli.js');
const RESEARCH_USER = { doctor: 'research-password-for-the-doctor-test' };
let apiPort = 0;
let clinical: TestOrthanc;
let tokenless: TestOrthanc;
const research = new TestOrthanc('research', { AuthenticationEnabled: true, RegisteredUsers: RESEARCH_USER });
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bridge-doctor-'));
let app: BridgeApp;

function env(extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    BRIDGE_SOURCE_URL: clinical.url,
    BRIDGE_RESEARCH_URL: research.url,
    BRIDGE_RESEARCH_USERNAME: 'doctor',
    BRIDGE_RESEARCH_PASSWORD: RESEARCH_USER.doctor,
    BRIDGE_DATA_DIR: dataDir,
    BRIDGE_SECRET: TEST_SECRET,
    BRIDGE_API_PORT: String(apiPort),
    BRIDGE_API_TOKEN: OPERATOR_TOKEN,
    BRIDGE_ADMIN_TOKEN: ADMIN_TOKEN,
    ...extra,
  };
}

/** Runs `bridge doctor --json` as its own process, without blocking this one (the bridge API answers the plugin from here). */
async function doctor(e: Record<string, string>, args: string[] = []) {
  const child = spawn(process.execPath, [CLI, 'doctor', '--json', ...args], { env: e, timeout: 60_000 });
  let stdout = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const out = JSON.parse(stdout || '{"findings":[]}') as { ok: boolean; findings: Finding[] };
  return { code, ok: out.ok, findings: out.findings };
}

const problems = (findings: readonly Finding[]) => findings.filter((f) => !f.ok);

beforeAll(async () => {
  apiPort = await freePort();
  const bridge = { ResearchBridge: { Url: `http://127.0.0.1:${apiPort}`, ExplorerMetadataKey: 1025 } };
  clinical = new TestOrthanc('clinical', bridge, { RESEARCH_BRIDGE_TOKEN: OPERATOR_TOKEN });
  tokenless = new TestOrthanc('clinical', bridge);
  await Promise.all([clinical.start(), tokenless.start(), research.start()]);
  app = new BridgeApp(loadConfig({ env: env() }), { console: false });
  await app.start();
});

afterAll(async () => {
  await app?.stop();
  await Promise.all([clinical.destroy(), tokenless.destroy(), research.destroy()]);
});

describe('bridge doctor', () => {
  it('exits 0 when everything a run needs is in place, and says what it found', async () => {
    const r = await doctor(env());
    expect(problems(r.findings)).toEqual([]);
    expect(r.code).toBe(0);
    const checks = r.findings.map((f) => f.check);
    for (const c of [
      'configuration',
      'clinical Orthanc',
      'research Orthanc',
      'Explorer plugin',
      'state store',
      'data folder space',
    ])
      expect(checks).toContain(c);
    expect(r.findings.find((f) => f.check === 'research Orthanc')?.detail).toMatch(
      /^Orthanc 1\.\d+\.\d+ at /,
    );
    expect(r.findings.find((f) => f.check === 'clinical clock')?.ok).toBe(true);
  });

  it('reports a wrong password, a missing plugin token, an unreachable destination, a readable secret and a stale schema, all at once', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bridge-doctor-faults-'));
    // A state database two schema versions behind this bridge's.
    const db = new Database(path.join(dir, 'bridge.sqlite'));
    db.pragma('user_version = 2');
    db.close();
    const secretFile = path.join(dir, 'secret');
    writeFileSync(secretFile, TEST_SECRET);
    chmodSync(secretFile, 0o644);
    const config = path.join(dir, 'bridge.json');
    const closed = await freePort();
    writeFileSync(
      config,
      JSON.stringify({ destinations: { archive: { url: `http://127.0.0.1:${closed}` } } }),
    );
    const { BRIDGE_SECRET: _inline, ...rest } = env();
    const r = await doctor(
      {
        ...rest,
        BRIDGE_SECRET_FILE: secretFile,
        BRIDGE_SOURCE_URL: tokenless.url,
        BRIDGE_RESEARCH_PASSWORD: 'not-the-password',
        BRIDGE_DATA_DIR: dir,
      },
      ['--config', config],
    );
    expect(r.code).toBe(1);
    const byCheck = Object.fromEntries(problems(r.findings).map((f) => [f.check, f]));
    expect(byCheck['research Orthanc']?.detail).toMatch(/refused the configured username or password/);
    expect(byCheck['archive Orthanc']?.detail).toMatch(/cannot be reached/);
    expect(byCheck['Explorer plugin']?.detail).toMatch(/this Orthanc has no token for the bridge/);
    expect(byCheck['Explorer plugin']?.fix).toMatch(/RESEARCH_BRIDGE_TOKEN/);
    expect(byCheck['secrets and tokens']?.detail).toMatch(/can be read by other accounts \(mode 644\)/);
    expect(byCheck['state store']?.detail).toMatch(
      /schema version 2; this bridge's is \d+ \(a stale migration\)/,
    );
    for (const f of problems(r.findings)) expect(f.fix).toBeTruthy();
    // No secret in what it printed.
    const printed = JSON.stringify(r.findings);
    for (const secret of [TEST_SECRET, OPERATOR_TOKEN, ADMIN_TOKEN, RESEARCH_USER.doctor])
      expect(printed).not.toContain(secret);
  });

  it('reports a configuration that cannot be read, with the setting named, and exits 1', async () => {
    const { BRIDGE_SECRET: _inline, ...rest } = env();
    const r = await doctor(rest);
    expect(r.code).toBe(1);
    expect(r.findings).toEqual([
      expect.objectContaining({
        check: 'configuration',
        ok: false,
        detail: expect.stringMatching(/BRIDGE_SECRET/),
      }),
    ]);
  });
});
