import { createHash } from 'node:crypto';

/** Orthanc's resource ID: SHA-1 of the identifying UIDs joined by "|", as five dash-separated groups of 8 hex digits. */
function orthancHash(parts: readonly string[]): string {
  const hex = createHash('sha1').update(parts.join('|'), 'utf8').digest('hex');
  return hex.match(/.{8}/g)!.join('-');
}

export function orthancStudyId(patientId: string, studyUid: string): string {
  return orthancHash([patientId, studyUid]);
}

export function orthancInstanceId(
  patientId: string,
  studyUid: string,
  seriesUid: string,
  sopUid: string,
): string {
  return orthancHash([patientId, studyUid, seriesUid, sopUid]);
}
