/**
 * The application's use cases, for the API, the admin page, the command line and the schedules:
 * status, queueing a study, quarantine release and discard (audited), reports and exports,
 * reprocess, consistency checks, and the re-identification commands. Entry points call these,
 * never the store or the engine directly (see docs/ARCHITECTURE.md).
 */
import type { Proof } from '../destinations';
import { createPublicKey } from 'node:crypto';
import type { ResolvedConfig } from '../config';
import { deriveKeys, pseudonymFor } from '../deid/keys';
import {
  generateReidKeyPair,
  keyIdOf,
  loadPrivateKey,
  loadPublicKey,
  openIdentity,
  sealIdentity,
} from '../deid/reid';
import { ConfigError } from '../errors';
import type { Logger } from '../log';
import type { FeedSnapshot } from '../pipeline/feed';
import type { OrthancClient } from '../orthanc/client';
import {
  checkConsistency,
  discard,
  queueReprocess,
  releaseQuarantine,
  type ConsistencyProblem,
  type ReprocessTarget,
} from '../pipeline/admin';
import type { BaseContext, StudyProgress } from '../pipeline/context';
import type { WorkerSnapshot } from '../pipeline/worker';
import { listAudit, type AuditRecord } from '../store/audit';
import type { Db } from '../store/db';
import {
  countQuarantine,
  getQuarantine,
  instancesOfStudy,
  listQuarantine,
  maskedInstances,
  openQuarantineReasons,
  pushedSince,
  type MaskedInstance,
  type QuarantineEntry,
} from '../store/instances';
import {
  candidateElementsOf,
  candidatePreviewOf,
  HEADER_CHECKS,
  PICTURED_CHECKS,
  previewOf,
  recall,
  type ElementRow,
  type Preview,
} from '../pipeline/review';
import {
  countJobsByState,
  enqueueJob,
  listJobs,
  runningByOwner,
  type Job,
  type JobState,
} from '../store/jobs';
import { listReplicas } from '../store/replicas';
import { listMetadata, type MetadataRow } from '../store/metadata';
import { plotsSince, type Plots } from '../store/plots';
import {
  allSealed,
  auditAdmin,
  listAdminAudit,
  saveSealed,
  sealedFor,
  type AdminAuditRow,
} from '../store/reid';
import { summarizeReasons, type ReasonCount } from '../verify/types';
import { studyState, type StudyState } from './studyState';
import { reconcileSweep, retrySweep, writeDailyReport } from './sweeps';

export type { JobState };

/** One replica as the shared state shows it. */
export interface ReplicaStatus {
  readonly id: string;
  readonly role: string;
  readonly api: string | null;
  readonly startedAt: string;
  readonly lastSeen: string;
  /** Seen within the lease: a replica not seen for longer is presumed dead (its jobs are taken over). */
  readonly alive: boolean;
  readonly runningJobs: number;
  /** This process. */
  readonly self: boolean;
}

export interface StatusReport {
  /** Job counts of the shared store: every replica's. */
  readonly jobs: Record<JobState, number>;
  readonly quarantinedInstances: number;
  readonly feed: FeedSnapshot;
  /** This replica's worker. */
  readonly worker: WorkerSnapshot;
  /** Where the state lives: "sqlite" in dataDir or "postgres" shared by replicas. */
  readonly state: { readonly store: 'sqlite' | 'postgres'; readonly location: string };
  readonly replica: { readonly id: string; readonly leader: boolean };
  /** Replicas seen in the last day, most recently seen first. */
  readonly replicas: readonly ReplicaStatus[];
  /** Every research destination: its kind and what its confirmation proves. */
  readonly destinations: ReadonlyArray<{
    readonly name: string;
    readonly kind: string;
    readonly proves: Proof;
  }>;
}

