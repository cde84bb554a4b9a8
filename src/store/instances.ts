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
  /** The check of an open quarantine entry (study runs skip `interrupted` ones until released). */
  readonly quarantineCheck: string | null;
  /** Pushed with cleaned pixels: regions masked and their area in pixels (null: pixels unchanged). */
  readonly maskedRegions: number | null;
  readonly maskedArea: number | null;
  /** The largest share of one frame that text masks cover (0-1). */
  readonly maskedShare: number | null;
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
  masked_regions: number | null;
  masked_area: number | null;
  masked_share: number | null;
  q_status: string | null;
  q_check: string | null;
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
    quarantineCheck: r.state === 'quarantined' && r.q_status === 'open' ? (r.q_check ?? null) : null,
    maskedRegions: r.masked_regions ?? null,
    maskedArea: r.masked_area ?? null,
    maskedShare: r.masked_share ?? null,
  };
}

const SELECT = `SELECT i.*, q.status AS q_status, q.check_name AS q_check FROM instances i
  LEFT JOIN quarantine q ON q.source_id = i.source_id AND q.destination = i.destination`;

/** Instances of a study already carried to a destination (or quarantined), keyed by source instance ID. */
export async function instancesOfStudy(
  db: Db,
  studyId: string,
  destination: string,
): Promise<Map<string, InstanceRecord>> {
  const rows = await db.all<Row>(`${SELECT} WHERE i.study_id = ? AND i.destination = ?`, [
    studyId,
    destination,
  ]);
  return new Map(rows.map((r) => [r.source_id, toRecord(r)]));
}

/** Source studies with at least one instance carried under this pseudonym. */
export async function studiesOfPseudonym(db: Db, pseudonym: string): Promise<string[]> {
  return (
    await db.all<{ study_id: string }>(
      'SELECT DISTINCT study_id FROM instances WHERE pseudonym = ? ORDER BY study_id',
      [pseudonym],
    )
  ).map((r) => r.study_id);
}

/** Every (source study, destination) pair the bridge has carried (or tried to). */
export async function knownStudyDestinations(
  db: Db,
): Promise<Array<{ studyId: string; destination: string }>> {
  return (
    await db.all<{ study_id: string; destination: string }>(
      'SELECT DISTINCT study_id, destination FROM instances ORDER BY study_id, destination',
    )
  ).map((r) => ({ studyId: r.study_id, destination: r.destination }));
}

/** Instances pushed (first time or again) since an ISO time, for throughput figures. */
export async function pushedSince(db: Db, sinceIso: string): Promise<number> {
  const r = await db.get<{ n: number }>(
    `SELECT COUNT(*) AS n FROM instances WHERE state = 'pushed' AND updated_at >= ?`,
    [sinceIso],
  );
  return r?.n ?? 0;
}

