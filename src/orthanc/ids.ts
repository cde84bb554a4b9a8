import { createHash } from 'node:crypto';

/** Orthanc's resource ID: SHA-1 of the identifying UIDs joined by "|", as five dash-separated groups of 8 hex digits. */
function orthancHash(parts: readonly string[]): string {
  const hex = createHash('sha1').update(parts.join('|'), 'utf8').digest('hex');
  return hex.match(/.{8}/g)!.join('-');
}

const ORTHANC_ID = /^[0-9a-f]{8}(-[0-9a-f]{8}){4}$/;

/** True for an Orthanc resource ID as Orthanc writes it (nothing Orthanc would normalise, such as "..."). */
export function isOrthancId(id: string): boolean {
  return ORTHANC_ID.test(id);
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