/** What the service needs of the running bridge; the config and the clients follow reloads. */
export interface ServiceDeps {
  readonly db: Db;
  readonly log: Logger;
  readonly cfg: () => ResolvedConfig;
  readonly source: () => OrthancClient;
  readonly stage: () => BaseContext;
  readonly feed: () => Promise<FeedSnapshot>;
  readonly worker: { wake(): void; snapshot(): WorkerSnapshot };
  readonly progress: ReadonlyMap<number, StudyProgress>;
  /** This process among the replicas. */
  readonly replica: () => { id: string; leader: boolean };
}

export type ReidentifyOutcome =
  | { readonly outcome: 'opened'; readonly patientId: string; readonly issuer: string }
  | { readonly outcome: 'other-key'; readonly keyId: string; readonly sealedTo: readonly string[] }
  | { readonly outcome: 'unknown' };

/** A new re-identification key pair (PEM) and the public key's ID: the daemon gets the public key only. */
export function newReidKeyPair(): { publicPem: string; privatePem: string; keyId: string } {
  const pair = generateReidKeyPair();
  return { ...pair, keyId: keyIdOf(loadPublicKey(pair.publicPem)) };
}

export class BridgeService {
  constructor(private readonly d: ServiceDeps) {}

  get cfg(): ResolvedConfig {
    return this.d.cfg();
  }

  get log(): Logger {
    return this.d.log;
  }

  /** Public fingerprint of the current secret. */
  keyVersion(): string {
    return deriveKeys(this.cfg.secret).version;
  }

  async status(): Promise<StatusReport> {
    const self = this.d.replica();
    return {
      jobs: await countJobsByState(this.d.db),
      quarantinedInstances: await countQuarantine(this.d.db),
      feed: await this.d.feed(),
      worker: this.d.worker.snapshot(),
      state: { store: this.d.db.dialect, location: this.d.db.location },
      replica: self,
      replicas: await this.replicas(self.id),
      destinations: Object.keys(this.d.cfg().destinations).map((name) => {
        const d = this.d.stage().target(name, this.d.cfg().profile, '')!.research;
        return { name, kind: d.kind, proves: d.proves };
      }),
    };
  }

  /** Every replica seen in the last day, with its running jobs; one not seen within a lease is not alive. */
  async replicas(selfId = this.d.replica().id): Promise<ReplicaStatus[]> {
    const nowMs = Date.now();
    const rows = await listReplicas(this.d.db, new Date(nowMs - 86_400_000).toISOString());
    const running = await runningByOwner(this.d.db);
    const lease = this.cfg.replica.leaseMs;
    return rows.map((r) => ({
      ...r,
      alive: r.role !== 'stopped' && nowMs - Date.parse(r.lastSeen) <= lease,
      runningJobs: running.get(r.id) ?? 0,
      self: r.id === selfId,
    }));
  }

  running(): Array<[number, StudyProgress]> {
    return [...this.d.progress.entries()];
  }

  jobs(opts: { state?: JobState; studyId?: string; limit?: number } = {}): Promise<Job[]> {
    return listJobs(this.d.db, opts);
  }

  studyState(studyId: string): Promise<StudyState> {
    return studyState(this.d.db, this.cfg, studyId);
  }

  /** Queues a study by hand (CLI, API, Explorer button); `known` is false when the clinical Orthanc has no such study. */
  async queueStudy(studyId: string, trigger: 'api' | 'cli'): Promise<{ queued: boolean; known: boolean }> {
    const study = await this.d.source().study(studyId);
    if (!study) return { queued: false, known: false };
    const queued = await enqueueJob(this.d.db, studyId, trigger);
    this.d.worker.wake();
    return { queued, known: true };
  }

  quarantine(
    opts: { studyId?: string; limit?: number; includeDiscarded?: boolean } = {},
  ): Promise<QuarantineEntry[]> {
    return listQuarantine(this.d.db, opts);
  }

  quarantineEntry(id: number): Promise<QuarantineEntry | undefined> {
    return getQuarantine(this.d.db, id);
  }

  quarantineCount(): Promise<number> {
    return countQuarantine(this.d.db);
  }

  /** Open entries counted by check and reason, most frequent first. */
  async quarantineSummary(): Promise<ReasonCount[]> {
    return summarizeReasons(await openQuarantineReasons(this.d.db));
  }