/** Every source study the bridge has carried (or tried to). */
export async function knownStudies(db: Db): Promise<string[]> {
  return (
    await db.all<{ study_id: string }>('SELECT DISTINCT study_id FROM instances ORDER BY study_id')
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
  /** When the pixels were cleaned: regions masked and their area in pixels. */
  readonly masked?: {
    readonly regions: number;
    readonly area: number;
    readonly share: number;
    readonly boxes?: readonly MaskedBox[];
  };
}

/** A masked rectangle: [frame, x, y, width, height] in image pixels; frame -1: every frame (a configured rectangle, the outside of ultrasound regions). */
export type MaskedBox = readonly [number, number, number, number, number];

/** The most boxes kept per instance (a frame of speckle could give thousands): the rest are counted. */
const MAX_BOXES = 500;

export async function recordPushed(db: Db, r: PushedInstance): Promise<void> {
  const at = now();
  await db.transaction(async (tx) => {
    await tx.run(
      `INSERT INTO instances (source_id, destination, study_id, job_id, state, research_id, research_study_id, md5, fingerprint, pseudonym, masked_regions, masked_area, masked_share, masked_boxes, updated_at)
       VALUES (?, ?, ?, ?, 'pushed', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (source_id, destination) DO UPDATE SET job_id = excluded.job_id, state = 'pushed', research_id = excluded.research_id,
         research_study_id = excluded.research_study_id, md5 = excluded.md5, fingerprint = excluded.fingerprint,
         pseudonym = excluded.pseudonym, masked_regions = excluded.masked_regions, masked_area = excluded.masked_area,
         masked_share = excluded.masked_share, masked_boxes = excluded.masked_boxes, updated_at = excluded.updated_at`,
      [
        r.sourceId,
        r.destination,
        r.studyId,
        r.jobId,
        r.researchId,
        r.researchStudyId,
        r.md5,
        r.fingerprint,
        r.pseudonym,
        r.masked?.regions ?? null,
        r.masked?.area ?? null,
        r.masked?.share ?? null,
        r.masked?.boxes ? JSON.stringify(r.masked.boxes.slice(0, MAX_BOXES)) : null,
        at,
      ],
    );
    await tx.run('DELETE FROM quarantine WHERE source_id = ? AND destination = ?', [
      r.sourceId,
      r.destination,
    ]);
    await tx.run(
      `INSERT INTO instance_metadata (source_id, destination, source_study_id, research_id, research_study_id, pseudonym, fields, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (source_id, destination) DO UPDATE SET research_id = excluded.research_id, research_study_id = excluded.research_study_id,
         pseudonym = excluded.pseudonym, fields = excluded.fields, updated_at = excluded.updated_at`,
      [
        r.sourceId,
        r.destination,
        r.studyId,
        r.researchId,
        r.researchStudyId,
        r.pseudonym,
        JSON.stringify(r.metadata),
        at,
      ],
    );
  });
}

/** The source instance recorded as carried to this research instance, if any. */
export async function carriedAs(
  db: Db,
  researchId: string,
  destination: string,
): Promise<{ sourceId: string; studyId: string } | undefined> {
  const r = await db.get<{ source_id: string; study_id: string }>(
    `SELECT source_id, study_id FROM instances WHERE research_id = ? AND destination = ? AND state = 'pushed' LIMIT 1`,
    [researchId, destination],
  );
  return r ? { sourceId: r.source_id, studyId: r.study_id } : undefined;
}

/** Forgets that an instance is on research (it is not there any more, or is about to be replaced). */
export async function forgetPushed(db: Db, sourceId: string, destination: string): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.run(`DELETE FROM instances WHERE source_id = ? AND destination = ? AND state = 'pushed'`, [
      sourceId,
      destination,
    ]);
    await tx.run('DELETE FROM instance_metadata WHERE source_id = ? AND destination = ?', [
      sourceId,
      destination,
    ]);
  });
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
export async function recordQuarantined(
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
): Promise<void> {
  const at = now();
  await db.transaction(async (tx) => {
    await tx.run(
      `INSERT INTO instances (source_id, destination, study_id, job_id, state, fingerprint, updated_at)
       VALUES (?, ?, ?, ?, 'quarantined', ?, ?)
       ON CONFLICT (source_id, destination) DO UPDATE SET job_id = excluded.job_id, state = 'quarantined', research_id = NULL,
         research_study_id = NULL, md5 = NULL, fingerprint = excluded.fingerprint, updated_at = excluded.updated_at`,
      [q.sourceId, q.destination, q.studyId, q.jobId, q.fingerprint, at],
    );
    await tx.run('DELETE FROM instance_metadata WHERE source_id = ? AND destination = ?', [
      q.sourceId,
      q.destination,
    ]);
    await tx.run(
      `INSERT INTO quarantine (source_id, destination, study_id, job_id, check_name, tag, reason, created_at, status)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'open')
       ON CONFLICT (source_id, destination) DO UPDATE SET job_id = excluded.job_id, check_name = excluded.check_name, tag = excluded.tag,
         reason = excluded.reason, created_at = excluded.created_at, status = 'open', resolved_at = NULL`,
      [q.sourceId, q.destination, q.studyId, q.jobId, q.check, q.tag, q.reason, at],
    );
  });
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

export async function listQuarantine(
  db: Db,
  opts: { studyId?: string; limit?: number; includeDiscarded?: boolean } = {},
): Promise<QuarantineEntry[]> {
  const study = opts.studyId ?? null;
  const rows = await db.all<QRow>(
    `SELECT * FROM quarantine WHERE (CAST(? AS TEXT) IS NULL OR study_id = ?) AND (CAST(? AS INTEGER) = 1 OR status = 'open')
     ORDER BY id DESC LIMIT ?`,
    [study, study, opts.includeDiscarded ? 1 : 0, opts.limit ?? 500],
  );
  return rows.map(toEntry);
}

/**
 * The check and reason of every open quarantine entry, counted in the database: a summary of any
 * number of entries is one row per distinct reason.
 */
export async function openQuarantineReasons(
  db: Db,
): Promise<Array<{ check: string; reason: string; n: number }>> {
  return db.all<{ check: string; reason: string; n: number }>(
    `SELECT check_name AS "check", reason, COUNT(*) AS n FROM quarantine WHERE status = 'open' GROUP BY check_name, reason`,
  );
}

export async function getQuarantine(db: Db, id: number): Promise<QuarantineEntry | undefined> {
  const r = await db.get<QRow>('SELECT * FROM quarantine WHERE id = ?', [id]);
  return r ? toEntry(r) : undefined;
}

/** An operator decided this instance will not go: it stays accounted for and is never retried. */
export async function discardQuarantine(db: Db, id: number): Promise<boolean> {
  const info = await db.run(
    `UPDATE quarantine SET status = 'discarded', resolved_at = ? WHERE id = ? AND status = 'open'`,
    [now(), id],
  );
  return info.changes === 1;
}

/** Open quarantine entries (discarded ones are closed). */
export async function countQuarantine(db: Db): Promise<number> {
  return (await db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM quarantine WHERE status = 'open'`))?.n ?? 0;
}

/** A carried instance whose pixels were masked, for the review gallery. */
export interface MaskedInstance {
  readonly sourceId: string;
  readonly destination: string;
  readonly studyId: string;
  readonly researchId: string;
  readonly jobId: number;
  readonly fingerprint: string;
  readonly maskedShare: number;
  readonly maskedRegions: number;
  readonly boxes: readonly MaskedBox[];
  readonly updatedAt: string;
}

interface MaskedRow {
  source_id: string;
  destination: string;
  study_id: string;
  research_id: string;
  job_id: number;
  fingerprint: string;
  masked_share: number;
  masked_regions: number;
  masked_boxes: string | null;
  updated_at: string;
}

function boxesOf(json: string | null): MaskedBox[] {
  if (!json) return [];
  try {
    const v: unknown = JSON.parse(json);
    return Array.isArray(v)
      ? (v.filter((b) => Array.isArray(b) && b.length === 5 && b.every(Number.isFinite)) as MaskedBox[])
      : [];
  } catch {
    return [];
  }
}

const MASKED_COLUMNS = `source_id, destination, study_id, research_id, job_id, fingerprint, masked_share, masked_regions, masked_boxes, updated_at`;

function maskedOf(r: MaskedRow): MaskedInstance {
  return {
    sourceId: r.source_id,
    destination: r.destination,
    studyId: r.study_id,
    researchId: r.research_id,
    jobId: Number(r.job_id),
    fingerprint: r.fingerprint,
    maskedShare: r.masked_share,
    maskedRegions: r.masked_regions,
    boxes: boxesOf(r.masked_boxes),
    updatedAt: r.updated_at,
  };
}

/** Carried instances with masked pixels, newest first, one page (the store pages, never loads all). */
export async function maskedInstances(
  db: Db,
  opts: { since: string; limit: number; offset: number },
): Promise<{ total: number; rows: MaskedInstance[] }> {
  const where = `state = 'pushed' AND masked_share IS NOT NULL AND research_id IS NOT NULL AND updated_at >= ?`;
  const total = await db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM instances WHERE ${where}`, [
    opts.since,
  ]);
  const rows = await db.all<MaskedRow>(
    `SELECT ${MASKED_COLUMNS} FROM instances WHERE ${where} ORDER BY updated_at DESC, source_id LIMIT ? OFFSET ?`,
    [opts.since, opts.limit, opts.offset],
  );
  return { total: Number(total?.n ?? 0), rows: rows.map(maskedOf) };
}

/** One carried masked instance (for its preview and its recall). */
export async function maskedInstance(
  db: Db,
  sourceId: string,
  destination: string,
): Promise<MaskedInstance | undefined> {
  const r = await db.get<MaskedRow>(
    `SELECT ${MASKED_COLUMNS} FROM instances WHERE source_id = ? AND destination = ? AND state = 'pushed' AND masked_share IS NOT NULL AND research_id IS NOT NULL`,
    [sourceId, destination],
  );
  return r ? maskedOf(r) : undefined;
}
