/**
 * Several bridge replicas (real `bridge run` processes) sharing their state in a real PostgreSQL 15
 * started for the test, between real clinical and research Orthanc servers. Each scenario starts
 * from an empty state database and empty destinations (the research Orthanc and, beside it, a
 * DICOMweb server: a second Orthanc with Debian's DICOMweb plugin, confirmed by WADO-RS and MD5),
 * and ends with every source instance once on each, one final audit record per study and
 * destination, and the same pseudonyms whichever replica carried a patient's studies.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { deriveKeys, mapUid, pseudonymFor } from '../../src/deid/keys';
import {
  makeCtStudy,
  makeMammoStudy,
  plantedValues,
  samplePatients,
  type SamplePatient,
} from '../fixtures/studies';
import { TestOrthanc, request, waitFor } from '../helpers/orthanc';
import { addressParts } from '../../src/store/postgres';
import { TestPostgres } from '../helpers/postgres';
import { TEST_SECRET } from '../helpers/samples';

const CLI = path.resolve(__dirname, '../../dist/cli.js');
const TOKEN = 'replica-test-operator-token-0123456789';
// Short leases keep the suite fast; REPLICA_TEST_LEASE_MS=30000 measures the takeover at the default.
const LEASE_MS = Number(process.env.REPLICA_TEST_LEASE_MS ?? 3_000);
const pg = new TestPostgres();
const clinical = new TestOrthanc('clinical', { Plugins: [] });
const patients: SamplePatient[] = samplePatients(4);
const expectedSops: string[] = [];
let sourceStudies: string[] = [];

const DICOMWEB_PLUGIN = '/usr/share/orthanc/plugins/libOrthancDicomWeb.so';

interface Scenario {
  readonly url: string;
  readonly research: TestOrthanc;
  /** The DICOMweb destination every study is routed to beside research. */
  readonly web: TestOrthanc;
  /** The config file naming it: destinations.web (kind dicomweb), one route to both. */
  readonly config: string;
  readonly replicas: Map<string, ChildProcess>;
  readonly exited: Map<string, Promise<number | null>>;
}

function startReplica(s: Scenario, id: string, source: TestOrthanc = clinical): ChildProcess {
  const child = spawn(process.execPath, [CLI, 'run'], {
    env: {
      PATH: process.env.PATH,
      BRIDGE_SOURCE_URL: source.url,
      BRIDGE_RESEARCH_URL: s.research.url,
      BRIDGE_CONFIG: s.config,
      BRIDGE_DATA_DIR: mkdtempSync(path.join(os.tmpdir(), `bridge-replica-${id}-`)),
      BRIDGE_SECRET: TEST_SECRET,
      BRIDGE_STATE_URL: s.url,
      BRIDGE_STATE_PASSWORD: pg.password,
      BRIDGE_REPLICA_ID: id,
      BRIDGE_REPLICA_LEASE_MS: String(LEASE_MS),
      BRIDGE_REPLICA_HEARTBEAT_MS: String(Math.round(LEASE_MS / 6)),
      BRIDGE_POLL_INTERVAL_MS: '200',
      BRIDGE_CONCURRENCY: '2',
      BRIDGE_STUDY_CONCURRENCY: '1',
      BRIDGE_API_PORT: '0',
      BRIDGE_API_TOKEN: TOKEN,
    },
    stdio: 'ignore',
  });
  s.replicas.set(id, child);
  s.exited.set(id, new Promise((resolve) => child.once('exit', (code) => resolve(code))));
  return child;
}

async function scenario(): Promise<Scenario> {
  const [research, web] = await Promise.all([
    new TestOrthanc('research').start(),
    new TestOrthanc('research', {
      Plugins: [DICOMWEB_PLUGIN],
      DicomWeb: { Enable: true, Root: '/dicom-web/' },
    }).start(),
  ]);
  const config = path.join(mkdtempSync(path.join(os.tmpdir(), 'bridge-replica-config-')), 'bridge.json');
  writeFileSync(
    config,
    JSON.stringify({
      destinations: { web: { kind: 'dicomweb', url: `${web.url}/dicom-web`, confirm: 'md5' } },
      routes: [{ name: 'both', destinations: ['research', 'web'] }],
    }),
  );
  return { url: await pg.freshDatabase(), research, web, config, replicas: new Map(), exited: new Map() };
}

