import { safeMessage } from '../errors';
import type { Logger } from '../log';
import { isStoreFailure, type Db } from '../store/db';
import {
  commitFeedBatch,
  readFeedState,
  recordFeedLag,
  recordOrthancLast,
  resetFeed,
  type FeedState,
} from '../store/feed';
import { abortableDelay, backoffMs } from '../util/timing';
import type { Change, OrthancClient } from '../orthanc/client';
import { changeLogReset, stableStudies } from '../orthanc/changes';

export interface ChangeFeedOptions {
  readonly batchSize: number;
  readonly pollIntervalMs: number;
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
  /** Called after a poll that queued jobs, so the worker can start at once. */
  readonly onJobs?: (count: number) => void;
  /** Called when the state database failed: the feed stops instead of retrying. */
  readonly onFatal?: (err: unknown) => void;
}

export interface FeedSnapshot extends FeedState {
  readonly running: boolean;
  /** Changes Orthanc has that we have not read yet. */
  readonly lag: number | null;
  readonly lastPollAt: string | null;
  readonly lastError: string | null;
}

export interface PollResult {
  readonly changesRead: number;
  readonly jobsCreated: number;
  readonly reset: boolean;
}

/**
 * Follows the clinical Orthanc's change log (read through orthanc/changes.ts). The cursor moves only in the transaction that
 * stores the jobs it produced, so a crash between the two is impossible. A change log that went
 * backwards (a new or reset Orthanc index) is read again from the start; the deterministic
 * research IDs and the instance table make the re-read add nothing twice.
 */
export class ChangeFeed {
  private controller: AbortController | null = null;
  private loop: Promise<void> | null = null;
  private lastPollAt: string | null = null;
  private lastError: string | null = null;

  constructor(
    private readonly db: Db,
    private readonly client: OrthancClient,
    private readonly opts: ChangeFeedOptions,
    private readonly log: Logger,
  ) {}

  async pollOnce(): Promise<PollResult> {
    let state = await readFeedState(this.db);
    const orthancLast = await this.client.lastChangeSeq();
    const resetReason = await changeLogReset(this.client, state, orthancLast);
    let reset = false;
    if (resetReason) {
      this.log.warn('change log reset detected; reading it again from the start', {
        reason: resetReason,
        cursor: state.cursor,
        orthancLast,
      });
      await resetFeed(this.db, orthancLast);
      state = await readFeedState(this.db);
      reset = true;
    }
    let cursor = state.cursor;
    await recordFeedLag(this.db, Math.max(0, orthancLast - cursor));
    let changesRead = 0;
    let jobsCreated = 0;
    for (let pages = 0; pages < 100_000; pages++) {
      const page = await this.client.changes(cursor, this.opts.batchSize);
      const changes: Change[] = Array.isArray(page.Changes) ? page.Changes : [];
      if (changes.length === 0) break;
      const studies = stableStudies(changes);
      const last = changes[changes.length - 1]!;
      const next = Math.max(cursor, ...changes.map((c) => c.Seq));
      jobsCreated += await commitFeedBatch(this.db, {
        studies,
        cursor: next,
        anchor: { seq: last.Seq, change: last.ChangeType, resource: last.ID },
        orthancLast: Math.max(orthancLast, next),
      });
      changesRead += changes.length;
      if (next === cursor) break; // Orthanc did not move us forward: never loop on the same page
      cursor = next;
      if (page.Done) break;
    }
    if (changesRead === 0) await recordOrthancLast(this.db, orthancLast);
    this.lastPollAt = new Date().toISOString();
    this.lastError = null;
    if (jobsCreated > 0) {
      this.log.info('studies queued from the change log', { jobsCreated, changesRead, cursor });
      this.opts.onJobs?.(jobsCreated);
    }
    return { changesRead, jobsCreated, reset };
  }

  start(): void {
    if (this.loop) return;
    const controller = new AbortController();
    this.controller = controller;
    this.loop = (async () => {
      let failures = 0;
      while (!controller.signal.aborted) {
        let wait = this.opts.pollIntervalMs;
        try {
          await this.pollOnce();
          failures = 0;
        } catch (err) {
          if (isStoreFailure(err)) {
            this.log.error('change feed stopped: the state database failed', { error: safeMessage(err) });
            this.opts.onFatal?.(err);
            return;
          }
          failures++;
          this.lastError = safeMessage(err);
          wait = backoffMs(failures, this.opts.retryBaseMs, this.opts.retryMaxMs);
          this.log.warn('change log poll failed', { error: this.lastError, retryInMs: wait });
        }
        await abortableDelay(wait, controller.signal);
      }
    })();
  }

  /** Stops polling and waits for a poll in progress to finish. */
  async stop(): Promise<void> {
    this.controller?.abort();
    await this.loop;
    this.loop = null;
    this.controller = null;
  }

  async snapshot(): Promise<FeedSnapshot> {
    const s = await readFeedState(this.db);
    return {
      ...s,
      running: this.loop !== null,
      lag: s.orthancLast === null ? null : Math.max(0, s.orthancLast - s.cursor),
      lastPollAt: this.lastPollAt,
      lastError: this.lastError,
    };
  }
}
