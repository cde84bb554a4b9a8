/**
 * The worker and the give-up policy, on an in-memory store and a stand-in clinical server: a
 * study-scope fault retries later until the attempts run out, an instance-scope fault at the study
 * level fails the job at once, a process-scope fault stops the worker; studies run up to
 * `studyConcurrency` at once.
 */
import { ConfigError, DestinationError, PermanentError, StoreError, TransientError } from '../../src/errors';
import { silentLogger } from '../../src/log';
import { newProcessState, type BaseContext, type StageContext } from '../../src/pipeline/context';
import { runJob } from '../../src/pipeline/study';
import { Worker } from '../../src/pipeline/worker';
import { openDatabase, type Db } from '../../src/store/db';
import { claimJob, enqueueJob, listJobs, retryJobLater } from '../../src/store/jobs';
import { loadConfig } from '../../src/config';
import { BridgeApp } from '../../src/app';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TEST_SECRET } from '../helpers/samples';

/** A context whose clinical server answers `study()` with what `answer` gives. */
function context(db: Db, answer: (id: string) => Promise<unknown>): BaseContext {
  return {
    db,
    log: silentLogger(),
    state: newProcessState(),
    source: { study: answer },
  } as unknown as BaseContext;
}

const stage = (ctx: BaseContext): StageContext => ({ ...ctx, signal: new AbortController().signal });
const ME = { owner: 'test', leaseMs: 60_000 };
const workerOptions = (studyConcurrency: number) => () => ({
  maxAttempts: 1,
  retryBaseMs: 1,
  retryMaxMs: 1,
  idleMs: 10,
  studyConcurrency,
  claimant: ME,
});

describe('the give-up policy (runJob)', () => {
  it('puts a job back for later on a study-scope fault, and gives up after maxAttempts with the last reason', async () => {
    const db = openDatabase(':memory:');
    await enqueueJob(db, 'S', 'api');
    const ctx = stage(
      context(db, async () => {
        throw new TransientError('ORTHANC_HTTP_503', 'source Orthanc GET /studies/S answered 503');
      }),
    );
    const retries: Array<[number, string]> = [];
    const policy = { maxAttempts: 2, delayMs: (n: number) => 1000 * n };
    const first = (await claimJob(db, ME))!;
    await runJob(first, ctx, policy, async (j, notBefore, reason) => {
      retries.push([j.attempts, reason]);
      expect((await listJobs(db, { studyId: 'S' }))[0]!.state).toBe('running'); // the caller re-queues it
      await retryJobLater(db, j, notBefore, reason);
    });
    expect(retries).toEqual([[1, 'ORTHANC_HTTP_503: source Orthanc GET /studies/S answered 503']]);
    const second = (await claimJob(db, ME, Date.now() + 10_000))!;
    expect(second.attempts).toBe(2);
    const result = await runJob(second, ctx, policy, async () => void retries.push([0, 'unexpected']));
    expect(retries).toHaveLength(1);
    expect(result).toMatchObject({
      state: 'failed',
      reason: 'gave up after 2 attempts: ORTHANC_HTTP_503: source Orthanc GET /studies/S answered 503',
    });
    expect((await listJobs(db, { studyId: 'S' }))[0]!.state).toBe('failed');
  });

  it('retries a destination refusal (401) like a study fault, and fails at once on a permanent fault', async () => {
    const db = openDatabase(':memory:');
    await enqueueJob(db, 'D', 'api');
    await enqueueJob(db, 'P', 'api');
    const ctx = stage(
      context(db, async (id) => {
        if (id === 'D') throw new DestinationError('ORTHANC_HTTP_401', 'research answered 401');
        throw new PermanentError('ORTHANC_HTTP_400', 'source answered 400');
      }),
    );
    const policy = { maxAttempts: 5, delayMs: () => 0 };
    const retried: string[] = [];
    await runJob((await claimJob(db, ME))!, ctx, policy, async (j) => void retried.push(j.studyId));
    const permanent = await runJob(
      (await claimJob(db, ME))!,
      ctx,
      policy,
      async (j) => void retried.push(j.studyId),
    );
    expect(retried).toEqual(['D']);
    expect(permanent).toMatchObject({ state: 'failed', reason: 'ORTHANC_HTTP_400: source answered 400' });
  });

  it('stops on a process-scope fault instead of recording an outcome it cannot keep', async () => {
    const db = openDatabase(':memory:');
    await enqueueJob(db, 'X', 'api');
    const ctx = stage(
      context(db, async () => {
        throw new StoreError('the state database cannot be written (SQLITE_FULL)');
      }),
    );
    await expect(
      runJob((await claimJob(db, ME))!, ctx, { maxAttempts: 3, delayMs: () => 0 }, async () => undefined),
    ).rejects.toThrow(StoreError);
  });
});

