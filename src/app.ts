import { closeEngines } from './pixels/clean';
import http, { type Server } from 'node:http';
import path from 'node:path';
import { BridgeService, type StatusReport } from './service/bridgeService';
import type { ResolvedConfig } from './config';
import { deriveKeys } from './deid/keys';
import { createLogger, type Logger } from './log';
import { ChangeFeed } from './pipeline/feed';
import { OrthancClient } from './orthanc/client';
import {
  newProcessState,
  ocrWorkers,
  OCR_TIMEOUT_MS,
  type BaseContext,
  type ProcessState,
} from './pipeline/context';
import type { StudyResult } from './pipeline/study';
import { Worker, type WorkerOptions } from './pipeline/worker';
import { startSchedules, type Schedules } from './schedule';
import { openDatabase, openStore, type Db } from './store/db';
import { leadershipFor } from './store/leadership';
import { Replica } from './service/replica';
import { coerceError, ConfigError, safeMessage } from './errors';
import { quarantineInterruptedPixels } from './store/inFlight';
import { hasOpenJobs, nextDueAt, requeueInterrupted, type Job, type JobState } from './store/jobs';
import { abortableDelay } from './util/timing';

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

export type { StatusReport };

import { buildRuntime, type Runtime } from './runtime';

/** Wires config, store, clients, feed, worker, API and schedules; owns start, reload and clean shutdown. */
export class BridgeApp {
  readonly db: Db;
  readonly worker: Worker;
  /** This process among the replicas sharing the state (the only one on SQLite). */
  readonly replica: Replica;
  /** The use cases the API, the admin page and the command line call. */
  readonly service: BridgeService;
  /** What lives as long as the process: progress of running studies, sealed identities. */
  private readonly state: ProcessState;
  readonly log: Logger;
  private runtime: Runtime;
  private changeFeed: ChangeFeed;
  private server: Server | null = null;
  private schedules: Schedules | null = null;
  private started = false;
  private readonly fatalHandlers: Array<(err: Error) => void> = [];

  private fatal(err: unknown): void {
    const failure = coerceError(err);
    this.log.error('stopping', { error: safeMessage(failure) });
    for (const handler of this.fatalHandlers.splice(0)) handler(failure);
  }

  /** Registers what to do when the bridge must stop on its own (its state database failed). */
  onFatal(handler: (err: Error) => void): void {
    this.fatalHandlers.push(handler);
  }

  /** Opens the configured state store (PostgreSQL when a state URL is set), then builds the app. */
  static async open(
    cfg: ResolvedConfig,
    opts: { logger?: Logger; console?: boolean } = {},
  ): Promise<BridgeApp> {
    return new BridgeApp(cfg, { ...opts, db: await openStore(cfg.dataDir, cfg.state) });
  }

  /** With the embedded store, or with `opts.db` already open; BridgeApp.open for PostgreSQL. */
  constructor(cfg: ResolvedConfig, opts: { logger?: Logger; console?: boolean; db?: Db } = {}) {
    this.state = newProcessState({
      workers: ocrWorkers(cfg.pipeline.concurrency),
      timeoutMs: OCR_TIMEOUT_MS,
    });
    this.log =
      opts.logger ??
      createLogger({
        level: cfg.log.level,
        dir: cfg.log.file ? path.join(cfg.dataDir, 'logs') : undefined,
        console: opts.console,
      });
    for (const warning of cfg.warnings) this.log.warn('configuration needs attention', { warning });
    if (!opts.db && cfg.state)
      throw new ConfigError(
        'state.url: a PostgreSQL store is opened with BridgeApp.open (it connects first)',
      );
    this.db = opts.db ?? openDatabase(cfg.dataDir);
    this.runtime = buildRuntime(cfg, this.db, this.log, this.state);
    this.worker = new Worker(
      () => this.runtime.base,
      () => this.workerOptions(),
      this.log,
    );
    this.changeFeed = this.newFeed();
    this.replica = new Replica(this.db, leadershipFor(this.db), cfg.replica, this.log, {
      worker: this.worker,
      api: () => this.apiAddress(),
      becameLeader: () => {
        if (!this.started) return; // `run --once` polls by itself
        this.changeFeed.start();
        this.startSchedules();
      },
      lostLeadership: async () => {
        await this.schedules?.stop();
        this.schedules = null;
        await this.changeFeed.stop();
      },
    });
    this.service = new BridgeService({
      db: this.db,
      log: this.log,
      cfg: () => this.cfg,
      source: () => this.source,
      stage: () => this.stage,
      feed: () => this.changeFeed.snapshot(),
      worker: this.worker,
      progress: this.state.progress,
      replica: () => ({ id: this.replica.id, leader: this.replica.isLeader }),
    });
  }

