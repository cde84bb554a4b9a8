import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BridgeApp } from '../../src/app';
import { loadConfig } from '../../src/config';
import { listJobs } from '../../src/store/jobs';
import {
  makeCtStudy,
  makeMammoStudy,
  plantedValues,
  samplePatients,
  type SampleInstance,
} from '../fixtures/studies';
import { TestOrthanc, freePort, request, waitFor } from '../helpers/orthanc';
import { ADMIN_TOKEN, OPERATOR_TOKEN, TEST_SECRET, bearer } from '../helpers/samples';

const CLI = path.resolve(__dirname, '../../dist/cli.js');
const clinical = new TestOrthanc('clinical', { Plugins: [], StableAge: 2 });
const research = new TestOrthanc('research');
const patients = samplePatients(4);

function env(dataDir: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    BRIDGE_SOURCE_URL: clinical.url,
    BRIDGE_RESEARCH_URL: research.url,
    BRIDGE_DATA_DIR: dataDir,
    BRIDGE_SECRET: TEST_SECRET,
    BRIDGE_POLL_INTERVAL_MS: '100',
    BRIDGE_API_TOKEN: OPERATOR_TOKEN,
    BRIDGE_ADMIN_TOKEN: ADMIN_TOKEN,
    ...extra,
  };
}

function fastConfig(dataDir: string, more: Record<string, unknown> = {}): string {
  const file = path.join(dataDir, 'faults.json');
  writeFileSync(
    file,
    JSON.stringify({ pipeline: { retryBaseMs: 100, retryMaxMs: 400, maxAttempts: 50 }, ...more }),
  );
  return file;
}

async function upload(instances: SampleInstance[]): Promise<string> {
  let id = '';
  for (const i of instances) id = (await clinical.upload(i.bytes)).ParentStudy;
  return id;
}

beforeAll(async () => {
  await Promise.all([clinical.start(), research.start()]);
});
afterAll(async () => {
  await Promise.all([clinical.destroy(), research.destroy()]);
});

