import { safeMessage } from '../errors';
import type { Logger } from '../log';
import { claimJob, nextDueAt, retryJobLater, type Job } from '../store/jobs';
import { abortableDelay, backoffMs } from '../util/timing';
import type { BaseContext, StageContext } from './context';
import { runJob, type StudyResult } from './study';

export interface WorkerOptions {
  readonly maxAttempts: number;
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
  /** How long to sleep when the queue is empty and nobody wakes us. */
  readonly idleMs: number;
  /** Studies worked on at once. */
  readonly studyConcurrency: number;
}

export interface WorkerSnapshot {
  readonly running: boolean;
  readonly current: ReadonlyArray<{ jobId: number; studyId: string; startedAt: string }>;
  readonly finished: number;
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
  private readonly current = new Map<number, { jobId: number; studyId: string; startedAt: string }>();
  private finished = 0;

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

  private stageContext(): StageContext {
    return { ...this.ctx, signal: this.controller.signal };
  }

  private async runClaimed(job: Job): Promise<StudyResult> {
    this.current.set(job.id, { jobId: job.id, studyId: job.studyId, startedAt: new Date().toISOString() });
    try {
      return await runJob(
        job,
        this.stageContext(),
        {
          maxAttempts: this.opts.maxAttempts,
          delayMs: (n) => backoffMs(n, this.opts.retryBaseMs, this.opts.retryMaxMs),
        },
        (j, notBefore, reason) => {
          retryJobLater(this.ctx.db, j.id, notBefore, reason);
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
    for (;;) {
      while (running.size < Math.max(1, this.opts.studyConcurrency) && !this.controller.signal.aborted) {
        const job = claimJob(this.ctx.db);
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
        const due = nextDueAt(this.ctx.db);
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

  snapshot(): WorkerSnapshot {
    return {
      running: this.loop !== null && !this.controller.signal.aborted,
      current: [...this.current.values()],
      finished: this.finished,
    };
  }
}
