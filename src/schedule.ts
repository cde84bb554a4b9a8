import cron, { type ScheduledTask } from 'node-cron';
import { safeMessage } from './errors';
import type { Logger } from './log';
import type { OrthancClient } from './orthanc/client';
import type { Db } from './store/db';
import { enqueueJob, listJobs } from './store/jobs';

/**
 * Reconcile sweep: StableStudy is a hint, not a promise (Orthanc forgets unstable studies when it
 * restarts). Queue every stable study of the clinical Orthanc that no job has carried across.
 */
export async function reconcileSweep(db: Db, source: OrthancClient, log: Logger): Promise<number> {
  const ids = await source.listStudies();
  let queued = 0;
  for (const id of ids) {
    const last = listJobs(db, { studyId: id, limit: 1 })[0];
    if (last) continue; // known: done, quarantined, skipped, queued or failed (the retry sweep's business)
    const study = await source.study(id);
    if (!study?.IsStable) continue;
    if (enqueueJob(db, id, 'reconcile')) queued++;
  }
  if (queued > 0) log.info('reconcile sweep queued studies', { queued, studies: ids.length });
  return queued;
}

export interface Schedules {
  stop(): void;
}

export function startSchedules(
  cfg: { reconcile: string | null },
  deps: { db: Db; source: OrthancClient; log: Logger; onJobs: () => void },
): Schedules {
  const tasks: ScheduledTask[] = [];
  if (cfg.reconcile) {
    let busy = false;
    tasks.push(
      cron.schedule(cfg.reconcile, async () => {
        if (busy) return; // never two sweeps at once
        busy = true;
        try {
          if ((await reconcileSweep(deps.db, deps.source, deps.log)) > 0) deps.onJobs();
        } catch (err) {
          deps.log.warn('reconcile sweep failed', { error: safeMessage(err) });
        } finally {
          busy = false;
        }
      }),
    );
  }
  return {
    stop: () => {
      for (const t of tasks) void t.stop();
    },
  };
}
