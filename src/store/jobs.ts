import { now, type Db } from './db';
import { LOCK } from './sql';

export const JobState = {
  Queued: 'queued',
  Running: 'running',
  Done: 'done',
  Quarantined: 'quarantined',
  Failed: 'failed',
  Skipped: 'skipped',
} as const;
export type JobState = (typeof JobState)[keyof typeof JobState];
export type JobTrigger = 'change' | 'api' | 'cli' | 'reconcile' | 'retry' | 'release' | 'reprocess';
/** normal: carry what is not on research yet; reprocess: re-derive everything and replace the research study. */
export type JobMode = 'normal' | 'reprocess';

export interface Job {
  readonly id: number;
  readonly studyId: string;
  readonly state: JobState;
  readonly trigger: JobTrigger;
  readonly mode: JobMode;
  readonly changeSeq: number | null;
  readonly attempts: number;
  readonly notBefore: number;
  readonly researchStudyId: string | null;
  readonly pseudonym: string | null;
  readonly instancesTotal: number | null;
  readonly instancesPushed: number | null;
  readonly instancesAlready: number | null;
  readonly instancesSkipped: number | null;
  readonly instancesQuarantined: number | null;
  readonly reason: string | null;
  readonly createdAt: string;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
  /** The replica that claimed the job last. */
  readonly owner: string | null;
  /** Until when (epoch ms) the claim holds without a heartbeat. */
  readonly leaseUntil: number | null;
}

interface JobRow {
  id: number;
  study_id: string;
  state: JobState;
  trigger: JobTrigger;
  mode: JobMode;
  change_seq: number | null;
  attempts: number;
  not_before: number;
  research_study_id: string | null;
  pseudonym: string | null;
  instances_total: number | null;
  instances_pushed: number | null;
  instances_already: number | null;
  instances_skipped: number | null;
  instances_quarantined: number | null;
  reason: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  owner: string | null;
  lease_until: number | null;
}

function toJob(r: JobRow): Job {
  return {
    id: r.id,
    studyId: r.study_id,
    state: r.state,
    trigger: r.trigger,
    mode: r.mode,
    changeSeq: r.change_seq,
    attempts: r.attempts,
    notBefore: r.not_before,
    researchStudyId: r.research_study_id,
    pseudonym: r.pseudonym,
    instancesTotal: r.instances_total,
    instancesPushed: r.instances_pushed,
    instancesAlready: r.instances_already,
    instancesSkipped: r.instances_skipped,
    instancesQuarantined: r.instances_quarantined,
    reason: r.reason,
    createdAt: r.created_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    owner: r.owner,
    leaseUntil: r.lease_until,
  };
}

/**
 * Queues a study unless it is queued already (a queued job asked to reprocess is upgraded).
 * Returns true when a new job was created.
 */
export async function enqueueJob(
  db: Db,
  studyId: string,
  trigger: JobTrigger,
  changeSeq: number | null = null,
  mode: JobMode = 'normal',
): Promise<boolean> {
  return db.transaction(async (tx) => {
    if (mode === 'reprocess') {
      await tx.run(`UPDATE jobs SET mode = 'reprocess' WHERE study_id = ? AND state = 'queued'`, [studyId]);
    }
    const info = await tx.run(
      `INSERT INTO jobs (study_id, state, trigger, mode, change_seq, created_at) VALUES (?, 'queued', ?, ?, ?, ?)
       ON CONFLICT (study_id) WHERE state = 'queued' DO NOTHING`,
      [studyId, trigger, mode, changeSeq, now()],
    );
    return info.changes === 1;
  });
}

/**
 * The time leases are measured in: the database's clock on PostgreSQL, so replicas on machines
 * whose clocks disagree still agree on when a lease ran out; the process's on SQLite.
 */
async function clockMs(db: Db): Promise<number> {
  if (db.dialect !== 'postgres') return Date.now();
  const r = await db.get<{ ms: number }>(
    `SELECT CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT) AS ms`,
  );
  return r!.ms;
}

/** Who claims, and for how long a claim holds without a heartbeat. */
export interface Claimant {
  readonly owner: string;
  readonly leaseMs: number;
}

/**
 * Takes the oldest due job whose study no replica is working on, for `owner`, with a lease.
 * Claims are serialised across replicas (one short transaction under a cluster-wide lock), so
 * two replicas never run the same study at once.
 */
export async function claimJob(db: Db, claimant: Claimant, at?: number): Promise<Job | undefined> {
  return db.exclusive(LOCK.claim, async (tx) => {
    const nowMs = at ?? (await clockMs(tx));
    const row = await tx.get<JobRow>(
      `UPDATE jobs SET state = 'running', attempts = attempts + 1, started_at = ?, owner = ?, lease_until = ?
       WHERE id = (
         SELECT id FROM jobs q WHERE q.state = 'queued' AND q.not_before <= ?
           AND NOT EXISTS (SELECT 1 FROM jobs r WHERE r.study_id = q.study_id AND r.state = 'running')
         ORDER BY q.not_before, q.id LIMIT 1)
       RETURNING *`,
      [now(), claimant.owner, nowMs + claimant.leaseMs, nowMs],
    );
    return row ? toJob(row) : undefined;
  });
}

