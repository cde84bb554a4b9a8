/**
 * Reading the clinical Orthanc's change log: whether it is still the log a stored position points
 * into, and which changes name a stable study. HTTP only; the loop and its transaction are in
 * pipeline/feed.ts.
 */
import { ChangeType, type Change, type OrthancClient } from './client';

/** Where a reader stands in the change log, and the last change it read there. */
export interface ChangeLogPosition {
  readonly cursor: number;
  readonly anchorSeq: number | null;
  readonly anchorChange: string | null;
  readonly anchorResource: string | null;
}

/**
 * Why the change log is not the one `position` points into (a new or reset Orthanc index), or
 * null when it still is. Orthanc's sequence numbers only grow, but a reset index starts again at 1.
 */
export async function changeLogReset(
  client: OrthancClient,
  position: ChangeLogPosition,
  orthancLast: number,
): Promise<string | null> {
  if (orthancLast < position.cursor)
    return `change log is at ${orthancLast}, behind the cursor ${position.cursor}`;
  if (position.anchorSeq === null || position.anchorSeq > orthancLast) return null;
  const page = await client.changes(position.anchorSeq - 1, 1);
  const first = page.Changes[0];
  // A missing anchor is a deleted resource (Orthanc drops its changes): the log is the same one.
  // The same sequence number naming another change means the log was rebuilt.
  if (
    first &&
    first.Seq === position.anchorSeq &&
    (first.ID !== position.anchorResource || first.ChangeType !== position.anchorChange)
  ) {
    return `change ${position.anchorSeq} is not the one read before`;
  }
  return null;
}

/** The studies a page of changes calls stable, with the change that said so. */
export function stableStudies(changes: readonly Change[]): Array<{ studyId: string; seq: number }> {
  return changes
    .filter((c) => c.ChangeType === ChangeType.StableStudy && c.ResourceType === 'Study')
    .map((c) => ({ studyId: c.ID, seq: c.Seq }));
}
