/**
 * The application's use cases, for the API, the admin page, the command line and the schedules:
 * status, queueing a study, quarantine release and discard (audited), reports and exports,
 * reprocess, consistency checks, and the re-identification commands. Entry points call these,
 * never the store or the engine directly (see docs/ARCHITECTURE.md).
 */
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
  openQuarantineReasons,
  pushedSince,
  type QuarantineEntry,
} from '../store/instances';
import { countJobsByState, enqueueJob, listJobs, type Job, type JobState } from '../store/jobs';
import { listMetadata, type MetadataRow } from '../store/metadata';
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

export interface StatusReport {
  readonly jobs: Record<JobState, number>;
  readonly quarantinedInstances: number;
  readonly feed: FeedSnapshot;
  readonly worker: WorkerSnapshot;
}

/** What the service needs of the running bridge; the config and the clients follow reloads. */
export interface ServiceDeps {
  readonly db: Db;
  readonly log: Logger;
  readonly cfg: () => ResolvedConfig;
  readonly source: () => OrthancClient;
  readonly stage: () => BaseContext;
  readonly feed: () => FeedSnapshot;
  readonly worker: { wake(): void; snapshot(): WorkerSnapshot };
  readonly progress: ReadonlyMap<number, StudyProgress>;
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

  status(): StatusReport {
    return {
      jobs: countJobsByState(this.d.db),
      quarantinedInstances: countQuarantine(this.d.db),
      feed: this.d.feed(),
      worker: this.d.worker.snapshot(),
    };
  }

  running(): Array<[number, StudyProgress]> {
    return [...this.d.progress.entries()];
  }

  jobs(opts: { state?: JobState; studyId?: string; limit?: number } = {}): Job[] {
    return listJobs(this.d.db, opts);
  }

  studyState(studyId: string): StudyState {
    return studyState(this.d.db, this.cfg, studyId);
  }

  /** Queues a study by hand (CLI, API, Explorer button); `known` is false when the clinical Orthanc has no such study. */
  async queueStudy(studyId: string, trigger: 'api' | 'cli'): Promise<{ queued: boolean; known: boolean }> {
    const study = await this.d.source().study(studyId);
    if (!study) return { queued: false, known: false };
    const queued = enqueueJob(this.d.db, studyId, trigger);
    this.d.worker.wake();
    return { queued, known: true };
  }

  quarantine(opts: { studyId?: string; limit?: number; includeDiscarded?: boolean } = {}): QuarantineEntry[] {
    return listQuarantine(this.d.db, opts);
  }

  quarantineEntry(id: number): QuarantineEntry | undefined {
    return getQuarantine(this.d.db, id);
  }

  quarantineCount(): number {
    return countQuarantine(this.d.db);
  }

  /** Open entries counted by check and reason, most frequent first. */
  quarantineSummary(): ReasonCount[] {
    return summarizeReasons(openQuarantineReasons(this.d.db));
  }

  /** Queues the entry's study again (its quarantined instances run under the current config); audited. */
  release(
    id: number,
    actor: string,
  ): { released: boolean; studyId?: string; sourceId?: string; destination?: string } {
    const r = releaseQuarantine(this.d.db, id, actor);
    if (r.released) {
      this.log.info('quarantine entry released', { quarantineId: id, study: r.studyId, actor });
      this.d.worker.wake();
    }
    return r;
  }

  /** Sets the instance aside for good (it stays accounted for); audited. */
  discard(id: number, actor: string): { discarded: boolean; studyId?: string } {
    const r = discard(this.d.db, id, actor);
    if (r.discarded) {
      this.log.info('quarantine entry discarded', { quarantineId: id, study: r.studyId, actor });
      this.d.worker.wake();
    }
    return r;
  }

  /** Where an instance of a study stands on a destination after a release. */
  instanceOnResearch(studyId: string, sourceId: string, destination: string): string | undefined {
    const r = instancesOfStudy(this.d.db, studyId, destination).get(sourceId);
    return r?.state === 'pushed' ? (r.researchId ?? undefined) : undefined;
  }

