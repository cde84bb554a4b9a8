import { now, type Db } from './db';

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
  };
}

/**
 * Queues a study unless it is queued already (a queued job asked to reprocess is upgraded).
 * Returns true when a new job was created.
 */
export function enqueueJob(
  db: Db,
  studyId: string,
  trigger: JobTrigger,
  changeSeq: number | null = null,
  mode: JobMode = 'normal',
): boolean {
  return db.transaction(() => {
    if (mode === 'reprocess') {
      db.prepare(`UPDATE jobs SET mode = 'reprocess' WHERE study_id = ? AND state = 'queued'`).run(studyId);
    }
    const info = db
      .prepare(
        `INSERT INTO jobs (study_id, state, trigger, mode, change_seq, created_at) VALUES (?, 'queued', ?, ?, ?, ?)
         ON CONFLICT (study_id) WHERE state = 'queued' DO NOTHING`,
      )
      .run(studyId, trigger, mode, changeSeq, now());
    return info.changes === 1;
  })();
}

/** Takes the oldest due job whose study is not being worked on already. */
export function claimJob(db: Db, nowMs: number = Date.now()): Job | undefined {
  const row = db
    .prepare(
      `UPDATE jobs SET state = 'running', attempts = attempts + 1, started_at = ?
       WHERE id = (
         SELECT id FROM jobs q WHERE q.state = 'queued' AND q.not_before <= ?
           AND NOT EXISTS (SELECT 1 FROM jobs r WHERE r.study_id = q.study_id AND r.state = 'running')
         ORDER BY q.not_before, q.id LIMIT 1)
       RETURNING *`,
    )
    .get(now(), nowMs) as JobRow | undefined;
  return row ? toJob(row) : undefined;
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

export function finishJob(db: Db, id: number, o: JobOutcome): void {
  db.prepare(
    `UPDATE jobs SET state = ?, research_study_id = ?, pseudonym = ?, instances_total = ?, instances_pushed = ?,
       instances_already = ?, instances_skipped = ?, instances_quarantined = ?, reason = ?, finished_at = ? WHERE id = ?`,
  ).run(
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
    id,
  );
}

/**
 * Puts a job that hit a transient fault back in the queue for later. If the study was queued
 * again meanwhile, that newer job covers it and this one is closed as skipped.
 */
export function retryJobLater(db: Db, id: number, notBefore: number, reason: string): void {
  db.transaction(() => {
    const job = db.prepare('SELECT study_id FROM jobs WHERE id = ?').get(id) as
      { study_id: string } | undefined;
    if (!job) return;
    const queued = db
      .prepare(`SELECT id FROM jobs WHERE study_id = ? AND state = 'queued'`)
      .get(job.study_id);
    if (queued) {
      db.prepare(`UPDATE jobs SET state = 'skipped', reason = ?, finished_at = ? WHERE id = ?`).run(
        `superseded after: ${reason}`,
        now(),
        id,
      );
    } else {
      db.prepare(`UPDATE jobs SET state = 'queued', not_before = ?, reason = ? WHERE id = ?`).run(
        notBefore,
        reason,
        id,
      );
    }
  })();
}

/** After a crash: jobs left running are queued again (or closed when a newer one is queued). */
export function requeueInterrupted(db: Db): number {
  return db.transaction(() => {
    const ids = (db.prepare(`SELECT id FROM jobs WHERE state = 'running'`).all() as { id: number }[]).map(
      (r) => r.id,
    );
    for (const id of ids) retryJobLater(db, id, 0, 'interrupted by a restart');
    return ids.length;
  })();
}

export function getJob(db: Db, id: number): Job | undefined {
  const r = db.prepare('SELECT * FROM jobs WHERE id = ?').get(id) as JobRow | undefined;
  return r ? toJob(r) : undefined;
}

export function listJobs(db: Db, opts: { state?: JobState; studyId?: string; limit?: number } = {}): Job[] {
  const rows = db
    .prepare(
      `SELECT * FROM jobs WHERE (@state IS NULL OR state = @state) AND (@study IS NULL OR study_id = @study)
       ORDER BY id DESC LIMIT @limit`,
    )
    .all({ state: opts.state ?? null, study: opts.studyId ?? null, limit: opts.limit ?? 100 }) as JobRow[];
  return rows.map(toJob);
}

export function countJobsByState(db: Db): Record<JobState, number> {
  const out: Record<JobState, number> = {
    queued: 0,
    running: 0,
    done: 0,
    quarantined: 0,
    failed: 0,
    skipped: 0,
  };
  for (const r of db.prepare('SELECT state, COUNT(*) AS n FROM jobs GROUP BY state').all() as {
    state: JobState;
    n: number;
  }[]) {
    out[r.state] = r.n;
  }
  return out;
}

/** Studies whose latest job ended failed: the retry sweep queues them again. */
export function studiesWithFailedLatestJob(db: Db): string[] {
  return (
    db
      .prepare(
        `SELECT j.study_id FROM jobs j
         WHERE j.id = (SELECT MAX(id) FROM jobs k WHERE k.study_id = j.study_id) AND j.state = 'failed'`,
      )
      .all() as { study_id: string }[]
  ).map((r) => r.study_id);
}

/** Whether anything is still to do now or later (queued or running). */
export function hasOpenJobs(db: Db): boolean {
  return db.prepare(`SELECT 1 FROM jobs WHERE state IN ('queued', 'running') LIMIT 1`).get() !== undefined;
}

/** The earliest time a queued job becomes due, or undefined when none is queued. */
export function nextDueAt(db: Db): number | undefined {
  const r = db.prepare(`SELECT MIN(not_before) AS t FROM jobs WHERE state = 'queued'`).get() as {
    t: number | null;
  };
  return r.t ?? undefined;
}
