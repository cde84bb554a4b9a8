/**
 * The dataset types every layer shares: dcmjs's "denaturalized" dataset, keyed by tag as 8
 * upper-case hex digits (`TAG` in tags.ts names them).
 */
export interface DicomElement {
  vr: string;
  Value?: unknown[];
  // dcmjs keeps the undecoded bytes here when asked to (forceStoreRaw).
  _rawValue?: unknown;
}
export type Dataset = Record<string, DicomElement>;
