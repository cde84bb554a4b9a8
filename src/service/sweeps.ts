/** The scheduled use cases: reconcile sweep, retry sweep, daily report (run by schedule.ts). */
import path from 'node:path';
import type { Logger } from '../log';
import type { OrthancClient } from '../orthanc/client';
import { auditCsv } from '../reports/format';
import { writeAtomic } from '../reports/files';
import { listAudit } from '../store/audit';
import type { Db } from '../store/db';
import { enqueueJob, listJobs, studiesWithFailedLatestJob } from '../store/jobs';

/**
 * Reconcile sweep: StableStudy is a hint, not a promise (Orthanc forgets unstable studies when it
 * restarts). Queue every stable study of the clinical Orthanc that no job has carried across.
 */
export async function reconcileSweep(db: Db, source: OrthancClient, log: Logger): Promise<number> {
  const ids = await source.listStudies();
  let queued = 0;
  for (const id of ids) {
    if ((await listJobs(db, { studyId: id, limit: 1 }))[0]) continue; // known to the bridge already
    const study = await source.study(id);
    if (!study?.IsStable) continue;
    if (await enqueueJob(db, id, 'reconcile')) queued++;
  }
  if (queued > 0) log.info('reconcile sweep queued studies', { queued, studies: ids.length });
  return queued;
}

/** Retry sweep: studies whose latest job failed (retries exhausted, a peer down for long) go again. */
export async function retrySweep(db: Db, log: Logger): Promise<number> {
  let queued = 0;
  for (const id of await studiesWithFailedLatestJob(db)) if (await enqueueJob(db, id, 'retry')) queued++;
  if (queued > 0) log.info('retry sweep queued failed studies', { queued });
  return queued;
}

/** The day's audit report: `reports/daily/<YYYY-MM-DD>.csv` with the records finished that UTC day. */
export async function writeDailyReport(db: Db, reportsDir: string, day: Date): Promise<string> {
  const start = new Date(Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate()));
  const end = new Date(start.getTime() + 86_400_000).toISOString();
  const records = (await listAudit(db, { since: start.toISOString() })).filter((r) => r.finishedAt < end);
  const file = path.join(reportsDir, 'reports', 'daily', `${start.toISOString().slice(0, 10)}.csv`);
  writeAtomic(file, auditCsv(records));
  return file;
}
