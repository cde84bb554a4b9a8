/** node-cron jobs that run the service's scheduled use cases; `stop()` waits for a run in progress. */
import cron, { type ScheduledTask } from 'node-cron';
import { safeMessage } from './errors';
import type { Logger } from './log';

export interface Schedules {
  /** Stops every schedule and waits for a run in progress to end (the database closes after). */
  stop(): Promise<void>;
}

/** What the schedules run: the service's scheduled use cases. */
export interface ScheduledWork {
  readonly log: Logger;
  reconcile(): Promise<number>;
  retryFailed(): Promise<number>;
  dailyReport(day: Date): Promise<string>;
  /** Called when a sweep queued jobs, so the worker starts at once. */
  onJobs(): void;
}

export function startSchedules(
  cfg: { reconcile: string | null; retry: string | null; report: string | null },
  deps: ScheduledWork,
): Schedules {
  const tasks: ScheduledTask[] = [];
  const running = new Set<Promise<void>>();
  let stopped = false;
  const every = (expr: string | null, name: string, fn: () => Promise<void> | void): void => {
    if (!expr) return;
    let busy = false;
    tasks.push(
      cron.schedule(expr, async () => {
        if (busy || stopped) return; // never two runs of one schedule at once, none after stop
        busy = true;
        const run = (async () => {
          try {
            await fn();
          } catch (err) {
            deps.log.warn(`${name} failed`, { error: safeMessage(err) });
          }
        })();
        running.add(run);
        try {
          await run;
        } finally {
          running.delete(run);
          busy = false;
        }
      }),
    );
  };
  every(cfg.reconcile, 'reconcile sweep', async () => {
    if ((await deps.reconcile()) > 0) deps.onJobs();
  });
  every(cfg.retry, 'retry sweep', async () => {
    if ((await deps.retryFailed()) > 0) deps.onJobs();
  });
  every(cfg.report, 'daily report', async () => {
    const file = await deps.dailyReport(new Date(Date.now() - 86_400_000));
    deps.log.info('daily report written', { file });
  });
  return {
    stop: async () => {
      stopped = true;
      for (const t of tasks) void t.stop();
      await Promise.all([...running]);
    },
  };
}
