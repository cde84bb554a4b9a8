/**
 * This process among the replicas sharing one state database: a heartbeat that renews the claims
 * of the jobs it runs, shows it alive, and tries for the leader lock. The leader follows the
 * clinical change log and runs the schedules; every replica claims and runs study jobs.
 *
 * Safety does not rest on the heartbeat being on time: every write that ends a job is fenced by
 * the claim (job ID and attempt), so a replica that stalled past its lease records nothing and
 * stops its studies when it learns of it; an instance it pushed meanwhile is found on research
 * (AlreadyStored, the same bytes) by the replica that took over.
 */
import { safeMessage } from '../errors';
import type { Logger } from '../log';
import type { Db } from '../store/db';
import { renewClaims, type ClaimRef } from '../store/jobs';
import type { Leadership } from '../store/leadership';
import { touchReplica, type ReplicaRole } from '../store/replicas';
import type { ReplicaConfig } from '../config';

export interface ReplicaHooks {
  /** The worker's claims now, and a way to stop the ones another replica took over. */
  readonly worker: {
    claims(): ClaimRef[];
    abandon(ids: readonly number[]): void;
  };
  /** This replica became the leader: start following the change log and the schedules. */
  becameLeader(): void;
  /** It is not the leader any more (its lock's connection was lost): stop them. */
  lostLeadership(): Promise<void>;
  /** Where this replica's API answers, for the replicas list. */
  api(): string | null;
}

export class Replica {
  private role: ReplicaRole = 'worker';
  private timer: NodeJS.Timeout | null = null;
  private beating: Promise<void> | null = null;
  /**
   * Between start() and stop(). Only a replica that ran shows in the list: a CLI command that
   * opened the store does not.
   */
  private running = false;
  private lastRenewed = Date.now();
  private readonly startedAt = new Date().toISOString();

  constructor(
    private readonly db: Db,
    private readonly leadership: Leadership,
    private readonly cfg: ReplicaConfig,
    private readonly log: Logger,
    private readonly hooks: ReplicaHooks,
  ) {}

  get id(): string {
    return this.cfg.id;
  }

  get isLeader(): boolean {
    return this.role === 'leader';
  }

  /** One heartbeat: leadership, claims, presence. Never throws (a failure is logged and retried). */
  async beat(): Promise<void> {
    try {
      const lead = await this.leadership.hold();
      if (lead && this.role !== 'leader') {
        this.role = 'leader';
        this.log.info('this replica leads: it follows the change log and runs the schedules', {
          replica: this.id,
        });
        this.hooks.becameLeader();
      } else if (!lead && this.role === 'leader') {
        this.role = 'worker';
        this.log.warn('leadership lost (its database connection closed); another replica takes over', {
          replica: this.id,
        });
        await this.hooks.lostLeadership();
      }
      // Claims taken before the renewal: one claimed after it is not wrongly seen as lost.
      const mine = this.hooks.worker.claims();
      const held = await renewClaims(this.db, { owner: this.id, leaseMs: this.cfg.leaseMs });
      this.lastRenewed = Date.now();
      const still = new Set(held.map((h) => `${h.id}:${h.attempts}`));
      const lost = mine.filter((c) => !still.has(`${c.id}:${c.attempts}`)).map((c) => c.id);
      if (lost.length > 0) this.hooks.worker.abandon(lost);
      await touchReplica(this.db, {
        id: this.id,
        role: this.running ? this.role : 'stopped',
        api: this.hooks.api(),
        startedAt: this.startedAt,
      });
    } catch (err) {
      this.log.warn('replica heartbeat failed', { replica: this.id, error: safeMessage(err) });
    }
  }

  /** Beats now (so the leader is known at start), then every heartbeatMs; a watchdog stops studies whose lease may have run out. */
  async start(): Promise<void> {
    this.running = true;
    this.lastRenewed = Date.now();
    await this.beat();
    const tick = (): void => {
      if (!this.running) return;
      // Unrenewed for a whole lease (the database unreachable): another replica may have taken
      // these jobs; stop them rather than run on beside it.
      if (Date.now() - this.lastRenewed > this.cfg.leaseMs) {
        const ids = this.hooks.worker.claims().map((c) => c.id);
        if (ids.length > 0) this.hooks.worker.abandon(ids);
      }
      this.beating ??= this.beat().finally(() => (this.beating = null));
      this.timer = setTimeout(tick, this.cfg.heartbeatMs);
    };
    this.timer = setTimeout(tick, this.cfg.heartbeatMs);
  }

  /** Graceful hand-over: the leader lock goes at once, and the replica is shown stopped. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    await this.beating;
    if (this.role === 'leader') await this.hooks.lostLeadership();
    this.role = 'worker';
    await this.leadership.release();
    await touchReplica(this.db, { id: this.id, role: 'stopped', api: null, startedAt: this.startedAt }).catch(
      () => undefined,
    );
  }
}