describe('the worker', () => {
  it('runs up to studyConcurrency studies at once and returns what each ended as', async () => {
    const db = openDatabase(':memory:');
    for (const id of ['A', 'B', 'C']) await enqueueJob(db, id, 'api');
    let inFlight = 0;
    let most = 0;
    const ctx = context(db, async () => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((r) => setImmediate(r));
      inFlight--;
      return undefined; // the study is gone from the clinical Orthanc: skipped
    });
    const worker = new Worker(() => ctx, workerOptions(2), silentLogger());
    const done = await worker.drainDue();
    expect(done.map((d) => [d.job.studyId, d.result.state]).sort()).toEqual([
      ['A', 'skipped'],
      ['B', 'skipped'],
      ['C', 'skipped'],
    ]);
    expect(most).toBe(2);
    expect(worker.snapshot()).toMatchObject({ finished: 3, current: [] });
  });

  it('hands a store failure to onFatal and stops', async () => {
    const db = openDatabase(':memory:');
    await enqueueJob(db, 'F', 'api');
    const ctx = context(db, async () => {
      throw new StoreError('disk full');
    });
    const worker = new Worker(() => ctx, workerOptions(1), silentLogger());
    const fatal = new Promise<unknown>((resolve) => (worker.onFatal = resolve));
    worker.start();
    expect(await fatal).toBeInstanceOf(StoreError);
    await worker.stop();
  });
});

describe('config reload', () => {
  function configFor(dataDir: string, extra: Record<string, string> = {}) {
    return loadConfig({
      env: {
        BRIDGE_SOURCE_URL: 'http://127.0.0.1:9',
        BRIDGE_RESEARCH_URL: 'http://127.0.0.1:9',
        BRIDGE_DATA_DIR: dataDir,
        BRIDGE_SECRET: TEST_SECRET,
        ...extra,
      },
    });
  }

  it('takes a new config for the next jobs (the key version follows the secret), and refuses a new data folder', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'reload-'));
    const app = new BridgeApp(configFor(dataDir), { console: false });
    try {
      const before = app.service.keyVersion();
      await app.reload(configFor(dataDir, { BRIDGE_SECRET: 'another-secret-for-the-reload-test' }));
      expect(app.service.keyVersion()).not.toBe(before);
      const other = mkdtempSync(path.join(os.tmpdir(), 'reload-other-'));
      await expect(app.reload(configFor(other))).rejects.toThrow(ConfigError);
      await expect(app.reload(configFor(other))).rejects.toThrow(/dataDir cannot change while running/);
    } finally {
      await app.stop();
    }
  });

  it('keeps progress and sealed identities across a reload (they belong to the process, not the config)', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'reload-state-'));
    const app = new BridgeApp(configFor(dataDir), { console: false });
    try {
      const state = app.stage.state;
      state.sealed.add('key:RBX');
      await app.reload(configFor(dataDir, { BRIDGE_CONCURRENCY: '2' }));
      expect(app.stage.state).toBe(state);
      expect(app.stage.state.sealed.has('key:RBX')).toBe(true);
      expect(app.stage.concurrency).toBe(2);
    } finally {
      await app.stop();
    }
  });
});
