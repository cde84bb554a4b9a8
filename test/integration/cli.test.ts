import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { makeCtStudy, samplePatients } from '../fixtures/studies';
import { TestOrthanc, freePort, getJson, request, waitFor } from '../helpers/orthanc';
import { OPERATOR_TOKEN, TEST_SECRET, bearer } from '../helpers/samples';

const CLI = path.resolve(__dirname, '../../dist/cli.js');
const clinical = new TestOrthanc('clinical');
const research = new TestOrthanc('research');
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bridge-cli-'));

function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    BRIDGE_SOURCE_URL: clinical.url,
    BRIDGE_RESEARCH_URL: research.url,
    BRIDGE_DATA_DIR: dataDir,
    BRIDGE_SECRET: TEST_SECRET,
    BRIDGE_POLL_INTERVAL_MS: '200',
    BRIDGE_API_TOKEN: OPERATOR_TOKEN,
    ...extra,
  };
}

function bridge(args: string[], extra: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    env: env(extra),
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function uploadStudy(patientIndex: number): Promise<string> {
  const p = samplePatients(patientIndex + 1)[patientIndex]!;
  let study = '';
  for (const inst of makeCtStudy(p, { studyIndex: 1, studyDate: '20240102', slices: 3 }))
    study = (await clinical.upload(inst.bytes)).ParentStudy;
  await clinical.waitStable([study]);
  return study;
}

beforeAll(async () => {
  await Promise.all([clinical.start(), research.start()]);
});
afterAll(async () => {
  await Promise.all([clinical.destroy(), research.destroy()]);
});

describe('bridge command line', () => {
  it('refuses to start without a secret and says which variable to set', () => {
    const r = bridge(['status'], { BRIDGE_SECRET: '' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/BRIDGE_SECRET or BRIDGE_SECRET_FILE is required/);
  });

  it('names the bad setting and where it came from', () => {
    const r = bridge(['status'], { BRIDGE_RESEARCH_URL: 'ftp://nowhere' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/research\.url: .*\(from BRIDGE_RESEARCH_URL\)/);
  });

  it('run --once catches up, prints a summary and exits 0; status counts the job', async () => {
    await uploadStudy(0);
    const r = bridge(['run', '--once']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^bridge: 1 studies \(done 1, quarantined 0, failed 0, skipped 0\); instances pushed 3,/,
    );
    const s = bridge(['status', '--json']);
    expect(s.code).toBe(0);
    expect(JSON.parse(s.stdout)).toMatchObject({
      jobs: { done: 1 },
      quarantinedInstances: 0,
      feed: { lag: 0 },
    });
    expect(bridge(['status']).stdout).toMatch(/^jobs: queued 0, running 0, done 1/);
  });

  it('prints audit reports, the metadata export, quarantine and consistency', () => {
    const report = bridge(['report', '--format', 'csv']);
    expect(report.code).toBe(0);
    const lines = report.stdout.trim().split('\r\n');
    expect(lines[0]).toMatch(/^sourceStudyId,destination,route,researchStudyId,pseudonym,state,/);
    expect(lines).toHaveLength(2);
    expect(JSON.parse(bridge(['report', '--since', '2000-01-01']).stdout)).toHaveLength(1);
    expect(bridge(['report', '--since', 'yesterday-ish']).code).toBe(1);
    const exp = bridge(['export-metadata', '--format', 'csv']);
    expect(exp.stdout.split('\r\n')[0]).toBe(
      'pseudonym,researchStudyId,researchInstanceId,Modality,ImageLaterality,ViewPosition,StudyDate,BodyPartExamined,Manufacturer,SeriesDescription,InstanceNumber,Rows,Columns',
    );
    expect(exp.stdout.trim().split('\r\n')).toHaveLength(4);
    expect(bridge(['quarantine', 'list']).stdout).toMatch(/^0 entries/);
    expect(bridge(['quarantine', 'release', '99']).code).toBe(1);
    const consistency = bridge(['check-consistency']);
    expect(consistency.stdout).toMatch(/0 inconsistent studies/);
    expect(consistency.code).toBe(0);
    expect(bridge(['reprocess']).stderr).toMatch(/exactly one of --study, --patient, --all/);
  });

  it('run --once exits non-zero when a study cannot be finished', async () => {
    await uploadStudy(2);
    const fastRetries = path.join(dataDir, 'fast-retries.json');
    writeFileSync(
      fastRetries,
      JSON.stringify({ pipeline: { maxAttempts: 2, retryBaseMs: 50, retryMaxMs: 100 } }),
    );
    const r = bridge(['run', '--once', '--config', fastRetries], {
      BRIDGE_RESEARCH_URL: `http://127.0.0.1:${await freePort()}`,
    });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/failed 1/);
  });

  it('process <id> carries one study across now', async () => {
    const study = (await getJson<string[]>(`${clinical.url}/studies`))[0]!;
    const r = bridge(['process', study]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/1 studies \(done 1/);
    expect(bridge(['process', '00000000-00000000-00000000-00000000-00000000']).code).toBe(1);
  });

  it('run follows the change log as a daemon and shuts down cleanly on SIGTERM', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, [CLI, 'run'], {
      env: env({ BRIDGE_API_PORT: String(port) }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const api = `http://127.0.0.1:${port}`;
      await waitFor('the API', async () => (await request('GET', `${api}/healthz`)).status === 200);
      const study = await uploadStudy(1);
      await waitFor('the daemon to carry the new study', async () => {
        const jobs = await getJson<Array<{ studyId: string; state: string }>>(
          `${api}/api/jobs?study=${study}`,
          bearer(OPERATOR_TOKEN),
        );
        return jobs.some((j) => j.state === 'done');
      });
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });
});