  /** Queues the entry's study again (its quarantined instances run under the current config); audited. */
  async release(
    id: number,
    actor: string,
  ): Promise<{ released: boolean; studyId?: string; sourceId?: string; destination?: string }> {
    const r = await releaseQuarantine(this.d.db, id, actor);
    if (r.released) {
      this.log.info('quarantine entry released', { quarantineId: id, study: r.studyId, actor });
      this.d.worker.wake();
    }
    return r;
  }

  /** Carried instances whose pixels were masked in the last `days`, newest first, one page. */
  maskedGallery(opts: { days: number; page: number; perPage: number }): Promise<{
    total: number;
    rows: MaskedInstance[];
  }> {
    const since = new Date(Date.now() - opts.days * 86_400_000).toISOString();
    return maskedInstances(this.d.db, { since, limit: opts.perPage, offset: opts.page * opts.perPage });
  }

  /** The research copy of a masked instance as a PNG, its masks outlined (admin pages only). */
  preview(destination: string, sourceId: string, size: number): Promise<Preview> {
    return previewOf(this.d.stage(), this.d.cfg().profile, destination, sourceId, size);
  }

  /** The admin page's plots over the last `days`, from the shared store. */
  plots(days: number): Promise<Plots> {
    return plotsSince(this.d.db, new Date(Date.now() - days * 86_400_000).toISOString());
  }

  /** The masked candidate of a quarantined instance as a PNG, where its check allows a picture. */
  candidatePreview(quarantineId: number, size: number): Promise<Preview | { none: string }> {
    return candidatePreviewOf(this.d.stage(), this.d.cfg().profile, quarantineId, size);
  }

  /** The header of a quarantined candidate as an element table (paths, never values), for header checks. */
  candidateElements(
    quarantineId: number,
  ): Promise<{ rows: ElementRow[]; more: number; failures: number } | { none: string }> {
    return candidateElementsOf(this.d.stage(), this.d.cfg().profile, quarantineId);
  }

  /** Whether quarantines of this check are about the header alone (shown as an element table). */
  headerOnly(check: string): boolean {
    return HEADER_CHECKS.has(check);
  }

  /** Whether quarantines of this check have a picture (their masks are not in doubt). */
  pictured(check: string): boolean {
    return PICTURED_CHECKS.has(check);
  }

  /** Takes a carried masked instance back from its destination into quarantine; audited. */
  async recall(
    destination: string,
    sourceId: string,
    actor: string,
  ): Promise<'recalled' | 'not-masked' | 'cannot-delete'> {
    const r = await recall(this.d.stage(), this.d.cfg().profile, destination, sourceId, actor);
    if (r === 'recalled') this.log.info('instance recalled', { instance: sourceId, destination, actor });
    return r;
  }

  /** Sets the instance aside for good (it stays accounted for); audited. */
  async discard(id: number, actor: string): Promise<{ discarded: boolean; studyId?: string }> {
    const r = await discard(this.d.db, id, actor);
    if (r.discarded) {
      this.log.info('quarantine entry discarded', { quarantineId: id, study: r.studyId, actor });
      this.d.worker.wake();
    }
    return r;
  }

  /** Where an instance of a study stands on a destination after a release. */
  async instanceOnResearch(
    studyId: string,
    sourceId: string,
    destination: string,
  ): Promise<string | undefined> {
    const r = (await instancesOfStudy(this.d.db, studyId, destination)).get(sourceId);
    return r?.state === 'pushed' ? (r.researchId ?? undefined) : undefined;
  }

  /** Instances pushed since a moment (ISO 8601), for the throughput on the admin page. */
  pushedSince(iso: string): Promise<number> {
    return pushedSince(this.d.db, iso);
  }

  auditRecords(opts: { since?: string; limit?: number; offset?: number } = {}): Promise<AuditRecord[]> {
    return listAudit(this.d.db, opts);
  }

  metadata(opts: { sourceStudyId?: string; limit?: number; offset?: number } = {}): Promise<MetadataRow[]> {
    return listMetadata(this.d.db, opts);
  }

