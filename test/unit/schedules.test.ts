import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startSchedules } from '../../src/schedule';
import { retrySweep, writeDailyReport } from '../../src/service/sweeps';
import { waitFor } from '../helpers/orthanc';
import { silentLogger } from '../../src/log';
import { insertAudit } from '../../src/store/audit';
import { openDatabase } from '../../src/store/db';
import { claimJob, enqueueJob, finishJob, listJobs } from '../../src/store/jobs';

const ME = { owner: 'test', leaseMs: 60_000 };

describe('schedules', () => {
  it('the retry sweep queues studies whose latest job failed, once', async () => {
    const db = openDatabase(':memory:');
    await enqueueJob(db, 'A', 'change');
    await enqueueJob(db, 'B', 'change');
    await finishJob(db, (await claimJob(db, ME))!, { state: 'failed', reason: 'research down' });
    await finishJob(db, (await claimJob(db, ME))!, { state: 'done' });
    expect(await retrySweep(db, silentLogger())).toBe(1);
    expect(await retrySweep(db, silentLogger())).toBe(0); // already queued
    expect((await listJobs(db, { state: 'queued' })).map((j) => [j.studyId, j.trigger])).toEqual([
      ['A', 'retry'],
    ]);
  });

  it('the daily report holds the records finished that UTC day', async () => {
    const db = openDatabase(':memory:');
    const record = async (finishedAt: string, sourceStudyId: string) => {
      await enqueueJob(db, sourceStudyId, 'change');
      const job = (await claimJob(db, ME))!;
      await insertAudit(db, job, {
        jobId: job.id,
        destination: 'research',
        route: 'default',
        sourceStudyId,
        researchStudyId: 'r',
        pseudonym: 'RBX',
        state: 'done',
        trigger: 'change',
        mode: 'normal',
        instancesTotal: 1,
        instancesPushed: 1,
        instancesAlready: 0,
        instancesUnchanged: 0,
        instancesQuarantined: 0,
        checks: {},
        durations: {},
        profile: 'default',
        keyVersion: 'k',
        startedAt: finishedAt,
        finishedAt,
      });
    };
    await record('2026-11-26T23:59:59.000Z', 'before');
    await record('2026-11-27T10:00:00.000Z', 'inside');
    await record('2026-11-28T00:00:00.000Z', 'after');
    const dir = mkdtempSync(path.join(os.tmpdir(), 'daily-'));
    const file = await writeDailyReport(db, dir, new Date('2026-11-27T15:00:00Z'));
    expect(file).toBe(path.join(dir, 'reports', 'daily', '2026-11-27.csv'));
    const lines = readFileSync(file, 'utf8').trim().split('\r\n');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(/^inside,/);
  });

  it('waits on stop for a run in progress, so the database closes after it', async () => {
    let release: () => void = () => undefined;
    let started = false;
    const schedules = startSchedules(
      { reconcile: '* * * * * *', retry: null, report: null },
      {
        log: silentLogger(),
        reconcile: () => {
          started = true;
          return new Promise<number>((resolve) => (release = () => resolve(0)));
        },
        retryFailed: async () => 0,
        dailyReport: async () => '',
        onJobs: () => undefined,
      },
    );
    await waitFor('the reconcile sweep to start', async () => started, 5_000, 20);
    let stopped = false;
    const stopping = schedules.stop().then(() => (stopped = true));
    await new Promise((r) => setImmediate(r));
    expect(stopped).toBe(false); // the sweep still runs
    release();
    await stopping;
    expect(stopped).toBe(true);
  });
});
