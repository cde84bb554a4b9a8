import type { Server } from 'node:http';
import path from 'node:path';
import { createApi } from './api/server';
import type { ResolvedConfig } from './config';
import type { DeidContext } from './deid/engine';
import { deriveKeys } from './deid/keys';
import { BASIC_OPTIONS, type DeidProfile } from './deid/profile';
import { createLogger, type Logger } from './log';
import { ChangeFeed } from './orthanc/changeFeed';
import { OrthancClient } from './orthanc/client';
import type { StageContext } from './pipeline/context';
import type { StudyResult } from './pipeline/study';
import { Worker } from './pipeline/worker';
import { startSchedules, type Schedules } from './schedule';
import { openDatabase, type Db } from './store/db';
import { countQuarantine } from './store/instances';
import {
  countJobsByState,
  enqueueJob,
  hasOpenJobs,
  nextDueAt,
  requeueInterrupted,
  type Job,
  type JobState,
} from './store/jobs';
import { abortableDelay } from './util/timing';

export function profileFromConfig(cfg: ResolvedConfig): DeidProfile {
  return Object.freeze({
    name: cfg.profile.name,
    options: Object.freeze({ ...BASIC_OPTIONS, ...cfg.profile.options }),
    safePrivate: [],
    maxDateShiftDays: cfg.profile.maxDateShiftDays,
  });
}

export interface RunSummary {
  readonly studies: Record<Exclude<JobState, 'queued' | 'running'>, number>;
  readonly instances: { pushed: number; already: number; skipped: number; quarantined: number };
  readonly seconds: number;
  readonly ok: boolean;
}

export function formatSummary(s: RunSummary): string {
  const st = s.studies;
  const i = s.instances;
  return (
    `bridge: ${st.done + st.quarantined + st.failed + st.skipped} studies (done ${st.done}, quarantined ${st.quarantined}, ` +
    `failed ${st.failed}, skipped ${st.skipped}); instances pushed ${i.pushed}, already there ${i.already}, ` +
    `unchanged ${i.skipped}, quarantined ${i.quarantined}; ${s.seconds.toFixed(1)} s`
  );
}

export interface StatusReport {
  readonly jobs: Record<JobState, number>;
  readonly quarantinedInstances: number;
  readonly feed: ReturnType<ChangeFeed['snapshot']>;
  readonly worker: ReturnType<Worker['snapshot']>;
}

/** Wires config, store, clients, feed, worker, API and schedules; owns start and clean shutdown. */
export class BridgeApp {
  readonly db: Db;
  readonly source: OrthancClient;
  readonly research: OrthancClient;
  readonly deid: DeidContext;
  readonly feed: ChangeFeed;
  readonly worker: Worker;
  readonly log: Logger;
  /** What every pipeline stage and admin operation works with (the worker adds its stop signal). */
  readonly stage: Omit<StageContext, 'signal'>;
  private server: Server | null = null;
  private schedules: Schedules | null = null;

  constructor(
    readonly cfg: ResolvedConfig,
    opts: { logger?: Logger; console?: boolean } = {},
  ) {
    this.log =
      opts.logger ??
      createLogger({
        level: cfg.log.level,
        dir: cfg.log.file ? path.join(cfg.dataDir, 'logs') : undefined,
        console: opts.console,
      });
    this.db = openDatabase(cfg.dataDir);
    this.source = new OrthancClient({ ...cfg.source, label: 'source' });
    this.research = new OrthancClient({ ...cfg.research, label: 'research' });
    this.deid = { profile: profileFromConfig(cfg), keys: deriveKeys(cfg.secret) };
    this.stage = {
      db: this.db,
      source: this.source,
      research: this.research,
      deid: this.deid,
      log: this.log,
      concurrency: cfg.pipeline.concurrency,
      processedMetadataKey: cfg.processedMetadataKey,
      dataDir: cfg.dataDir,
      exportTags: cfg.export.metadataTags,
      folderSink: cfg.research.folderSink,
    };
    this.worker = new Worker(
      this.stage,
      {
        maxAttempts: cfg.pipeline.maxAttempts,
        retryBaseMs: cfg.pipeline.retryBaseMs,
        retryMaxMs: cfg.pipeline.retryMaxMs,
        idleMs: cfg.feed.pollIntervalMs,
      },
      this.log,
    );
    this.feed = new ChangeFeed(
      this.db,
      this.source,
      {
        ...cfg.feed,
        retryBaseMs: cfg.pipeline.retryBaseMs,
        retryMaxMs: cfg.pipeline.retryMaxMs,
        onJobs: () => this.worker.wake(),
      },
      this.log,
    );
  }

