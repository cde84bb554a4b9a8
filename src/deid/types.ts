/** Action codes of PS3.15 Table E.1-1 (basic profile column). */
export type BasicAction = 'D' | 'Z' | 'X' | 'U' | 'Z/D' | 'X/Z' | 'X/D' | 'X/Z/D' | 'X/Z/U*';
/** Action codes of the option columns. */
export type OptionAction = 'K' | 'C';
/** A single action after combined codes and options have been resolved. */
export type ResolvedAction = 'D' | 'Z' | 'X' | 'U' | 'K' | 'C';

export const OPTION_NAMES = [
  'retainSafePrivate',
  'retainUids',
  'retainDeviceIdentity',
  'retainInstitutionIdentity',
  'retainPatientCharacteristics',
  'retainLongitudinalFullDates',
  'retainLongitudinalModifiedDates',
  'cleanDescriptors',
  'cleanStructuredContent',
  'cleanGraphics',
] as const;
export type OptionName = (typeof OPTION_NAMES)[number];
export type ProfileOptions = Record<OptionName, boolean>;

export type RowMatch =
  | { kind: 'tag'; tag: string }
  | { kind: 'groupRange'; groupMask: number; groupValue: number; element: number | null }
  | { kind: 'private' };

export interface TableRow {
  id: string;
  tag: string;
  name: string;
  keyword: string | null;
  vr: string | null;
  inStdCompIOD: boolean;
  basic: BasicAction;
  options: Partial<Record<OptionName, OptionAction>>;
  match: RowMatch;
}

/** The dataset types live with the DICOM layer (dicom/dataset.ts). */
export type { Dataset, DicomElement } from '../dicom/dataset';
