import type { Db } from './db';
import { claimHeld, type ClaimRef } from './jobs';
import { NO_LIMIT } from './sql';

/** One line of the audit trail: what happened to one source study in one job. No patient values. */
export interface AuditRecord {
  readonly jobId: number;
  readonly destination: string;
  /** The routing rule that sent the study there. */
  readonly route: string | null;
  readonly sourceStudyId: string;
  readonly researchStudyId: string | null;
  readonly pseudonym: string | null;
  readonly state: string;
  readonly trigger: string;
  readonly mode: string;
  readonly instancesTotal: number;
  readonly instancesPushed: number;
  readonly instancesAlready: number;
  readonly instancesUnchanged: number;
  readonly instancesQuarantined: number;
  /** Check name -> instances that passed it. */
  readonly checks: Readonly<Record<string, number>>;
  /** Stage name -> milliseconds, summed over instances; "study" is wall time. */
  readonly durations: Readonly<Record<string, number>>;
  readonly profile: string;
  readonly keyVersion: string;
  readonly startedAt: string;
  readonly finishedAt: string;
}

interface Row {
  job_id: number;
  destination: string;
  route: string | null;
  source_study_id: string;
  research_study_id: string | null;
  pseudonym: string | null;
  state: string;
  trigger: string;
  mode: string;
  instances_total: number;
  instances_pushed: number;
  instances_already: number;
  instances_unchanged: number;
  instances_quarantined: number;
  checks: string;
  durations: string;
  profile: string;
  key_version: string;
  started_at: string;
  finished_at: string;
}

/**
 * Writes the job's final record for one destination, once. Only while the claim is held: a
 * runner whose job was taken over writes nothing and gets false. A record the job already has for
 * that destination (an earlier attempt got this far, or a retried statement after a lost
 * connection) is kept as it is, and the call succeeds.
 */
export async function insertAudit(db: Db, claim: ClaimRef, a: AuditRecord): Promise<boolean> {
  return db.transaction(async (tx) => {
    if (!(await claimHeld(tx, claim))) return false;
    if (
      await tx.get('SELECT 1 AS found FROM audit WHERE job_id = ? AND destination = ?', [
        a.jobId,
        a.destination,
      ])
    )
      return true;
    await tx.run(
      `INSERT INTO audit (job_id, destination, route, source_study_id, research_study_id, pseudonym, state, trigger, mode, instances_total, instances_pushed,
         instances_already, instances_unchanged, instances_quarantined, checks, durations, profile, key_version, started_at, finished_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        a.jobId,
        a.destination,
        a.route,
        a.sourceStudyId,
        a.researchStudyId,
        a.pseudonym,
        a.state,
        a.trigger,
        a.mode,
        a.instancesTotal,
        a.instancesPushed,
        a.instancesAlready,
        a.instancesUnchanged,
        a.instancesQuarantined,
        JSON.stringify(a.checks),
        JSON.stringify(a.durations),
        a.profile,
        a.keyVersion,
        a.startedAt,
        a.finishedAt,
      ],
    );
    return true;
  });
}

export async function listAudit(
  db: Db,
  opts: { since?: string; limit?: number; offset?: number } = {},
): Promise<AuditRecord[]> {
  const since = opts.since ?? null;
  const rows = await db.all<Row>(
    `SELECT * FROM audit WHERE (CAST(? AS TEXT) IS NULL OR finished_at >= ?) ORDER BY id LIMIT ? OFFSET ?`,
    [since, since, opts.limit ?? NO_LIMIT, opts.offset ?? 0],
  );
  return rows.map((r) => ({
    jobId: r.job_id,
    destination: r.destination,
    route: r.route,
    sourceStudyId: r.source_study_id,
    researchStudyId: r.research_study_id,
    pseudonym: r.pseudonym,
    state: r.state,
    trigger: r.trigger,
    mode: r.mode,
    instancesTotal: r.instances_total,
    instancesPushed: r.instances_pushed,
    instancesAlready: r.instances_already,
    instancesUnchanged: r.instances_unchanged,
    instancesQuarantined: r.instances_quarantined,
    checks: JSON.parse(r.checks) as Record<string, number>,
    durations: JSON.parse(r.durations) as Record<string, number>,
    profile: r.profile,
    keyVersion: r.key_version,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
  }));
}