async function end(s: Scenario): Promise<void> {
  for (const [id, child] of s.replicas) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await s.exited.get(id);
  }
  await Promise.all([s.research.destroy(), s.web.destroy()]);
}

/** A query on the scenario's state database, as an operator would run it. */
async function query<T>(s: Scenario, sql: string, params: unknown[] = []): Promise<T[]> {
  const c = new Client({ ...addressParts(s.url), password: pg.password });
  await c.connect();
  try {
    return (await c.query(sql, params)).rows as T[];
  } finally {
    await c.end();
  }
}

/**
 * Waits until replica `id` runs a study with instances on research, then kills it (SIGKILL) and
 * waits for it to exit. Returns the claim it held and when it was killed.
 */
async function killMidStudy(
  s: Scenario,
  id: string,
): Promise<{ job: { id: number; attempts: number }; killedAt: number }> {
  const job = await waitFor(
    `${id} running a study with instances on research`,
    async () => {
      const rows = await query<{ id: number; attempts: number }>(
        s,
        `SELECT id, attempts FROM jobs WHERE owner = $1 AND state = 'running'`,
        [id],
      );
      return rows.length > 0 && (await researchCount(s)) > 0 ? rows[0] : undefined;
    },
    60_000,
    10,
  );
  s.replicas.get(id)!.kill('SIGKILL');
  const killedAt = Date.now();
  await s.exited.get(id);
  return { job, killedAt };
}

/**
 * Waits until another attempt claimed the job (by replica `by`, when given), or, when the study
 * had been queued again meanwhile (the new leader re-reading the change log, say), until the job
 * was closed as superseded at its takeover and the newer job of its study was claimed (by `by`).
 * A job its first runner finished in the moment between being seen running and the kill has
 * nothing to take over: that is reported as 'finished before the kill'. On a timeout the jobs'
 * states (IDs, states, attempts, owners, reasons: no patient value) are in the error.
 */
async function takenOver(
  s: Scenario,
  job: { id: number; attempts: number },
  by?: string,
): Promise<'taken over' | 'finished before the kill'> {
  try {
    return await waitFor(
      `job ${job.id} taken over${by ? ` by ${by}` : ''}`,
      async () => {
        const rows = await query<{ finished: boolean }>(
          s,
          `SELECT (j.state = 'done' AND j.attempts = $2) AS finished FROM jobs j WHERE j.id = $1 AND (
             (j.attempts > $2 AND (CAST($3 AS TEXT) IS NULL OR j.owner = $3))
             OR (j.state = 'done' AND j.attempts = $2)
             OR (j.state = 'skipped' AND j.reason LIKE 'superseded after: taken over%' AND EXISTS (
               SELECT 1 FROM jobs n WHERE n.study_id = j.study_id AND n.id > j.id AND n.attempts > 0
                 AND (CAST($3 AS TEXT) IS NULL OR n.owner = $3))))`,
          [job.id, job.attempts, by ?? null],
        );
        if (rows.length !== 1) return undefined;
        return rows[0]!.finished ? ('finished before the kill' as const) : ('taken over' as const);
      },
      LEASE_MS + 30_000,
      50,
    );
  } catch (err) {
    const jobs = await query(s, `SELECT id, state, attempts, owner, reason FROM jobs ORDER BY id`);
    throw new Error(`${(err as Error).message}; jobs: ${JSON.stringify(jobs)}`, { cause: err });
  }
}

const researchCount = async (s: Scenario): Promise<number> =>
  (await s.research.get<string[]>('/instances')).length;

async function leader(s: Scenario): Promise<string | undefined> {
  const rows = await query<{ id: string }>(
    s,
    `SELECT id FROM replicas WHERE role = 'leader' ORDER BY last_seen DESC`,
  );
  return rows[0]?.id;
}

/** Waits until every source study has a done job and nothing is queued or running. */
async function allDone(s: Scenario, studies = sourceStudies, timeoutMs = 120_000): Promise<void> {
  await waitFor(
    'every study carried',
    async () => {
      const rows = await query<{ study_id: string; state: string }>(s, 'SELECT study_id, state FROM jobs');
      if (rows.some((r) => r.state === 'queued' || r.state === 'running')) return false;
      const done = new Set(rows.filter((r) => r.state === 'done').map((r) => r.study_id));
      return studies.every((id) => done.has(id));
    },
    timeoutMs,
    200,
  );
}

