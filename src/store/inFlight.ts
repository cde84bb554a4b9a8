/**
 * Instances whose pixels are being read right now (decoding, OCR, the text detector run native and
 * WebAssembly code on untrusted bytes). A row is written before the pixels are touched and removed
 * when the instance ends either way. A row left by a process that died is quarantined at the next
 * start (or when another replica takes the job over), and the instance is not read again until an
 * operator releases it: an image that stops the process cannot stop it on every restart.
 */
import { now, type Db } from './db';
import { recordQuarantined } from './instances';
import { TAG, formatTag } from '../dicom/tags';

export interface InFlight {
  readonly sourceId: string;
  readonly destination: string;
  readonly studyId: string;
  readonly jobId: number;
}

/** The check name of such a quarantine; study runs skip it until it is released. */
export const INTERRUPTED_CHECK = 'interrupted';

/** The check name of an instance an admin took back from research (pipeline/review.ts): held too. */
export const RECALLED_CHECK = 'recalled';

/** Quarantines a study run leaves alone until an operator releases them. */
export const HELD_UNTIL_RELEASE: ReadonlySet<string> = new Set([INTERRUPTED_CHECK, RECALLED_CHECK]);

export const INTERRUPTED_REASON = `interrupted: ${formatTag(TAG.PixelData)} the bridge stopped while reading this instance's pixels; it is kept back so that it cannot stop the bridge again (release it to try again)`;

export async function markPixelsInFlight(db: Db, r: InFlight): Promise<void> {
  await db.run(
    `INSERT INTO pixels_in_flight (source_id, destination, study_id, job_id, started_at) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (source_id, destination) DO UPDATE SET study_id = excluded.study_id, job_id = excluded.job_id, started_at = excluded.started_at`,
    [r.sourceId, r.destination, r.studyId, r.jobId, now()],
  );
}

export async function clearPixelsInFlight(db: Db, sourceId: string, destination: string): Promise<void> {
  await db.run('DELETE FROM pixels_in_flight WHERE source_id = ? AND destination = ?', [
    sourceId,
    destination,
  ]);
}

/**
 * Quarantines the instances a dead process left in flight: every one (the embedded store has one
 * process), those of jobs a replica `owner` ran, or those of the jobs `jobIds` (taken over).
 * Returns how many.
 */
export async function quarantineInterruptedPixels(
  db: Db,
  scope: { owner?: string; jobIds?: readonly number[] } = {},
): Promise<number> {
  let rows: Array<{ source_id: string; destination: string; study_id: string; job_id: number }>;
  if (scope.owner !== undefined)
    rows = await db.all(
      `SELECT p.source_id, p.destination, p.study_id, p.job_id FROM pixels_in_flight p
       JOIN jobs j ON j.id = p.job_id WHERE j.owner = ?`,
      [scope.owner],
    );
  else if (scope.jobIds !== undefined) {
    if (scope.jobIds.length === 0) return 0;
    rows = await db.all(
      `SELECT source_id, destination, study_id, job_id FROM pixels_in_flight WHERE job_id IN (${scope.jobIds.map(() => '?').join(', ')})`,
      [...scope.jobIds],
    );
  } else rows = await db.all('SELECT source_id, destination, study_id, job_id FROM pixels_in_flight');
  for (const r of rows) {
    await recordQuarantined(db, {
      sourceId: r.source_id,
      destination: r.destination,
      studyId: r.study_id,
      jobId: Number(r.job_id),
      check: INTERRUPTED_CHECK,
      tag: formatTag(TAG.PixelData),
      reason: INTERRUPTED_REASON,
      fingerprint: '',
    });
    await clearPixelsInFlight(db, r.source_id, r.destination);
  }
  return rows.length;
}

/** An operator released an interrupted or recalled instance: the next run of its study tries it again. */
export async function allowRetry(db: Db, quarantineId: number): Promise<void> {
  await db.run(
    `UPDATE quarantine SET check_name = CASE check_name WHEN ? THEN 'pixel-policy' ELSE 'released' END
     WHERE id = ? AND check_name IN (?, ?)`,
    [INTERRUPTED_CHECK, quarantineId, INTERRUPTED_CHECK, RECALLED_CHECK],
  );
}