describe('faults', () => {
  it('waits out a research outage with capped backoff, loses no job and does not spin', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bridge-outage-'));
    const study = await upload(
      makeCtStudy(patients[0]!, { studyIndex: 1, studyDate: '20240801', slices: 4 }),
    );
    await clinical.waitStable([study]);
    await research.stop();
    const app = new BridgeApp(loadConfig({ env: env(dataDir), configPath: fastConfig(dataDir) }), {
      console: false,
    });
    const run = app.runOnce();
    await waitFor('a retry to be scheduled', async () =>
      (await listJobs(app.db, { studyId: study }))[0]?.reason?.includes('ECONNREFUSED'),
    );
    await research.start();
    const summary = await run;
    await app.stop();
    // The summary counts the last attempt: instances pushed by an earlier one count as unchanged.
    expect(summary).toMatchObject({ ok: true, studies: { done: 1 } });
    expect(summary.instances.pushed + summary.instances.skipped).toBe(4);
    expect(summary.instances.pushed).toBeGreaterThan(0);
    const log = readFileSync(path.join(dataDir, 'logs', 'bridge.log'), 'utf8');
    const retries = log.split('\n').filter((l) => l.includes('study will be retried')).length;
    expect(retries).toBeGreaterThan(0);
    expect(retries).toBeLessThan(40); // backoff, not a hot loop
  });

  it('pushes only the new instances when a study grows after it was processed', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bridge-grow-'));
    const all = makeCtStudy(patients[1]!, { studyIndex: 1, studyDate: '20240802', slices: 6 });
    const study = await upload(all.slice(0, 4));
    await clinical.waitStable([study]);
    const app = new BridgeApp(loadConfig({ env: env(dataDir), configPath: fastConfig(dataDir) }), {
      console: false,
    });
    try {
      expect((await app.runOnce()).instances.pushed).toBe(4);
      await upload(all.slice(4));
      await clinical.waitStable([study]);
      const second = await app.runOnce();
      expect(second.instances).toMatchObject({ pushed: 2, skipped: 4 });
    } finally {
      await app.stop();
    }
  });

  it('catches with the reconcile sweep a study whose StableStudy was lost to a clinical restart', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bridge-reconcile-'));
    const port = await freePort();
    // Upload and restart the clinical Orthanc before the study becomes stable: StableStudy never comes.
    const study = await upload(
      makeCtStudy(patients[2]!, { studyIndex: 1, studyDate: '20240803', slices: 3 }),
    );
    await clinical.kill(); // a crash: the unstable study's StableStudy is never logged
    await clinical.start();
    const child = spawn(
      process.execPath,
      [CLI, 'run', '--config', fastConfig(dataDir, { schedules: { reconcile: '*/1 * * * * *' } })],
      {
        env: {
          PATH: process.env.PATH,
          TMPDIR: process.env.TMPDIR,
          ...env(dataDir, { BRIDGE_API_PORT: String(port) }),
        },
        stdio: 'ignore',
      },
    );
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      await waitFor(
        'the reconcile sweep to carry the study',
        async () => {
          const r = await request(
            'GET',
            `http://127.0.0.1:${port}/api/jobs?study=${study}`,
            undefined,
            bearer(OPERATOR_TOKEN),
          );
          const jobs =
            r.status === 200
              ? (JSON.parse(r.body.toString()) as Array<{ trigger: string; state: string }>)
              : [];
          return jobs.some((j) => j.trigger === 'reconcile' && j.state === 'done');
        },
        60_000,
        200,
      );
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });

  it('stops within a bounded time on SIGTERM mid-study, and the next start resumes it', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bridge-term-'));
    const study = await upload(
      makeCtStudy(patients[3]!, { studyIndex: 1, studyDate: '20240804', slices: 40, size: 256 }),
    );
    await clinical.waitStable([study]);
    const port = await freePort();
    const child = spawn(process.execPath, [CLI, 'run', '--config', fastConfig(dataDir)], {
      env: {
        PATH: process.env.PATH,
        TMPDIR: process.env.TMPDIR,
        ...env(dataDir, { BRIDGE_API_PORT: String(port), BRIDGE_CONCURRENCY: '1' }),
      },
      stdio: 'ignore',
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const before = (await research.get<string[]>('/instances')).length;
    await waitFor(
      'the study to be under way',
      async () => (await research.get<string[]>('/instances')).length > before,
    );
    const t0 = Date.now();
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(Date.now() - t0).toBeLessThan(15_000);
    const app = new BridgeApp(loadConfig({ env: env(dataDir), configPath: fastConfig(dataDir) }), {
      console: false,
    });
    try {
      // (the daemon read the whole change log, so other studies of this file may finish here too)
      expect((await app.runOnce()).ok).toBe(true);
      const job = (await listJobs(app.db, { studyId: study }))[0]!;
      expect(job.state).toBe('done');
      expect((await research.get<string[]>(`/studies/${job.researchStudyId}/instances`)).length).toBe(40);
    } finally {
      await app.stop();
    }
  });

  it('stops with a clear message when its state database is corrupted, and changes nothing', () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bridge-corrupt-'));
    writeFileSync(path.join(dataDir, 'bridge.sqlite'), Buffer.alloc(8192, 0x5a));
    const r = spawnSync(process.execPath, [CLI, 'status'], {
      env: { PATH: process.env.PATH, TMPDIR: process.env.TMPDIR, ...env(dataDir) },
      encoding: 'utf8',
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/the state database in .* cannot be opened: file is not a database/);
    expect(readFileSync(path.join(dataDir, 'bridge.sqlite')).equals(Buffer.alloc(8192, 0x5a))).toBe(true);
  });

  it('lets no planted value out: logs, reports, exports, API answers and the admin page', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bridge-nophi-'));
    const app = new BridgeApp(
      loadConfig({
        env: env(dataDir, { BRIDGE_API_PORT: '0', BRIDGE_LOG_LEVEL: 'debug' }),
        configPath: fastConfig(dataDir),
      }),
      { console: false },
    );
    await app.start();
    const texts: string[] = [];
    try {
      const mine: string[] = [];
      for (const p of samplePatients(6).slice(4)) {
        mine.push(await upload(makeCtStudy(p, { studyIndex: 1, studyDate: '20240805', slices: 3 })));
        mine.push(await upload(makeMammoStudy(p, { studyIndex: 2, studyDate: '20240806' })));
      }
      await clinical.waitStable(mine);
      for (const id of mine) await app.queueStudy(id, 'api');
      await waitFor(
        'the bridge to carry the studies',
        async () => {
          for (const id of mine)
            if (!(await listJobs(app.db, { studyId: id })).some((j) => j.state === 'done')) return false;
          return true;
        },
        90_000,
        200,
      );
      const api = app.apiAddress()!;
      for (const route of [
        '/api/status',
        '/api/jobs?limit=1000',
        '/api/quarantine?all=1',
        '/api/reports',
        '/api/reports?format=csv',
        '/api/metadata',
        '/api/metadata?format=csv',
        '/admin',
        '/metrics',
        '/healthz',
      ]) {
        const r = await request('GET', `${api}${route}`, undefined, bearer(ADMIN_TOKEN));
        expect([route, r.status]).toEqual([route, 200]);
        texts.push(r.body.toString('utf8'));
      }
      for (const s of await clinical.get<string[]>('/studies')) {
        texts.push(
          (await request('GET', `${api}/api/studies/${s}`, undefined, bearer(OPERATOR_TOKEN))).body.toString(
            'utf8',
          ),
        );
      }
      // errors too: a refused credential and a bad request
      texts.push(
        (
          await request('GET', `${api}/api/jobs`, undefined, bearer('wrong-credential-xxxxxxxx'))
        ).body.toString(),
      );
      texts.push(
        (
          await request('POST', `${api}/api/studies/bad/process`, undefined, bearer(OPERATOR_TOKEN))
        ).body.toString(),
      );
    } finally {
      await app.stop();
    }
    const walk = (d: string): void => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        const full = path.join(d, e.name);
        if (e.isDirectory()) walk(full);
        else texts.push(readFileSync(full).toString('latin1'), readFileSync(full).toString('utf8'));
      }
    };
    walk(dataDir);
    const planted = patients
      .flatMap((p) => [...plantedValues(p, 1), ...plantedValues(p, 2)])
      .map((v) => v.toLowerCase());
    for (const secret of [TEST_SECRET, OPERATOR_TOKEN, ADMIN_TOKEN]) planted.push(secret.toLowerCase());
    expect(texts.length).toBeGreaterThan(15);
    for (const t of texts) {
      const lower = t.toLowerCase();
      expect(planted.filter((v) => lower.includes(v))).toEqual([]);
    }
  });

  it('stops with a clear message when its state database is full, and a restart loses and duplicates nothing', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bridge-full-'));
    const cfg = loadConfig({ env: env(dataDir), configPath: fastConfig(dataDir) });
    const p = samplePatients(8)[7]!;
    const a = await upload(makeCtStudy(p, { studyIndex: 1, studyDate: '20240810', slices: 3 }));
    await clinical.waitStable([a]);
    const first = new BridgeApp(cfg, { console: false });
    try {
      await first.runOnce(); // whatever the change log holds, up to study a
    } finally {
      await first.stop();
    }
    // enough instances that their rows need new pages
    const b = await upload(makeCtStudy(p, { studyIndex: 2, studyDate: '20240811', slices: 60, size: 16 }));
    await clinical.waitStable([b]);
    const full = new BridgeApp(cfg, { console: false });
    try {
      // The database may not grow by a single page: the same SQLITE_FULL a full disk gives.
      await full.db.run('CREATE TABLE IF NOT EXISTS test_filler (x BLOB)');
      const pages = (await full.db.get<{ page_count: number }>('PRAGMA page_count'))!.page_count;
      await full.db.run(`PRAGMA max_page_count = ${pages}`);
      for (let i = 0; i < 10_000; i++) {
        try {
          await full.db.run('INSERT INTO test_filler VALUES (randomblob(512))');
        } catch {
          break; // no free page left
        }
      }
      await expect(full.runOnce()).rejects.toThrow(/state database in .* cannot be written \(SQLITE_FULL/);
    } finally {
      await full.stop().catch(() => undefined);
    }
    const again = new BridgeApp(cfg, { console: false });
    let pseudonym: string | null | undefined;
    try {
      expect((await again.runOnce()).ok).toBe(true);
      for (const id of [a, b]) expect((await listJobs(again.db, { studyId: id }))[0]?.state).toBe('done');
      pseudonym = (await listJobs(again.db, { studyId: b }))[0]?.pseudonym;
    } finally {
      await again.stop();
    }
    // exactly the source instances, once: a study of 3 and one of 60 under the patient's pseudonym
    const onResearch =
      await research.get<Array<{ ID: string; PatientMainDicomTags: { PatientID: string } }>>(
        '/studies?expand',
      );
    const counts: number[] = [];
    for (const st of onResearch.filter((x) => x.PatientMainDicomTags.PatientID === pseudonym)) {
      counts.push((await research.get<string[]>(`/studies/${st.ID}/instances`)).length);
    }
    expect(counts.sort((x, y) => x - y)).toEqual([3, 60]);
  });
});
