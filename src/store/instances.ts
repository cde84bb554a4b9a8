import { now, type Db } from './db';

export interface InstanceRecord {
  readonly sourceId: string;
  readonly destination: string;
  readonly studyId: string;
  readonly state: 'pushed' | 'quarantined';
  readonly researchId: string | null;
  readonly researchStudyId: string | null;
  readonly md5: string | null;
  readonly fingerprint: string;
  readonly pseudonym: string | null;
  /** Quarantined and discarded by an operator: accounted for, never retried. */
  readonly discarded: boolean;
}

interface Row {
  source_id: string;
  destination: string;
  study_id: string;
  state: 'pushed' | 'quarantined';
  research_id: string | null;
  research_study_id: string | null;
  md5: string | null;
  fingerprint: string;
  pseudonym: string | null;
  q_status: string | null;
}

function toRecord(r: Row): InstanceRecord {
  return {
    sourceId: r.source_id,
    destination: r.destination,
    studyId: r.study_id,
    state: r.state,
    researchId: r.research_id,
    researchStudyId: r.research_study_id,
    md5: r.md5,
    fingerprint: r.fingerprint,
    pseudonym: r.pseudonym,
    discarded: r.state === 'quarantined' && r.q_status === 'discarded',
  };
}

const SELECT = `SELECT i.*, q.status AS q_status FROM instances i
  LEFT JOIN quarantine q ON q.source_id = i.source_id AND q.destination = i.destination`;

/** Instances of a study already carried to a destination (or quarantined), keyed by source instance ID. */
export function instancesOfStudy(db: Db, studyId: string, destination: string): Map<string, InstanceRecord> {
  const rows = db
    .prepare(`${SELECT} WHERE i.study_id = ? AND i.destination = ?`)
    .all(studyId, destination) as Row[];
  return new Map(rows.map((r) => [r.source_id, toRecord(r)]));
}

/** Source studies with at least one instance carried under this pseudonym. */
export function studiesOfPseudonym(db: Db, pseudonym: string): string[] {
  return (
    db.prepare('SELECT DISTINCT study_id FROM instances WHERE pseudonym = ?').all(pseudonym) as {
      study_id: string;
    }[]
  ).map((r) => r.study_id);
}

/** Every (source study, destination) pair the bridge has carried (or tried to). */
export function knownStudyDestinations(db: Db): Array<{ studyId: string; destination: string }> {
  return (
    db
      .prepare('SELECT DISTINCT study_id, destination FROM instances ORDER BY study_id, destination')
      .all() as {
      study_id: string;
      destination: string;
    }[]
  ).map((r) => ({ studyId: r.study_id, destination: r.destination }));
}

/** Instances pushed (first time or again) since an ISO time, for throughput figures. */
export function pushedSince(db: Db, sinceIso: string): number {
  return (
    db
      .prepare(`SELECT COUNT(*) AS n FROM instances WHERE state = 'pushed' AND updated_at >= ?`)
      .get(sinceIso) as { n: number }
  ).n;
}

/** Every source study the bridge has carried (or tried to). */
export function knownStudies(db: Db): string[] {
  return (
    db.prepare('SELECT DISTINCT study_id FROM instances ORDER BY study_id').all() as { study_id: string }[]
  ).map((r) => r.study_id);
}

export interface PushedInstance {
  readonly sourceId: string;
  readonly destination: string;
  readonly studyId: string;
  readonly jobId: number;
  readonly researchId: string;
  readonly researchStudyId: string;
  readonly md5: string;
  readonly fingerprint: string;
  readonly pseudonym: string;
  /** Export fields read from the de-identified output. */
  readonly metadata: Readonly<Record<string, string>>;
}

export function recordPushed(db: Db, r: PushedInstance): void {
  const p = { ...r, metadata: JSON.stringify(r.metadata), now: now() };
  db.transaction(() => {
    db.prepare(
      `INSERT INTO instances (source_id, destination, study_id, job_id, state, research_id, research_study_id, md5, fingerprint, pseudonym, updated_at)
       VALUES (@sourceId, @destination, @studyId, @jobId, 'pushed', @researchId, @researchStudyId, @md5, @fingerprint, @pseudonym, @now)
       ON CONFLICT (source_id, destination) DO UPDATE SET job_id = excluded.job_id, state = 'pushed', research_id = excluded.research_id,
         research_study_id = excluded.research_study_id, md5 = excluded.md5, fingerprint = excluded.fingerprint,
         pseudonym = excluded.pseudonym, updated_at = excluded.updated_at`,
    ).run(p);
    db.prepare('DELETE FROM quarantine WHERE source_id = @sourceId AND destination = @destination').run(p);
    db.prepare(
      `INSERT INTO instance_metadata (source_id, destination, source_study_id, research_id, research_study_id, pseudonym, fields, updated_at)
       VALUES (@sourceId, @destination, @studyId, @researchId, @researchStudyId, @pseudonym, @metadata, @now)
       ON CONFLICT (source_id, destination) DO UPDATE SET research_id = excluded.research_id, research_study_id = excluded.research_study_id,
         pseudonym = excluded.pseudonym, fields = excluded.fields, updated_at = excluded.updated_at`,
    ).run(p);
  })();
}