  get cfg(): ResolvedConfig {
    return this.runtime.cfg;
  }

  get source(): OrthancClient {
    return this.runtime.source;
  }

  /** What every pipeline stage and admin operation works with (the worker adds its stop signal). */
  get stage(): BaseContext {
    return this.runtime.base;
  }

  get feed(): ChangeFeed {
    return this.changeFeed;
  }

  /** Public fingerprint of the current secret. */
  keyVersion(): string {
    return deriveKeys(this.cfg.secret).version;
  }

  private workerOptions(): WorkerOptions {
    const p = this.cfg.pipeline;
    return {
      maxAttempts: p.maxAttempts,
      retryBaseMs: p.retryBaseMs,
      retryMaxMs: p.retryMaxMs,
      idleMs: this.cfg.feed.pollIntervalMs,
      studyConcurrency: p.studyConcurrency,
      claimant: { owner: this.cfg.replica.id, leaseMs: this.cfg.replica.leaseMs },
    };
  }

  private newFeed(): ChangeFeed {
    const cfg = this.cfg;
    return new ChangeFeed(
      this.db,
      this.source,
      {
        ...cfg.feed,
        retryBaseMs: cfg.pipeline.retryBaseMs,
        retryMaxMs: cfg.pipeline.retryMaxMs,
        onJobs: () => this.worker.wake(),
        onFatal: (err) => this.fatal(err),
      },
      this.log,
    );
  }

  private startSchedules(): void {
    const service = this.service;
    this.schedules = startSchedules(this.cfg.schedules, {
      log: this.log,
      reconcile: () => service.reconcile(),
      retryFailed: () => service.retryFailed(),
      dailyReport: (day) => service.dailyReport(day),
      onJobs: () => this.worker.wake(),
    });
  }

  /**
   * Takes over a new, already validated config for new jobs (the study running now finishes under
   * the old one). The data folder and the API address stay as they were until a restart.
   */
  async reload(next: ResolvedConfig): Promise<void> {
    if (next.dataDir !== this.cfg.dataDir)
      throw new ConfigError('dataDir cannot change while running; restart the bridge to move it');
    if (next.state?.url !== this.cfg.state?.url || next.replica.id !== this.cfg.replica.id)
      throw new ConfigError('state.url and replica.id cannot change while running; restart the bridge');
    const apiMoved = next.api.host !== this.cfg.api.host || next.api.port !== this.cfg.api.port;
    this.runtime = buildRuntime(next, this.db, this.log, this.state);
    if (this.started && this.replica.isLeader) {
      await this.changeFeed.stop();
      this.changeFeed = this.newFeed();
      this.changeFeed.start();
      await this.schedules?.stop();
      this.startSchedules();
    } else {
      await this.changeFeed.stop();
      this.changeFeed = this.newFeed();
    }
    this.log.info('configuration reloaded', {
      keyVersion: this.keyVersion(),
      routes: next.routes.map((r) => r.name),
    });
    if (apiMoved) this.log.warn('the API address changes only on restart');
  }

  status(): Promise<StatusReport> {
    return this.service.status();
  }

  /** Queues a study by hand (CLI, API, Explorer button). */
  queueStudy(studyId: string, trigger: 'api' | 'cli'): Promise<{ queued: boolean; known: boolean }> {
    return this.service.queueStudy(studyId, trigger);
  }

