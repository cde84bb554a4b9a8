import { now, type Db } from './db';

export interface InstanceRecord {
  readonly sourceId: string;
  readonly studyId: string;
  readonly state: 'pushed' | 'quarantined';
  readonly researchId: string | null;
  readonly researchStudyId: string | null;
  readonly md5: string | null;
  readonly fingerprint: string;
}

interface Row {
  source_id: string;
  study_id: string;
  state: 'pushed' | 'quarantined';
  research_id: string | null;
  research_study_id: string | null;
  md5: string | null;
  fingerprint: string;
}

/** Instances of a study already carried across, keyed by source instance ID. */
export function instancesOfStudy(db: Db, studyId: string): Map<string, InstanceRecord> {
  const rows = db.prepare('SELECT * FROM instances WHERE study_id = ?').all(studyId) as Row[];
  return new Map(
    rows.map((r) => [
      r.source_id,
      {
        sourceId: r.source_id,
        studyId: r.study_id,
        state: r.state,
        researchId: r.research_id,
        researchStudyId: r.research_study_id,
        md5: r.md5,
        fingerprint: r.fingerprint,
      },
    ]),
  );
}

export function recordPushed(
  db: Db,
  r: {
    sourceId: string;
    studyId: string;
    jobId: number;
    researchId: string;
    researchStudyId: string;
    md5: string;
    fingerprint: string;
  },
): void {
  db.transaction(() => {
    db.prepare(
      `INSERT INTO instances (source_id, study_id, job_id, state, research_id, research_study_id, md5, fingerprint, updated_at)
       VALUES (?, ?, ?, 'pushed', ?, ?, ?, ?, ?)
       ON CONFLICT (source_id) DO UPDATE SET job_id = excluded.job_id, state = 'pushed', research_id = excluded.research_id,
         research_study_id = excluded.research_study_id, md5 = excluded.md5, fingerprint = excluded.fingerprint, updated_at = excluded.updated_at`,
    ).run(r.sourceId, r.studyId, r.jobId, r.researchId, r.researchStudyId, r.md5, r.fingerprint, now());
    db.prepare('DELETE FROM quarantine WHERE source_id = ?').run(r.sourceId);
  })();
}

export interface QuarantineEntry {
  readonly id: number;
  readonly sourceId: string;
  readonly studyId: string;
  readonly jobId: number;
  readonly check: string;
  readonly tag: string | null;
  readonly reason: string;
  readonly createdAt: string;
}

/** Quarantines an instance. The reason names the check and the tag; callers never put values in it. */
export function recordQuarantined(
  db: Db,
  q: {
    sourceId: string;
    studyId: string;
    jobId: number;
    check: string;
    tag: string | null;
    reason: string;
    fingerprint: string;
  },
): void {
  db.transaction(() => {
    db.prepare(
      `INSERT INTO instances (source_id, study_id, job_id, state, fingerprint, updated_at) VALUES (?, ?, ?, 'quarantined', ?, ?)
       ON CONFLICT (source_id) DO UPDATE SET job_id = excluded.job_id, state = 'quarantined', research_id = NULL,
         research_study_id = NULL, md5 = NULL, fingerprint = excluded.fingerprint, updated_at = excluded.updated_at`,
    ).run(q.sourceId, q.studyId, q.jobId, q.fingerprint, now());
    db.prepare(
      `INSERT INTO quarantine (source_id, study_id, job_id, check_name, tag, reason, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (source_id) DO UPDATE SET job_id = excluded.job_id, check_name = excluded.check_name, tag = excluded.tag,
         reason = excluded.reason, created_at = excluded.created_at`,
    ).run(q.sourceId, q.studyId, q.jobId, q.check, q.tag, q.reason, now());
  })();
}

interface QRow {
  id: number;
  source_id: string;
  study_id: string;
  job_id: number;
  check_name: string;
  tag: string | null;
  reason: string;
  created_at: string;
}

export function listQuarantine(db: Db, opts: { studyId?: string; limit?: number } = {}): QuarantineEntry[] {
  const rows = db
    .prepare(
      'SELECT * FROM quarantine WHERE (@study IS NULL OR study_id = @study) ORDER BY id DESC LIMIT @limit',
    )
    .all({ study: opts.studyId ?? null, limit: opts.limit ?? 500 }) as QRow[];
  return rows.map((r) => ({
    id: r.id,
    sourceId: r.source_id,
    studyId: r.study_id,
    jobId: r.job_id,
    check: r.check_name,
    tag: r.tag,
    reason: r.reason,
    createdAt: r.created_at,
  }));
}

export function countQuarantine(db: Db): number {
  return (db.prepare('SELECT COUNT(*) AS n FROM quarantine').get() as { n: number }).n;
}