/** A claim the heartbeat no longer renewed: its replica died or lost the database. */
export interface TakenOver {
  readonly jobId: number;
  readonly studyId: string;
  readonly owner: string | null;
}

/**
 * Jobs whose lease ran out go back to the queue (or are closed when a newer job for the study is
 * queued), so any replica can take them over. The work done so far is kept: instances already on
 * research are recorded and are not pushed again.
 */
export async function reapExpiredClaims(db: Db, reaper: string, at?: number): Promise<TakenOver[]> {
  return db.exclusive(LOCK.claim, async (tx) => {
    const nowMs = at ?? (await clockMs(tx));
    // Never the reaper's own claims: it is alive (it runs this), its heartbeat was only late.
    const expired = await tx.all<{ id: number; study_id: string; owner: string | null }>(
      `SELECT id, study_id, owner FROM jobs
       WHERE state = 'running' AND lease_until IS NOT NULL AND lease_until < ? AND (owner IS NULL OR owner <> ?)
       ORDER BY id`,
      [nowMs, reaper],
    );
    for (const j of expired)
      await requeue(tx, j.id, 0, `taken over: the claim of replica ${j.owner ?? '(unknown)'} expired`);
    return expired.map((j) => ({ jobId: j.id, studyId: j.study_id, owner: j.owner }));
  });
}

/**
 * Renews the leases of the jobs `owner` runs, and returns them (ID and attempt): a job missing
 * from the answer was taken over, and its runner must stop.
 */
export async function renewClaims(db: Db, claimant: Claimant, at?: number): Promise<ClaimRef[]> {
  return db.transaction(async (tx) => {
    const nowMs = at ?? (await clockMs(tx));
    await tx.run(`UPDATE jobs SET lease_until = ? WHERE owner = ? AND state = 'running'`, [
      nowMs + claimant.leaseMs,
      claimant.owner,
    ]);
    return tx.all<ClaimRef>(`SELECT id, attempts FROM jobs WHERE owner = ? AND state = 'running'`, [
      claimant.owner,
    ]);
  });
}

export interface JobOutcome {
  readonly state: Exclude<JobState, 'queued' | 'running'>;
  readonly researchStudyId?: string | null;
  readonly pseudonym?: string | null;
  readonly total?: number;
  readonly pushed?: number;
  readonly already?: number;
  readonly skipped?: number;
  readonly quarantined?: number;
  readonly reason?: string | null;
}

/** The claim a runner holds: the job and the attempt it claimed (a takeover claims a later one). */
export type ClaimRef = Pick<Job, 'id' | 'attempts'>;

/** The SQL that keeps a write to the claim its runner still holds. */
const HELD = `id = ? AND attempts = ? AND state = 'running'`;

/**
 * Records a job's end state. Returns false, and records nothing, when the claim was taken over
 * meanwhile (the replica that holds it now records the outcome).
 */
export async function finishJob(db: Db, claim: ClaimRef, o: JobOutcome): Promise<boolean> {
  const info = await db.run(
    `UPDATE jobs SET state = ?, research_study_id = ?, pseudonym = ?, instances_total = ?, instances_pushed = ?,
       instances_already = ?, instances_skipped = ?, instances_quarantined = ?, reason = ?, finished_at = ?, lease_until = NULL
     WHERE ${HELD}`,
    [
      o.state,
      o.researchStudyId ?? null,
      o.pseudonym ?? null,
      o.total ?? null,
      o.pushed ?? null,
      o.already ?? null,
      o.skipped ?? null,
      o.quarantined ?? null,
      o.reason ?? null,
      now(),
      claim.id,
      claim.attempts,
    ],
  );
  if (info.changes === 1) return true;
  // A statement re-sent after a lost connection finds its own first write: the same attempt, ended.
  const row = await db.get<{ attempts: number; state: JobState }>(
    'SELECT attempts, state FROM jobs WHERE id = ?',
    [claim.id],
  );
  return row?.attempts === claim.attempts && row.state === o.state;
}

/** Whether the claim is still held by its runner (not taken over, not finished). */
export async function claimHeld(db: Db, claim: ClaimRef): Promise<boolean> {
  return (await db.get(`SELECT 1 AS held FROM jobs WHERE ${HELD}`, [claim.id, claim.attempts])) !== undefined;
}

