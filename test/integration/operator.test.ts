import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BridgeApp } from '../../src/app';
import { loadConfig } from '../../src/config';
import { listJobs } from '../../src/store/jobs';
import { makeCtStudy, makeMammoStudy, samplePatients } from '../fixtures/studies';
import { TestOrthanc, freePort, getJson, request, waitFor } from '../helpers/orthanc';
import { ADMIN_TOKEN, OPERATOR_TOKEN, TEST_SECRET, bearer } from '../helpers/samples';

const ARCHIVE_PASSWORD = 'archive-password-for-tests';
const clinical = new TestOrthanc('clinical');
const research = new TestOrthanc('research');
const archive = new TestOrthanc('research', {
  AuthenticationEnabled: true,
  RegisteredUsers: { bridge: ARCHIVE_PASSWORD },
});
const patients = samplePatients(3);

function env(dataDir: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    BRIDGE_SOURCE_URL: clinical.url,
    BRIDGE_RESEARCH_URL: research.url,
    BRIDGE_DEST_ARCHIVE_PASSWORD: ARCHIVE_PASSWORD,
    BRIDGE_DATA_DIR: dataDir,
    BRIDGE_SECRET: TEST_SECRET,
    BRIDGE_API_TOKEN: OPERATOR_TOKEN,
    BRIDGE_ADMIN_TOKEN: ADMIN_TOKEN,
    ...extra,
  };
}

function writeConfig(file: string, routes: unknown[]): void {
  writeFileSync(
    file,
    JSON.stringify({
      feed: { pollIntervalMs: 200 },
      destinations: { archive: { url: archive.url, username: 'bridge' } },
      profiles: { basic: { options: {} } },
      routes,
    }),
  );
}

async function upload(instances: Array<{ bytes: Buffer }>): Promise<string> {
  let id = '';
  for (const i of instances) id = (await clinical.upload(i.bytes)).ParentStudy;
  await clinical.waitStable([id]);
  return id;
}

beforeAll(async () => {
  await Promise.all([clinical.start(), research.start(), archive.start()]);
});
afterAll(async () => {
  await Promise.all([clinical.destroy(), research.destroy(), archive.destroy()]);
});