/**
 * The exactly-once checks, on each destination (the research Orthanc, and the DICOMweb server, an
 * Orthanc too): each source instance once under its keyed UID; each stored once (one NewInstance
 * per instance in its change log: a STOW-RS duplicate adds none); one final audit record per study
 * and destination; every patient under the one pseudonym its keys give. Returns the re-pushes
 * answered "already there" (allowed after a takeover) and who ran the jobs.
 */
async function expectExactlyOnce(
  s: Scenario,
  sops = expectedSops,
  studies = sourceStudies,
): Promise<{ already: number; owners: Set<string> }> {
  const keys = deriveKeys(TEST_SECRET);
  for (const server of [s.research, s.web]) {
    const ids = await server.get<string[]>('/instances');
    expect(ids).toHaveLength(sops.length);
    const uids = new Set<string>();
    for (const id of ids)
      uids.add(
        (await server.get<{ MainDicomTags: { SOPInstanceUID: string } }>(`/instances/${id}`)).MainDicomTags
          .SOPInstanceUID,
      );
    expect([...uids].sort()).toEqual(sops.map((u) => mapUid(keys, u)).sort());
    const changes = await server.get<{ Changes: Array<{ ChangeType: string }> }>('/changes?limit=10000');
    expect(changes.Changes.filter((c) => c.ChangeType === 'NewInstance')).toHaveLength(sops.length);
  }
  const audit = await query<{
    source_study_id: string;
    destination: string;
    instances_already: number;
    instances_total: number;
  }>(s, 'SELECT source_study_id, destination, instances_already, instances_total FROM audit');
  for (const destination of ['research', 'web'])
    expect(
      audit
        .filter((a) => a.destination === destination)
        .map((a) => a.source_study_id)
        .sort(),
    ).toEqual([...studies].sort());
  expect(audit).toHaveLength(studies.length * 2);
  const researchPatients =
    await s.research.get<Array<{ MainDicomTags: { PatientID: string } }>>('/patients?expand');
  expect(researchPatients.map((p) => p.MainDicomTags.PatientID).sort()).toEqual(
    patients.map((p) => pseudonymFor(keys, p.id, p.issuer)).sort(),
  );
  const owners = new Set(
    (await query<{ owner: string }>(s, `SELECT DISTINCT owner FROM jobs WHERE state = 'done'`)).map(
      (r) => r.owner,
    ),
  );
  return { already: audit.reduce((n, a) => n + a.instances_already, 0), owners };
}

const figures: Record<string, unknown> = {};

beforeAll(async () => {
  await Promise.all([pg.start(), clinical.start()]);
  const studies = new Set<string>();
  for (const [i, p] of patients.entries()) {
    for (const inst of [
      ...makeCtStudy(p, { studyIndex: 1, studyDate: `2024040${i + 1}`, slices: 16 }),
      ...makeMammoStudy(p, { studyIndex: 2, studyDate: `2024050${i + 1}` }),
    ]) {
      studies.add((await clinical.upload(inst.bytes)).ParentStudy);
      expectedSops.push(inst.sopInstanceUid);
    }
  }
  sourceStudies = [...studies];
  await clinical.waitStable(sourceStudies);
}, 180_000);

afterAll(async () => {
  await clinical.destroy();
  pg.stop();
  // The figures the closing note and docs/SCALING.md quote.
  console.log(`replica scenarios: ${JSON.stringify(figures)}`);
});