/** The source instance recorded as carried to this research instance, if any. */
export function carriedAs(
  db: Db,
  researchId: string,
  destination: string,
): { sourceId: string; studyId: string } | undefined {
  return db
    .prepare(
      `SELECT source_id AS sourceId, study_id AS studyId FROM instances
       WHERE research_id = ? AND destination = ? AND state = 'pushed' LIMIT 1`,
    )
    .get(researchId, destination) as { sourceId: string; studyId: string } | undefined;
}

/** Forgets that an instance is on research (it is not there any more, or is about to be replaced). */
export function forgetPushed(db: Db, sourceId: string, destination: string): void {
  db.transaction(() => {
    db.prepare(`DELETE FROM instances WHERE source_id = ? AND destination = ? AND state = 'pushed'`).run(
      sourceId,
      destination,
    );
    db.prepare('DELETE FROM instance_metadata WHERE source_id = ? AND destination = ?').run(
      sourceId,
      destination,
    );
  })();
}

export interface QuarantineEntry {
  readonly id: number;
  readonly sourceId: string;
  readonly destination: string;
  readonly studyId: string;
  readonly jobId: number;
  readonly check: string;
  readonly tag: string | null;
  readonly reason: string;
  readonly status: 'open' | 'discarded';
  readonly createdAt: string;
  readonly resolvedAt: string | null;
}

/** Quarantines an instance. The reason names the check and the tag; callers never put values in it. */
export function recordQuarantined(
  db: Db,
  q: {
    sourceId: string;
    destination: string;
    studyId: string;
    jobId: number;
    check: string;
    tag: string | null;
    reason: string;
    fingerprint: string;
  },
): void {
  const p = { ...q, now: now() };
  db.transaction(() => {
    db.prepare(
      `INSERT INTO instances (source_id, destination, study_id, job_id, state, fingerprint, updated_at)
       VALUES (@sourceId, @destination, @studyId, @jobId, 'quarantined', @fingerprint, @now)
       ON CONFLICT (source_id, destination) DO UPDATE SET job_id = excluded.job_id, state = 'quarantined', research_id = NULL,
         research_study_id = NULL, md5 = NULL, fingerprint = excluded.fingerprint, updated_at = excluded.updated_at`,
    ).run(p);
    db.prepare(
      'DELETE FROM instance_metadata WHERE source_id = @sourceId AND destination = @destination',
    ).run(p);
    db.prepare(
      `INSERT INTO quarantine (source_id, destination, study_id, job_id, check_name, tag, reason, created_at, status)
       VALUES (@sourceId, @destination, @studyId, @jobId, @check, @tag, @reason, @now, 'open')
       ON CONFLICT (source_id, destination) DO UPDATE SET job_id = excluded.job_id, check_name = excluded.check_name, tag = excluded.tag,
         reason = excluded.reason, created_at = excluded.created_at, status = 'open', resolved_at = NULL`,
    ).run(p);
  })();
}

interface QRow {
  id: number;
  source_id: string;
  destination: string;
  study_id: string;
  job_id: number;
  check_name: string;
  tag: string | null;
  reason: string;
  status: 'open' | 'discarded';
  created_at: string;
  resolved_at: string | null;
}

function toEntry(r: QRow): QuarantineEntry {
  return {
    id: r.id,
    sourceId: r.source_id,
    destination: r.destination,
    studyId: r.study_id,
    jobId: r.job_id,
    check: r.check_name,
    tag: r.tag,
    reason: r.reason,
    status: r.status,
    createdAt: r.created_at,
    resolvedAt: r.resolved_at,
  };
}

export function listQuarantine(
  db: Db,
  opts: { studyId?: string; limit?: number; includeDiscarded?: boolean } = {},
): QuarantineEntry[] {
  const rows = db
    .prepare(
      `SELECT * FROM quarantine WHERE (@study IS NULL OR study_id = @study) AND (@all = 1 OR status = 'open')
       ORDER BY id DESC LIMIT @limit`,
    )
    .all({
      study: opts.studyId ?? null,
      limit: opts.limit ?? 500,
      all: opts.includeDiscarded ? 1 : 0,
    }) as QRow[];
  return rows.map(toEntry);
}

/** The check and reason of every open quarantine entry, as a stream (for summaries of any size). */
export function openQuarantineReasons(db: Db): IterableIterator<{ check: string; reason: string }> {
  return db
    .prepare(`SELECT check_name AS "check", reason FROM quarantine WHERE status = 'open'`)
    .iterate() as IterableIterator<{ check: string; reason: string }>;
}

export function getQuarantine(db: Db, id: number): QuarantineEntry | undefined {
  const r = db.prepare('SELECT * FROM quarantine WHERE id = ?').get(id) as QRow | undefined;
  return r ? toEntry(r) : undefined;
}

/** An operator decided this instance will not go: it stays accounted for and is never retried. */
export function discardQuarantine(db: Db, id: number): boolean {
  return (
    db
      .prepare(`UPDATE quarantine SET status = 'discarded', resolved_at = ? WHERE id = ? AND status = 'open'`)
      .run(now(), id).changes === 1
  );
}

/** Open quarantine entries (discarded ones are closed). */
export function countQuarantine(db: Db): number {
  return (db.prepare(`SELECT COUNT(*) AS n FROM quarantine WHERE status = 'open'`).get() as { n: number }).n;
}