  status(): StatusReport {
    return {
      jobs: countJobsByState(this.db),
      quarantinedInstances: countQuarantine(this.db),
      feed: this.feed.snapshot(),
      worker: this.worker.snapshot(),
    };
  }

  /** Queues a study by hand (CLI, API, Explorer button). */
  async queueStudy(studyId: string, trigger: 'api' | 'cli'): Promise<{ queued: boolean; known: boolean }> {
    const study = await this.source.study(studyId);
    if (!study) return { queued: false, known: false };
    const queued = enqueueJob(this.db, studyId, trigger);
    this.worker.wake();
    return { queued, known: true };
  }

  /**
   * Catch up with the change log and run every queued study to an end state, waiting out retry
   * delays. Bounded: each job has at most maxAttempts tries.
   */
  async runOnce(opts: { poll?: boolean } = {}): Promise<RunSummary> {
    const started = Date.now();
    const requeued = requeueInterrupted(this.db);
    if (requeued > 0) this.log.info('resuming interrupted jobs', { requeued });
    if (opts.poll !== false) await this.feed.pollOnce();
    const results: Array<{ job: Job; result: StudyResult }> = [];
    while (hasOpenJobs(this.db)) {
      results.push(...(await this.worker.drainDue()));
      const due = nextDueAt(this.db);
      if (due !== undefined && due > Date.now()) await abortableDelay(due - Date.now());
    }
    // The last attempt of each study is its outcome.
    const last = new Map<string, StudyResult>();
    for (const r of results) last.set(r.job.studyId, r.result);
    const studies = { done: 0, quarantined: 0, failed: 0, skipped: 0 };
    const instances = { pushed: 0, already: 0, skipped: 0, quarantined: 0 };
    for (const r of last.values()) {
      studies[r.state]++;
      instances.pushed += r.pushed ?? 0;
      instances.already += r.already ?? 0;
      instances.skipped += r.skipped ?? 0;
      instances.quarantined += r.quarantined ?? 0;
    }
    return { studies, instances, seconds: (Date.now() - started) / 1000, ok: studies.failed === 0 };
  }

  async start(): Promise<void> {
    const requeued = requeueInterrupted(this.db);
    if (requeued > 0) this.log.info('resuming interrupted jobs', { requeued });
    const api = createApi(this);
    await new Promise<void>((resolve, reject) => {
      const server = api.listen(this.cfg.api.port, this.cfg.api.host, () => resolve());
      server.once('error', reject);
      this.server = server;
    });
    this.feed.start();
    this.worker.start();
    this.schedules = startSchedules(this.cfg.schedules, {
      db: this.db,
      source: this.source,
      log: this.log,
      onJobs: () => this.worker.wake(),
    });
    this.log.info('bridge started', {
      api: this.apiAddress(),
      source: this.cfg.source.url,
      research: this.cfg.research.url,
      keyVersion: this.deid.keys.version,
      profile: this.deid.profile.name,
    });
  }

  apiAddress(): string | null {
    const a = this.server?.address();
    return a && typeof a === 'object' ? `http://${a.address}:${a.port}` : null;
  }

  /** Stops taking work, lets the current study stop, closes the API and the database. */
  async stop(): Promise<void> {
    this.schedules?.stop();
    await this.feed.stop();
    await this.worker.stop();
    if (this.server) {
      const server = this.server;
      this.server = null;
      server.closeAllConnections?.();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    this.log.info('bridge stopped');
    this.db.close();
    await new Promise<void>((resolve) => {
      this.log.on('finish', resolve);
      this.log.end();
      setTimeout(resolve, 500).unref();
    });
  }
}