  adminActions(limit: number): Promise<AdminAuditRow[]> {
    return listAdminAudit(this.d.db, { limit, newestFirst: true });
  }

  async reprocess(target: ReprocessTarget): Promise<string[]> {
    const studies = await queueReprocess(this.d.db, target);
    this.log.info('reprocess requested', {
      studies: studies.length,
      target: 'study' in target ? 'study' : 'patient' in target ? 'patient' : 'all',
    });
    this.d.worker.wake();
    return studies;
  }

  /** Reconcile sweep: stable studies of the clinical Orthanc that no job has carried across. */
  reconcile(): Promise<number> {
    return reconcileSweep(this.d.db, this.d.source(), this.log);
  }

  /** Retry sweep: studies whose latest job failed go again. */
  retryFailed(): Promise<number> {
    return retrySweep(this.d.db, this.log);
  }

  /** The day's audit report file. */
  dailyReport(day: Date): Promise<string> {
    return writeDailyReport(this.d.db, this.cfg.reportsDir, day);
  }

  checkConsistency(): Promise<ConsistencyProblem[]> {
    return checkConsistency(this.d.stage());
  }

  /** The pseudonym of a patient; audited (the pseudonym, never the PatientID). */
  async pseudonym(patientId: string, issuer: string, actor: string): Promise<string> {
    const p = pseudonymFor(deriveKeys(this.cfg.secret), patientId, issuer);
    await auditAdmin(this.d.db, { action: 'pseudonym', pseudonym: p, actor, outcome: 'computed' });
    return p;
  }

  /**
   * The identity behind a pseudonym, opened with the re-identification private key; audited.
   * Throws ReidentificationError for a record that was altered or swapped.
   */
  async reidentify(pseudonym: string, privateKeyPem: string, actor: string): Promise<ReidentifyOutcome> {
    const key = loadPrivateKey(privateKeyPem);
    const keyId = keyIdOf(createPublicKey(key));
    const records = await sealedFor(this.d.db, pseudonym);
    const record = records.find((r) => r.keyId === keyId);
    const audit = (outcome: string): Promise<void> =>
      auditAdmin(this.d.db, { action: 'reidentify', pseudonym, actor, outcome });
    if (!record) {
      await audit(records.length > 0 ? 'other-key' : 'unknown');
      return records.length > 0
        ? { outcome: 'other-key', keyId, sealedTo: records.map((r) => r.keyId) }
        : { outcome: 'unknown' };
    }
    try {
      const identity = openIdentity(key, pseudonym, record, deriveKeys(this.cfg.secret));
      await audit('opened');
      return { outcome: 'opened', ...identity };
    } catch (err) {
      await audit('refused');
      throw err;
    }
  }

  /** Key rotation: every identity sealed to the old key sealed again to the configured public key; audited. */
  async rewrap(
    oldPrivateKeyPem: string,
    actor: string,
  ): Promise<{ count: number; from: string; to: string }> {
    if (!this.cfg.reidPublicKeyPem)
      throw new ConfigError('reidentification.publicKeyFile: set the new public key first');
    const oldKey = loadPrivateKey(oldPrivateKeyPem);
    const newKey = loadPublicKey(this.cfg.reidPublicKeyPem);
    const from = keyIdOf(createPublicKey(oldKey));
    const to = keyIdOf(newKey);
    const keys = deriveKeys(this.cfg.secret);
    let count = 0;
    for (const r of await allSealed(this.d.db, from)) {
      // A record that does not derive to its pseudonym is not carried over to the new key.
      await saveSealed(
        this.d.db,
        r.pseudonym,
        sealIdentity(newKey, r.pseudonym, openIdentity(oldKey, r.pseudonym, r, keys)),
      );
      count++;
    }
    await auditAdmin(this.d.db, {
      action: 'reid-rewrap',
      pseudonym: '*',
      actor,
      outcome: `${count} resealed ${from}->${to}`,
    });
    return { count, from, to };
  }
}