  /**
   * Catch up with the change log and run every queued study to an end state, waiting out retry
   * delays. Bounded: each job has at most maxAttempts tries.
   */
  async runOnce(opts: { poll?: boolean } = {}): Promise<RunSummary> {
    const started = Date.now();
    await this.resumeInterrupted();
    // The heartbeat renews this run's claims; with replicas, only the leader reads the change log.
    await this.replica.start();
    const results: Array<{ job: Job; result: StudyResult }> = [];
    try {
      if (opts.poll !== false && this.replica.isLeader) await this.feed.pollOnce();
      // Bounded: each job has at most maxAttempts tries, and jobs other replicas run end too.
      while (await hasOpenJobs(this.db)) {
        // A StoreError (the database itself failed) goes up as it is: the caller stops.
        const ran = await this.worker.drainDue();
        results.push(...ran);
        const due = await nextDueAt(this.db);
        if (due !== undefined && due > Date.now()) await abortableDelay(due - Date.now());
        else if (ran.length === 0) await abortableDelay(Math.min(1000, this.cfg.feed.pollIntervalMs)); // running elsewhere
      }
    } finally {
      await this.replica.stop();
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

  /**
   * Jobs a crash left running go back to the queue now. The embedded store has one replica, so
   * every running job was interrupted; on PostgreSQL only this replica's (others' are taken over
   * when their lease expires).
   */
  private async resumeInterrupted(): Promise<void> {
    // SQLite: every running job was ours. PostgreSQL: the ones an earlier run of this replica left.
    // Before the jobs go back to the queue: an instance whose pixels were being read when the
    // process died is quarantined, not read again (an image that stops the process would stop it
    // on every restart).
    const interrupted = await quarantineInterruptedPixels(
      this.db,
      this.db.dialect === 'sqlite' ? {} : { owner: this.cfg.replica.id },
    );
    if (interrupted > 0)
      this.log.warn('instances quarantined: the process stopped reading their pixels', { interrupted });
    const requeued = await requeueInterrupted(
      this.db,
      this.db.dialect === 'sqlite' ? undefined : this.cfg.replica.id,
    );
    if (requeued > 0) this.log.info('resuming interrupted jobs', { requeued });
  }

  async start(): Promise<void> {
    await this.resumeInterrupted();
    // Loaded here, not at the top: `run --once` and the CLI's other commands serve no API, and
    // express and the admin page cost start-up time they do not need.
    const { createApi } = await import('./api/server');
    const api = createApi(this.service);
    this.started = true;
    await new Promise<void>((resolve, reject) => {
      // Slow or idle clients cannot hold connections open (api.*TimeoutMs); the timeouts are
      // enforced every second rather than Node's default 30.
      const a = this.cfg.api;
      const server = http.createServer(
        {
          headersTimeout: Math.min(a.headersTimeoutMs, a.requestTimeoutMs),
          requestTimeout: a.requestTimeoutMs,
          keepAliveTimeout: a.keepAliveTimeoutMs,
          connectionsCheckingInterval: 1000,
        },
        api,
      );
      server.once('error', reject);
      server.listen(a.port, a.host, () => resolve());
      this.server = server;
    });
    this.worker.onFatal = (err) => this.fatal(err);
    this.worker.start();
    // The leader (the only replica on SQLite) follows the change log and runs the schedules.
    await this.replica.start();
    this.log.info('bridge started', {
      replica: this.replica.id,
      role: this.replica.isLeader ? 'leader' : 'worker',
      store: this.db.dialect,
      api: this.apiAddress(),
      source: this.cfg.source.url,
      destinations: Object.keys(this.cfg.destinations),
      keyVersion: this.keyVersion(),
      routes: this.cfg.routes.map((r) => r.name),
    });
  }

  apiAddress(): string | null {
    const a = this.server?.address();
    return a && typeof a === 'object' ? `http://${a.address}:${a.port}` : null;
  }

  /** Stops taking work, lets the current study stop, closes the API and the database. */
  async stop(): Promise<void> {
    // The leader lock goes first, so another replica follows the change log at once; the worker
    // then puts its unfinished studies back in the queue for any replica.
    await this.replica.stop();
    await this.schedules?.stop();
    await this.feed.stop();
    await this.worker.stop();
    if (this.server) {
      const server = this.server;
      this.server = null;
      server.closeAllConnections?.();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    await Promise.all([closeEngines(this.state.pixels), this.state.deid?.close()]);
    // A reload keeps listeners on their port (the new destinations share them): closed here only.
    await this.runtime.close();
    this.log.info('bridge stopped');
    await this.db.close();
    await new Promise<void>((resolve) => {
      this.log.on('finish', resolve);
      this.log.end();
      setTimeout(resolve, 500).unref();
    });
  }
}