describe('replicas sharing PostgreSQL', () => {
  it('two replicas started at the same moment on an empty database migrate once and elect one leader', async () => {
    const s = await scenario();
    try {
      startReplica(s, 'twin-a');
      startReplica(s, 'twin-b');
      await waitFor(
        'both replicas alive',
        async () => (await query(s, 'SELECT id FROM replicas')).length === 2,
        30_000,
      );
      const version = await query<{ version: number }>(s, 'SELECT version FROM bridge_schema');
      expect(version).toHaveLength(1);
      await waitFor('one leader', async () => (await leader(s)) !== undefined, 10_000);
      const roles = await query<{ role: string }>(s, 'SELECT role FROM replicas ORDER BY id');
      expect(roles.map((r) => r.role).sort()).toEqual(['leader', 'worker']);
      await allDone(s);
      await expectExactlyOnce(s);
      for (const child of s.replicas.values()) expect(child.exitCode).toBeNull(); // both still running
    } finally {
      await end(s);
    }
  });

  it('three replicas share a corpus: every instance once on research, the work spread over them', async () => {
    const s = await scenario();
    try {
      const t0 = Date.now();
      for (const id of ['r1', 'r2', 'r3']) startReplica(s, id);
      await allDone(s);
      figures.threeReplicasSeconds = (Date.now() - t0) / 1000;
      const { owners, already } = await expectExactlyOnce(s);
      expect(owners.size).toBeGreaterThanOrEqual(2);
      expect(already).toBe(0); // nobody took anything over: nothing was pushed twice
      figures.threeReplicasOwners = owners.size;
      // Any replica, and the command line with the same environment, show the shared state.
      const cliStatus = spawnSync(process.execPath, [CLI, 'status', '--json'], {
        env: {
          PATH: process.env.PATH,
          BRIDGE_SOURCE_URL: clinical.url,
          BRIDGE_RESEARCH_URL: s.research.url,
          BRIDGE_DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'bridge-replica-cli-')),
          BRIDGE_SECRET: TEST_SECRET,
          BRIDGE_STATE_URL: s.url,
          BRIDGE_CONFIG: s.config,
          BRIDGE_STATE_PASSWORD: pg.password,
        },
        encoding: 'utf8',
      });
      expect(cliStatus.status).toBe(0);
      const status = JSON.parse(cliStatus.stdout) as {
        jobs: Record<string, number>;
        state: { store: string };
        replicas: Array<{ id: string; role: string; alive: boolean; runningJobs: number }>;
      };
      expect(status.state.store).toBe('postgres');
      expect(status.jobs.done).toBe(sourceStudies.length);
      expect(
        status.replicas
          .filter((r) => r.alive)
          .map((r) => r.id)
          .sort(),
      ).toEqual(['r1', 'r2', 'r3']);
      expect(status.replicas.filter((r) => r.role === 'leader')).toHaveLength(1);
      const api = (await query<{ api: string }>(s, `SELECT api FROM replicas WHERE id = 'r2'`))[0]!.api;
      const auth = { Authorization: `Bearer ${TOKEN}` };
      const metrics = (await request('GET', `${api}/metrics`, undefined, auth)).body.toString('utf8');
      expect(metrics).toMatch(/^bridge_replicas_alive 3$/m);
      expect(metrics).toMatch(/^bridge_replica_leader\{replica="r[123]"\} 1$/m);
      const page = (await request('GET', `${api}/admin`, undefined, auth)).body.toString('utf8');
      for (const id of ['r1', 'r2', 'r3']) expect(page).toContain(`data-replica="${id}"`);
      // The shared state holds no patient value: every row of every table, searched.
      const tables = await query<{ tablename: string }>(
        s,
        `SELECT tablename FROM pg_tables WHERE schemaname = 'public'`,
      );
      let dump = '';
      for (const t of tables) dump += JSON.stringify(await query(s, `SELECT * FROM ${t.tablename}`));
      dump += page + metrics + cliStatus.stdout;
      const planted = patients.flatMap((p) => [1, 2].flatMap((i) => plantedValues(p, i)));
      for (const v of planted) expect(dump.toLowerCase()).not.toContain(v.toLowerCase());
    } finally {
      await end(s);
    }
  });

  it('the leader killed mid-study: another replica leads within a heartbeat or two, takes over its job when the lease expires, and follows the change log', async () => {
    const s = await scenario();
    try {
      startReplica(s, 'lead-a');
      await waitFor('lead-a to lead', async () => (await leader(s)) === 'lead-a', 30_000);
      startReplica(s, 'lead-b');
      await waitFor(
        'lead-b alive',
        async () => (await query(s, `SELECT id FROM replicas WHERE id = 'lead-b'`)).length === 1,
        30_000,
      );
      const { job, killedAt } = await killMidStudy(s, 'lead-a');
      await waitFor('lead-b to lead', async () => (await leader(s)) === 'lead-b', 30_000, 50);
      figures.leaderTakeoverMs = Date.now() - killedAt;
      await takenOver(s, job, 'lead-b');
      figures.jobTakeoverAfterLeaderKillMs = Date.now() - killedAt;
      // A study that arrives after the kill: only the new leader can have read it from the change log.
      const late = patients[0]!;
      const lateStudy = makeMammoStudy(late, { studyIndex: 3, studyDate: '20240601' });
      let lateId = '';
      for (const inst of lateStudy) lateId = (await clinical.upload(inst.bytes)).ParentStudy;
      await clinical.waitStable([lateId]);
      const studies = [...sourceStudies, lateId];
      const sops = [...expectedSops, ...lateStudy.map((i) => i.sopInstanceUid)];
      await allDone(s, studies);
      const { already } = await expectExactlyOnce(s, sops, studies);
      figures.leaderKillAlreadyStored = already;
      await clinical.call('DELETE', `/studies/${lateId}`);
    } finally {
      await end(s);
    }
  });

  it('a worker killed mid-instance: its job is taken over when the lease expires, nothing lost or doubled', async () => {
    const s = await scenario();
    try {
      startReplica(s, 'boss');
      await waitFor('boss to lead', async () => (await leader(s)) === 'boss', 30_000);
      startReplica(s, 'hand');
      const { job, killedAt } = await killMidStudy(s, 'hand');
      await takenOver(s, job);
      figures.workerTakeoverMs = Date.now() - killedAt;
      await allDone(s);
      const { already } = await expectExactlyOnce(s);
      figures.workerKillAlreadyStored = already;
    } finally {
      await end(s);
    }
  });

  it('PostgreSQL restarted mid-run: the replicas wait it out and finish, nothing lost or doubled', async () => {
    const s = await scenario();
    try {
      startReplica(s, 'p1');
      startReplica(s, 'p2');
      await waitFor('instances on research', async () => (await researchCount(s)) > 0, 60_000, 20);
      await pg.restart();
      await allDone(s);
      const { already } = await expectExactlyOnce(s);
      figures.pgRestartAlreadyStored = already;
      for (const child of s.replicas.values()) expect(child.exitCode).toBeNull(); // they waited, they did not stop
    } finally {
      await end(s);
    }
  });
});

