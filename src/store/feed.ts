import { now, type Db } from './db';
import { enqueueJob, type JobTrigger } from './jobs';

export interface FeedState {
  readonly cursor: number;
  readonly anchorSeq: number | null;
  readonly anchorChange: string | null;
  readonly anchorResource: string | null;
  readonly orthancLast: number | null;
  readonly resets: number;
  readonly updatedAt: string;
}

interface FeedRow {
  cursor: number;
  anchor_seq: number | null;
  anchor_change: string | null;
  anchor_resource: string | null;
  orthanc_last: number | null;
  resets: number;
  updated_at: string;
}

export async function readFeedState(db: Db): Promise<FeedState> {
  const r = (await db.get<FeedRow>('SELECT * FROM feed_state WHERE id = 1'))!;
  return {
    cursor: r.cursor,
    anchorSeq: r.anchor_seq,
    anchorChange: r.anchor_change,
    anchorResource: r.anchor_resource,
    orthancLast: r.orthanc_last,
    resets: r.resets,
    updatedAt: r.updated_at,
  };
}

export interface FeedBatch {
  /** Studies that became stable in this batch, with the change that said so. */
  readonly studies: ReadonlyArray<{ studyId: string; seq: number }>;
  readonly cursor: number;
  /** The last change read, remembered so a reset Orthanc can be told from one that moved on. */
  readonly anchor: { seq: number; change: string; resource: string } | null;
  readonly orthancLast: number;
}

/** Stores the jobs a batch produced and moves the cursor, in one transaction. Returns jobs created. */
export async function commitFeedBatch(
  db: Db,
  batch: FeedBatch,
  trigger: JobTrigger = 'change',
): Promise<number> {
  return db.transaction(async (tx) => {
    let created = 0;
    for (const s of batch.studies) if (await enqueueJob(tx, s.studyId, trigger, s.seq)) created++;
    const a = batch.anchor;
    await tx.run(
      `UPDATE feed_state SET cursor = ?, orthanc_last = ?, updated_at = ?,
         anchor_seq = COALESCE(CAST(? AS BIGINT), anchor_seq), anchor_change = COALESCE(CAST(? AS TEXT), anchor_change),
         anchor_resource = COALESCE(CAST(? AS TEXT), anchor_resource)
       WHERE id = 1`,
      [batch.cursor, batch.orthancLast, now(), a?.seq ?? null, a?.change ?? null, a?.resource ?? null],
    );
    return created;
  });
}

/** The change log restarted (new or reset Orthanc index): read it again from the start. */
export async function resetFeed(db: Db, orthancLast: number): Promise<void> {
  await db.run(
    `UPDATE feed_state SET cursor = 0, anchor_seq = NULL, anchor_change = NULL, anchor_resource = NULL,
       orthanc_last = ?, resets = resets + 1, updated_at = ? WHERE id = 1`,
    [orthancLast, now()],
  );
}

export async function recordOrthancLast(db: Db, orthancLast: number): Promise<void> {
  await db.run('UPDATE feed_state SET orthanc_last = ?, updated_at = ? WHERE id = 1', [orthancLast, now()]);
}

/** Hours of feed-lag history kept (90 days): older hours are dropped as new ones are written. */
const FEED_LAG_HOURS = 90 * 24;

/**
 * Records the lag a poll found (changes the clinical Orthanc had that the feed had not read) in
 * its hour: the hour keeps the largest, and counts its polls. One small row per hour.
 */
export async function recordFeedLag(db: Db, lag: number, at = new Date()): Promise<void> {
  const hour = at.toISOString().slice(0, 13);
  await db.run(
    `INSERT INTO feed_lag (hour, max_lag, polls) VALUES (?, ?, 1)
     ON CONFLICT (hour) DO UPDATE SET polls = feed_lag.polls + 1,
       max_lag = CASE WHEN excluded.max_lag > feed_lag.max_lag THEN excluded.max_lag ELSE feed_lag.max_lag END`,
    [hour, lag],
  );
  const oldest = new Date(at.getTime() - FEED_LAG_HOURS * 3_600_000).toISOString().slice(0, 13);
  await db.run('DELETE FROM feed_lag WHERE hour < ?', [oldest]);
}