async function requeue(tx: Db, id: number, notBefore: number, reason: string): Promise<void> {
  const job = await tx.get<{ study_id: string }>('SELECT study_id FROM jobs WHERE id = ?', [id]);
  if (!job) return;
  const queued = await tx.get(`SELECT id FROM jobs WHERE study_id = ? AND state = 'queued'`, [job.study_id]);
  if (queued) {
    await tx.run(
      `UPDATE jobs SET state = 'skipped', reason = ?, finished_at = ?, lease_until = NULL WHERE id = ?`,
      [`superseded after: ${reason}`, now(), id],
    );
  } else {
    await tx.run(
      `UPDATE jobs SET state = 'queued', not_before = ?, reason = ?, lease_until = NULL WHERE id = ?`,
      [notBefore, reason, id],
    );
  }
}

/**
 * Puts a job that hit a transient fault back in the queue for later. If the study was queued
 * again meanwhile, that newer job covers it and this one is closed as skipped. Does nothing when
 * the claim was taken over meanwhile.
 */
export async function retryJobLater(
  db: Db,
  claim: ClaimRef,
  notBefore: number,
  reason: string,
): Promise<boolean> {
  return db.exclusive(LOCK.claim, async (tx) => {
    if (!(await claimHeld(tx, claim))) return false;
    await requeue(tx, claim.id, notBefore, reason);
    return true;
  });
}

/**
 * After a crash: jobs left running are queued again (or closed when a newer one is queued). On the
 * embedded store every running job was this process's; with `owner`, only the jobs a previous run
 * of this replica left (replica IDs are unique among live replicas); other replicas' jobs are
 * taken over by lease.
 */
export async function requeueInterrupted(db: Db, owner?: string): Promise<number> {
  return db.exclusive(LOCK.claim, async (tx) => {
    const ids = (
      await tx.all<{ id: number }>(
        `SELECT id FROM jobs WHERE state = 'running' AND (CAST(? AS TEXT) IS NULL OR owner = ?)`,
        [owner ?? null, owner ?? null],
      )
    ).map((r) => r.id);
    for (const id of ids) await requeue(tx, id, 0, 'interrupted by a restart');
    return ids.length;
  });
}

export async function getJob(db: Db, id: number): Promise<Job | undefined> {
  const r = await db.get<JobRow>('SELECT * FROM jobs WHERE id = ?', [id]);
  return r ? toJob(r) : undefined;
}

export async function listJobs(
  db: Db,
  opts: { state?: JobState; studyId?: string; limit?: number } = {},
): Promise<Job[]> {
  const state = opts.state ?? null;
  const study = opts.studyId ?? null;
  const rows = await db.all<JobRow>(
    `SELECT * FROM jobs WHERE (CAST(? AS TEXT) IS NULL OR state = ?) AND (CAST(? AS TEXT) IS NULL OR study_id = ?)
     ORDER BY id DESC LIMIT ?`,
    [state, state, study, study, opts.limit ?? 100],
  );
  return rows.map(toJob);
}

export async function countJobsByState(db: Db): Promise<Record<JobState, number>> {
  const out: Record<JobState, number> = {
    queued: 0,
    running: 0,
    done: 0,
    quarantined: 0,
    failed: 0,
    skipped: 0,
  };
  for (const r of await db.all<{ state: JobState; n: number }>(
    'SELECT state, COUNT(*) AS n FROM jobs GROUP BY state',
  ))
    out[r.state] = r.n;
  return out;
}

/** Running jobs per replica, for the replicas list. */
export async function runningByOwner(db: Db): Promise<Map<string, number>> {
  const rows = await db.all<{ owner: string | null; n: number }>(
    `SELECT owner, COUNT(*) AS n FROM jobs WHERE state = 'running' GROUP BY owner`,
  );
  return new Map(rows.map((r) => [r.owner ?? '', r.n]));
}

/** Studies whose latest job ended failed: the retry sweep queues them again. */
export async function studiesWithFailedLatestJob(db: Db): Promise<string[]> {
  return (
    await db.all<{ study_id: string }>(
      `SELECT j.study_id FROM jobs j
       WHERE j.id = (SELECT MAX(id) FROM jobs k WHERE k.study_id = j.study_id) AND j.state = 'failed'`,
    )
  ).map((r) => r.study_id);
}

/** Whether anything is still to do now or later (queued or running). */
export async function hasOpenJobs(db: Db): Promise<boolean> {
  return (
    (await db.get(`SELECT 1 AS open FROM jobs WHERE state IN ('queued', 'running') LIMIT 1`)) !== undefined
  );
}

/** The earliest time a queued job becomes due, or undefined when none is queued. */
export async function nextDueAt(db: Db): Promise<number | undefined> {
  const r = await db.get<{ t: number | null }>(
    `SELECT MIN(not_before) AS t FROM jobs WHERE state = 'queued'`,
  );
  return r?.t ?? undefined;
}
