import { safeMessage } from '../errors';
import type { Logger } from '../log';
import {
  claimJob,
  nextDueAt,
  reapExpiredClaims,
  retryJobLater,
  type Claimant,
  type ClaimRef,
  type Job,
} from '../store/jobs';
import { quarantineInterruptedPixels } from '../store/inFlight';
import { abortableDelay, backoffMs } from '../util/timing';
import type { BaseContext } from './context';
import { runJob, type StudyResult } from './study';

export interface WorkerOptions {
  readonly maxAttempts: number;
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
  /** How long to sleep when the queue is empty and nobody wakes us. */
  readonly idleMs: number;
  /** Studies worked on at once. */
  readonly studyConcurrency: number;
  /** This replica's name on its claims, and how long a claim holds without a heartbeat. */
  readonly claimant: Claimant;
}

export interface WorkerSnapshot {
  readonly running: boolean;
  readonly current: ReadonlyArray<{ jobId: number; studyId: string; startedAt: string }>;
  readonly finished: number;
  /** Jobs whose claim had expired (their replica died or stalled) that this worker put back in the queue. */
  readonly takenOver: number;
}

interface Running {
  readonly jobId: number;
  readonly attempts: number;
  readonly studyId: string;
  readonly startedAt: string;
  /** Stops this job alone (its claim was taken over). */
  readonly lost: AbortController;
}

/**
 * Claims study jobs, up to `studyConcurrency` at a time, and runs them; the instances of all running
 * studies share the pipeline's instance slots and memory budget.
 * `stop()` stops taking work, lets the current study stop taking instances, and waits for it.
 */
export class Worker {
  private controller = new AbortController();
  private loop: Promise<void> | null = null;
  private wakeUp: (() => void) | null = null;
  private readonly current = new Map<number, Running>();
  private finished = 0;
  private takenOver = 0;

  /** Called when the worker had to stop because the state database failed. */
  onFatal?: (err: unknown) => void;

  /** Context and options are read per job, so a reloaded config applies to the next study. */
  constructor(
    private readonly context: () => BaseContext,
    private readonly options: () => WorkerOptions,
    private readonly log: Logger,
  ) {}

  private get ctx(): BaseContext {
    return this.context();
  }

  private get opts(): WorkerOptions {
    return this.options();
  }

  private async runClaimed(job: Job): Promise<StudyResult> {
    const lost = new AbortController();
    this.current.set(job.id, {
      jobId: job.id,
      attempts: job.attempts,
      studyId: job.studyId,
      startedAt: new Date().toISOString(),
      lost,
    });
    try {
      return await runJob(
        job,
        { ...this.ctx, signal: AbortSignal.any([this.controller.signal, lost.signal]) },
        {
          maxAttempts: this.opts.maxAttempts,
          delayMs: (n) => backoffMs(n, this.opts.retryBaseMs, this.opts.retryMaxMs),
        },
        async (j, notBefore, reason) => {
          if (!(await retryJobLater(this.ctx.db, j, notBefore, reason))) return; // taken over: not ours to requeue
          this.log.warn('study will be retried', {
            jobId: j.id,
            study: j.studyId,
            attempt: j.attempts,
            reason,
            inMs: Math.max(0, notBefore - Date.now()),
          });
        },
      );
    } catch (err) {
      // runJob records every outcome itself; reaching here means the store failed.
      this.log.error('job could not be recorded', { jobId: job.id, error: safeMessage(err) });
      throw err;
    } finally {
      this.current.delete(job.id);
      this.finished++;
    }
  }

  /**
   * Runs every job that is due now, up to `studyConcurrency` studies at once (instances of all
   * of them share the instance slots and the memory budget), then returns what each ended as.
   */
  async drainDue(): Promise<Array<{ job: Job; result: StudyResult }>> {
    const done: Array<{ job: Job; result: StudyResult }> = [];
    const running = new Set<Promise<void>>();
    const reaped = await reapExpiredClaims(this.ctx.db, this.opts.claimant.owner);
    // What the dead replica was reading stays back: it may be what stopped it.
    await quarantineInterruptedPixels(this.ctx.db, { jobIds: reaped.map((t) => t.jobId) });
    for (const t of reaped) {
      this.takenOver++;
      this.log.warn('job taken over: its replica stopped renewing its claim', {
        jobId: t.jobId,
        study: t.studyId,
        from: t.owner,
      });
    }
    for (;;) {
      while (running.size < Math.max(1, this.opts.studyConcurrency) && !this.controller.signal.aborted) {
        const job = await claimJob(this.ctx.db, this.opts.claimant);
        if (!job) break;
        const run: Promise<void> = this.runClaimed(job).then((result) => void done.push({ job, result }));
        running.add(run);
        void run.finally(() => running.delete(run)).catch(() => undefined);
      }
      if (running.size === 0) break;
      await Promise.race(running);
    }
    return done;
  }

  start(): void {
    if (this.loop) return;
    this.loop = (async () => {
      const signal = this.controller.signal;
      while (!signal.aborted) {
        try {
          await this.drainDue();
        } catch (err) {
          // Only a store failure gets here (every other outcome is recorded by runJob).
          this.log.error('worker stopped: the state database failed', { error: safeMessage(err) });
          this.onFatal?.(err);
          return;
        }
        const due = await nextDueAt(this.ctx.db);
        const wait =
          due === undefined ? this.opts.idleMs : Math.max(10, Math.min(this.opts.idleMs, due - Date.now()));
        await new Promise<void>((resolve) => {
          this.wakeUp = resolve;
          void abortableDelay(wait, signal).then(resolve);
        });
        this.wakeUp = null;
      }
    })();
  }

  /** Start now if idle (new jobs were queued). */
  wake(): void {
    this.wakeUp?.();
  }

  async stop(): Promise<void> {
    this.controller.abort();
    this.wake();
    try {
      await this.loop;
    } finally {
      this.loop = null;
    }
  }

  /** The claims this worker runs now (job and attempt), for the heartbeat. */
  claims(): ClaimRef[] {
    return [...this.current.values()].map((r) => ({ id: r.jobId, attempts: r.attempts }));
  }

  /**
   * The heartbeat found these claims no longer ours (the lease ran out and another replica took
   * the job): their studies stop at once and record nothing.
   */
  abandon(jobIds: readonly number[]): void {
    for (const id of jobIds) {
      const r = this.current.get(id);
      if (!r) continue;
      this.log.warn('claim lost: another replica took this job over; stopping it here', {
        jobId: id,
        study: r.studyId,
      });
      r.lost.abort();
    }
  }

  snapshot(): WorkerSnapshot {
    return {
      running: this.loop !== null && !this.controller.signal.aborted,
      current: [...this.current.values()].map(({ jobId, studyId, startedAt }) => ({
        jobId,
        studyId,
        startedAt,
      })),
      finished: this.finished,
      takenOver: this.takenOver,
    };
  }
}
