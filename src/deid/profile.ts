import { PS315_TABLE } from './table.generated';
import {
  OPTION_NAMES,
  type OptionName,
  type ProfileOptions,
  type ResolvedAction,
  type TableRow,
} from './types';

/** A private element that may be kept under Retain Safe Private: its block's creator and element byte. */
export interface SafePrivateEntry {
  group: number;
  creator: string;
  /** The low byte of the element number (the part after the block), 0x00-0xFF. */
  element: number;
}

export interface DeidProfile {
  readonly name: string;
  readonly options: Readonly<ProfileOptions>;
  readonly safePrivate: readonly SafePrivateEntry[];
  /** Largest per-patient date shift in days (Retain Longitudinal Modified Dates). */
  readonly maxDateShiftDays: number;
  readonly pixelPolicy: PixelPolicy;
}

export interface PixelPolicy {
  readonly allowBurnedInAnnotation: boolean;
  readonly allowModalities: readonly string[];
  readonly allowSopClasses: readonly string[];
}

export const STRICT_PIXEL_POLICY: PixelPolicy = Object.freeze({
  allowBurnedInAnnotation: false,
  allowModalities: [],
  allowSopClasses: [],
});

export const BASIC_OPTIONS: ProfileOptions = Object.fromEntries(
  OPTION_NAMES.map((n) => [n, false]),
) as ProfileOptions;

/** The bridge's default: Basic Profile + Retain Longitudinal Modified Dates + Retain Patient Characteristics. */
export const DEFAULT_PROFILE: DeidProfile = Object.freeze({
  name: 'default',
  options: Object.freeze({
    ...BASIC_OPTIONS,
    retainLongitudinalModifiedDates: true,
    retainPatientCharacteristics: true,
  }),
  safePrivate: [],
  maxDateShiftDays: 365,
  pixelPolicy: STRICT_PIXEL_POLICY,
});

const BY_TAG = new Map<string, TableRow>();
const WILDCARDS: TableRow[] = [];
let privateRow: TableRow | undefined;
for (const row of PS315_TABLE) {
  if (row.match.kind === 'tag') BY_TAG.set(row.match.tag, row);
  else if (row.match.kind === 'private') privateRow = row;
  else WILDCARDS.push(row);
}
if (!privateRow) throw new Error('PS3.15 table has no private attributes row');
export const PRIVATE_ROW: TableRow = privateRow;

export function isPrivateTag(tag: string): boolean {
  return (parseInt(tag.slice(0, 4), 16) & 1) === 1;
}

/** The table row governing a tag ("GGGGEEEE", upper case), including the wildcard rows. */
export function rowForTag(tag: string): TableRow | undefined {
  const exact = BY_TAG.get(tag);
  if (exact) return exact;
  const group = parseInt(tag.slice(0, 4), 16);
  if (group & 1) return PRIVATE_ROW;
  const element = parseInt(tag.slice(4), 16);
  for (const row of WILDCARDS) {
    if (row.match.kind !== 'groupRange') continue;
    if ((group & row.match.groupMask) !== row.match.groupValue) continue;
    if (row.match.element === null || row.match.element === element) return row;
  }
  return undefined;
}

/**
 * Resolves a row to one action under the enabled options.
 * Options first: when several enabled options name the row, C (clean) wins over K (keep), the
 * safer of the two. Combined basic codes take the stronger action (X > Z > D) because the engine
 * does not know the IOD's attribute types, except X/Z/U* which keeps the sequence and remaps the
 * UIDs inside it: the remapped references carry no identity and keep the study self-consistent.
 */
export function resolveAction(row: TableRow, options: Readonly<ProfileOptions>): ResolvedAction {
  let optionAction: ResolvedAction | undefined;
  for (const name of OPTION_NAMES) {
    const a = row.options[name as OptionName];
    if (a === undefined || !options[name]) continue;
    if (a === 'C' || optionAction === undefined) optionAction = a;
  }
  if (optionAction) return optionAction;
  switch (row.basic) {
    case 'X/Z/U*':
      return 'U';
    case 'X/Z':
    case 'X/D':
    case 'X/Z/D':
      return 'X';
    case 'Z/D':
      return 'Z';
    default:
      return row.basic;
  }
}

/** CID 7050 codes for the profile: the basic profile plus each option that is on. */
export function methodCodes(options: Readonly<ProfileOptions>): string[] {
  const byOption: Record<OptionName, string> = {
    cleanGraphics: '113103',
    cleanStructuredContent: '113104',
    cleanDescriptors: '113105',
    retainLongitudinalFullDates: '113106',
    retainLongitudinalModifiedDates: '113107',
    retainPatientCharacteristics: '113108',
    retainDeviceIdentity: '113109',
    retainUids: '113110',
    retainSafePrivate: '113111',
    retainInstitutionIdentity: '113112',
  };
  return ['113100', ...OPTION_NAMES.filter((n) => options[n]).map((n) => byOption[n])];
}