describe('operator surfaces', () => {
  it('routes by rule: skips a study no rule matches, sends mammography to two destinations with their own credentials and profiles', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bridge-routes-'));
    const cfgFile = path.join(dataDir, 'bridge.json');
    writeConfig(cfgFile, [
      { name: 'mammo-to-both', match: { modalities: ['MG'] }, destinations: ['research', 'archive'] },
      {
        name: 'old-ct-basic',
        match: { modalities: ['CT'], minPatientAgeYears: 60 },
        profile: 'basic',
        destinations: ['archive'],
      },
    ]);
    const ct = await upload(makeCtStudy(patients[0]!, { studyIndex: 1, studyDate: '20240101', slices: 2 })); // PatientAge 054Y
    const mg = await upload(makeMammoStudy(patients[0]!, { studyIndex: 2, studyDate: '20240102' }));
    const app = new BridgeApp(loadConfig({ env: env(dataDir), configPath: cfgFile }), { console: false });
    try {
      const summary = await app.runOnce();
      expect(summary.studies).toMatchObject({ done: 1, skipped: 1 });
      expect((await listJobs(app.db, { studyId: ct }))[0]).toMatchObject({
        state: 'skipped',
        reason: 'no routing rule matches this study',
      });
      expect((await listJobs(app.db, { studyId: mg }))[0]?.state).toBe('done');
    } finally {
      await app.stop();
    }
    expect((await research.get<string[]>('/instances')).length).toBe(4);
    expect((await archive.get<string[]>('/instances')).length).toBe(4);
    // One report per destination (one file used to be overwritten by the other), the audit CSV
    // says which destination each row is for, and each destination has its own export.
    for (const dest of ['research', 'archive']) {
      const audit = JSON.parse(
        readFileSync(path.join(dataDir, 'reports', 'studies', mg, `${dest}.json`), 'utf8'),
      ) as { route: string; destination: string };
      expect(audit).toMatchObject({ route: 'mammo-to-both', destination: dest });
      expect(readFileSync(path.join(dataDir, 'exports', mg, `${dest}.csv`), 'utf8')).toContain('pseudonym');
    }
    const csv = readFileSync(path.join(dataDir, 'reports', 'audit.csv'), 'utf8')
      .trim()
      .split('\r\n');
    const rows = csv.slice(1).filter((l) => l.startsWith(mg));
    expect(rows.map((l) => l.split(',')[1]).sort()).toEqual(['archive', 'research']);
  });

  it('records an instance as carried when the folder sink cannot write it: the push stands, the failure is logged', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bridge-sinkfail-'));
    const notADir = path.join(dataDir, 'sink-is-a-file');
    writeFileSync(notADir, 'x');
    const cfgFile = path.join(dataDir, 'bridge.json');
    writeFileSync(cfgFile, JSON.stringify({ research: { folderSink: { dir: notADir } } }));
    const study = await upload(
      makeCtStudy(patients[2]!, { studyIndex: 7, studyDate: '20240301', slices: 2 }),
    );
    const app = new BridgeApp(loadConfig({ env: env(dataDir), configPath: cfgFile }), { console: false });
    try {
      await app.queueStudy(study, 'api');
      const summary = await app.runOnce({ poll: false });
      expect(summary.studies).toMatchObject({ done: 1 });
      expect(await app.service.quarantine({ studyId: study })).toEqual([]);
      expect((await app.service.studyState(study)).state).toBe('done');
    } finally {
      await app.stop();
    }
    expect(readFileSync(path.join(dataDir, 'logs', 'bridge.log'), 'utf8')).toContain(
      'folder sink write failed; the instance is on research',
    );
  });

  it('refuses every protected route without a valid credential, admin routes to an operator, and logs no secret', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bridge-auth-'));
    // A failed guess penalises the address (tested in security.test.ts); this test makes many on
    // purpose, one route after another, so it runs without the penalty.
    const cfgFile = path.join(dataDir, 'fast.json');
    writeFileSync(cfgFile, JSON.stringify({ api: { failureDelayMs: 0, failureDelayMaxMs: 0 } }));
    const app = new BridgeApp(
      loadConfig({ env: env(dataDir, { BRIDGE_API_PORT: '0' }), configPath: cfgFile }),
      {
        console: false,
      },
    );
    await app.start();
    const api = app.apiAddress()!;
    const study = '00000000-00000000-00000000-00000000-00000000';
    const wrong = 'wrong-token-that-must-not-be-logged';
    try {
      const protectedRoutes: Array<[string, string]> = [
        ['GET', '/api/status'],
        ['GET', '/api/jobs'],
        ['GET', `/api/studies/${study}`],
        ['POST', `/api/studies/${study}/process`],
        ['GET', '/api/quarantine'],
        ['GET', '/api/quarantine/1'],
        ['POST', '/api/quarantine/1/release'],
        ['POST', '/api/quarantine/1/discard'],
        ['GET', '/api/reports'],
        ['GET', '/api/metadata'],
        ['GET', '/admin'],
        ['POST', '/admin/quarantine/1/release'],
        ['GET', '/metrics'],
      ];
      for (const [method, route] of protectedRoutes) {
        const none = await request(method, `${api}${route}`);
        expect([method, route, none.status]).toEqual([method, route, 401]);
        const bad = await request(method, `${api}${route}`, undefined, bearer(wrong));
        expect([method, route, bad.status]).toEqual([method, route, 401]);
      }
      for (const route of [
        '/api/quarantine/1/release',
        '/api/quarantine/1/discard',
        '/admin/quarantine/1/release',
      ]) {
        expect((await request('POST', `${api}${route}`, undefined, bearer(OPERATOR_TOKEN))).status).toBe(403);
      }
      expect(
        (await request('POST', `${api}/api/quarantine/1/release`, undefined, bearer(ADMIN_TOKEN))).status,
      ).toBe(404);
      expect((await request('GET', `${api}/healthz`)).status).toBe(200);
      expect((await request('GET', `${api}/api/status`, undefined, bearer(OPERATOR_TOKEN))).status).toBe(200);
      const basic = { Authorization: `Basic ${Buffer.from(`ops:${OPERATOR_TOKEN}`).toString('base64')}` };
      expect((await request('GET', `${api}/api/jobs`, undefined, basic)).status).toBe(200);
      // the admin form also needs the page's anti-CSRF token
      expect(
        (
          await request('POST', `${api}/admin/quarantine/1/release`, 'csrf=guess', {
            ...bearer(ADMIN_TOKEN),
            'Content-Type': 'application/x-www-form-urlencoded',
          })
        ).status,
      ).toBe(403);

      const metrics = (
        await request('GET', `${api}/metrics`, undefined, bearer(OPERATOR_TOKEN))
      ).body.toString();
      for (const name of [
        'bridge_instances_total',
        'bridge_stage_duration_seconds',
        'bridge_queue_depth',
        'bridge_quarantine_open',
        'bridge_change_feed_lag',
        'bridge_bytes_total',
      ]) {
        expect(metrics).toContain(`# TYPE ${name} `);
      }
    } finally {
      await app.stop();
    }
    const log = readFileSync(path.join(dataDir, 'logs', 'bridge.log'), 'utf8');
    expect(log).toContain('API access refused');
    for (const secret of [wrong, OPERATOR_TOKEN, ADMIN_TOKEN, TEST_SECRET, ARCHIVE_PASSWORD])
      expect(log).not.toContain(secret);
  });

  it('keeps running on the old config when SIGHUP brings a bad one, and takes a good one', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bridge-hup-'));
    const cfgFile = path.join(dataDir, 'bridge.json');
    writeConfig(cfgFile, [{ name: 'everything', match: {}, destinations: ['research'] }]);
    const port = await freePort();
    const cli = path.resolve(__dirname, '../../dist/cli.js');
    const child = spawn(process.execPath, [cli, 'run'], {
      env: {
        PATH: process.env.PATH,
        ...env(dataDir, { BRIDGE_CONFIG: cfgFile, BRIDGE_API_PORT: String(port) }),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    const api = `http://127.0.0.1:${port}`;
    const logText = (): string => readFileSync(path.join(dataDir, 'logs', 'bridge.log'), 'utf8');
    try {
      await waitFor('the daemon', async () => (await request('GET', `${api}/healthz`)).status === 200);
      writeFileSync(
        cfgFile,
        '{ "routes": [ { "name": "broken", "match": { "modalities": ["not a modality"] } } ] }',
      );
      child.kill('SIGHUP');
      await waitFor('the reload to be rejected', async () =>
        logText().includes('configuration reload rejected'),
      );
      expect(logText()).toMatch(/routes\.0\.match\.modalities\.0/);
      // still serving, still on the old rules: a new study is carried
      const a = await upload(makeCtStudy(patients[1]!, { studyIndex: 1, studyDate: '20240201', slices: 2 }));
      await waitFor('the old rules to carry the study', async () =>
        (await getJson<Array<{ state: string }>>(`${api}/api/jobs?study=${a}`, bearer(OPERATOR_TOKEN))).some(
          (j) => j.state === 'done',
        ),
      );
      // a valid config takes over for new jobs
      writeConfig(cfgFile, [
        { name: 'mammo-only', match: { modalities: ['MG'] }, destinations: ['research'] },
      ]);
      child.kill('SIGHUP');
      await waitFor('the reload', async () => logText().includes('configuration reloaded'));
      const b = await upload(makeCtStudy(patients[2]!, { studyIndex: 1, studyDate: '20240202', slices: 2 }));
      await waitFor('the new rules to skip the CT study', async () =>
        (
          await getJson<Array<{ state: string; reason: string }>>(
            `${api}/api/jobs?study=${b}`,
            bearer(OPERATOR_TOKEN),
          )
        ).some((j) => j.state === 'skipped' && j.reason === 'no routing rule matches this study'),
      );
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });
});