const POSTGRESQL_INDEX = '/usr/share/orthanc/plugins/libOrthancPostgreSQLIndex.so';

describe('a clinical Orthanc indexed in PostgreSQL (Debian orthanc-postgresql)', () => {
  it('two replicas follow its change log and carry its studies exactly once', async () => {
    const s = await scenario();
    const indexDb = new URL(await pg.freshDatabase()).pathname.slice(1);
    const pgClinical = new TestOrthanc('clinical', {
      Plugins: [POSTGRESQL_INDEX],
      PostgreSQL: {
        EnableIndex: true,
        EnableStorage: false,
        Host: '127.0.0.1',
        Port: pg.port,
        Database: indexDb,
        Username: 'bridge',
        Password: pg.password,
        Lock: true,
      },
    });
    try {
      await pgClinical.start();
      // The index is PostgreSQL's: Orthanc says so.
      const system = await pgClinical.get<{ DatabaseBackendPlugin: string | null }>('/system');
      expect(system.DatabaseBackendPlugin).toContain('PostgreSQL');
      const sops: string[] = [];
      const studies = new Set<string>();
      for (const [i, p] of patients.slice(0, 2).entries())
        for (const inst of makeCtStudy(p, { studyIndex: 7, studyDate: `2024070${i + 1}`, slices: 8 })) {
          studies.add((await pgClinical.upload(inst.bytes)).ParentStudy);
          sops.push(inst.sopInstanceUid);
        }
      await pgClinical.waitStable([...studies]);
      startReplica(s, 'pgx-1', pgClinical);
      startReplica(s, 'pgx-2', pgClinical);
      await allDone(s, [...studies]);
      const keys = deriveKeys(TEST_SECRET);
      const ids = await s.research.get<string[]>('/instances');
      expect(ids).toHaveLength(sops.length);
      const audit = await query<{ source_study_id: string }>(
        s,
        `SELECT source_study_id FROM audit WHERE destination = 'research'`,
      );
      expect(audit.map((a) => a.source_study_id).sort()).toEqual([...studies].sort());
      expect(await s.web.get<string[]>('/instances')).toHaveLength(sops.length);
      const patientsOnResearch =
        await s.research.get<Array<{ MainDicomTags: { PatientID: string } }>>('/patients?expand');
      expect(patientsOnResearch.map((p) => p.MainDicomTags.PatientID).sort()).toEqual(
        patients
          .slice(0, 2)
          .map((p) => pseudonymFor(keys, p.id, p.issuer))
          .sort(),
      );
    } finally {
      await end(s);
      await pgClinical.destroy();
    }
  });
});