  /** Instances pushed since a moment (ISO 8601), for the throughput on the admin page. */
  pushedSince(iso: string): number {
    return pushedSince(this.d.db, iso);
  }

  auditRecords(opts: { since?: string; limit?: number; offset?: number } = {}): AuditRecord[] {
    return listAudit(this.d.db, opts);
  }

  metadata(opts: { sourceStudyId?: string; limit?: number; offset?: number } = {}): MetadataRow[] {
    return listMetadata(this.d.db, opts);
  }

  adminActions(limit: number): AdminAuditRow[] {
    return listAdminAudit(this.d.db, { limit, newestFirst: true });
  }

  reprocess(target: ReprocessTarget): string[] {
    const studies = queueReprocess(this.d.db, target);
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
  retryFailed(): number {
    return retrySweep(this.d.db, this.log);
  }

  /** The day's audit report file. */
  dailyReport(day: Date): string {
    return writeDailyReport(this.d.db, this.cfg.dataDir, day);
  }

  checkConsistency(): Promise<ConsistencyProblem[]> {
    return checkConsistency(this.d.stage());
  }

  /** The pseudonym of a patient; audited (the pseudonym, never the PatientID). */
  pseudonym(patientId: string, issuer: string, actor: string): string {
    const p = pseudonymFor(deriveKeys(this.cfg.secret), patientId, issuer);
    auditAdmin(this.d.db, { action: 'pseudonym', pseudonym: p, actor, outcome: 'computed' });
    return p;
  }

  /**
   * The identity behind a pseudonym, opened with the re-identification private key; audited.
   * Throws ReidentificationError for a record that was altered or swapped.
   */
  reidentify(pseudonym: string, privateKeyPem: string, actor: string): ReidentifyOutcome {
    const key = loadPrivateKey(privateKeyPem);
    const keyId = keyIdOf(createPublicKey(key));
    const records = sealedFor(this.d.db, pseudonym);
    const record = records.find((r) => r.keyId === keyId);
    const audit = (outcome: string): void =>
      auditAdmin(this.d.db, { action: 'reidentify', pseudonym, actor, outcome });
    if (!record) {
      audit(records.length > 0 ? 'other-key' : 'unknown');
      return records.length > 0
        ? { outcome: 'other-key', keyId, sealedTo: records.map((r) => r.keyId) }
        : { outcome: 'unknown' };
    }
    try {
      const identity = openIdentity(key, pseudonym, record, deriveKeys(this.cfg.secret));
      audit('opened');
      return { outcome: 'opened', ...identity };
    } catch (err) {
      audit('refused');
      throw err;
    }
  }

  /** Key rotation: every identity sealed to the old key sealed again to the configured public key; audited. */
  rewrap(oldPrivateKeyPem: string, actor: string): { count: number; from: string; to: string } {
    if (!this.cfg.reidPublicKeyPem)
      throw new ConfigError('reidentification.publicKeyFile: set the new public key first');
    const oldKey = loadPrivateKey(oldPrivateKeyPem);
    const newKey = loadPublicKey(this.cfg.reidPublicKeyPem);
    const from = keyIdOf(createPublicKey(oldKey));
    const to = keyIdOf(newKey);
    const keys = deriveKeys(this.cfg.secret);
    let count = 0;
    for (const r of allSealed(this.d.db, from)) {
      // A record that does not derive to its pseudonym is not carried over to the new key.
      saveSealed(
        this.d.db,
        r.pseudonym,
        sealIdentity(newKey, r.pseudonym, openIdentity(oldKey, r.pseudonym, r, keys)),
      );
      count++;
    }
    auditAdmin(this.d.db, {
      action: 'reid-rewrap',
      pseudonym: '*',
      actor,
      outcome: `${count} resealed ${from}->${to}`,
    });
    return { count, from, to };
  }
}
