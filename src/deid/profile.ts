import { attributeType, type AttributeType } from '../dicom/iods';
import { DEFAULT_PIXEL_POLICY, type PixelPolicy } from '../pixels/policy';
import { SAFE_PRIVATE_DICTIONARY, safePrivateKey, type SafePrivateEntry } from './safePrivate';
import { BASIC_PROFILE_CODE, CLEAN_PIXEL_DATA_CODE, OPTION_CODE } from './cid7050';
import { PS315_TABLE } from './table.generated';
import {
  OPTION_NAMES,
  type OptionName,
  type ProfileOptions,
  type ResolvedAction,
  type TableRow,
} from './types';

export type { SafePrivateEntry };

/** What an admin's per-tag override does: keep the original, remove, empty, or replace with a value. */
export interface TagOverride {
  readonly action: 'keep' | 'remove' | 'empty' | 'replace';
  /** The replacement, for `replace` (text as DICOM writes it; numbers for binary numeric VRs). */
  readonly value?: string;
  /** Set on a `keep` of an attribute the profile would otherwise remove or change. */
  readonly allowIdentifying?: boolean;
}

export interface DeidProfile {
  readonly name: string;
  readonly options: Readonly<ProfileOptions>;
  /** Keys (see safePrivateKey) of the private elements kept under Retain Safe Private. */
  readonly safePrivate: ReadonlySet<string>;
  /** Per-tag overrides from the profile file, by tag ("GGGGEEEE"); they win over the table. */
  readonly overrides: ReadonlyMap<string, TagOverride>;
  /** Largest per-patient date shift in days (Retain Longitudinal Modified Dates). */
  readonly maxDateShiftDays: number;
  /** Free text a Retain option marks C: written empty (default) or cleaned of the instance's identifying values. */
  readonly retainedFreeText: 'empty' | 'clean';
  readonly pixelPolicy: PixelPolicy;
}

// The pixel policy is the pixels' own (pixels/policy.ts); a profile holds one.
export {
  DEFAULT_OCR_POLICY,
  DEFAULT_PIXEL_POLICY,
  STRICT_PIXEL_POLICY,
  type OcrPolicy,
  type PixelPolicy,
} from '../pixels/policy';

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
  safePrivate: safePrivateSet([]),
  overrides: new Map(),
  maxDateShiftDays: 365,
  retainedFreeText: 'empty',
  pixelPolicy: DEFAULT_PIXEL_POLICY,
});

/** The dictionary's entries plus the profile's own. */
export function safePrivateSet(extra: readonly SafePrivateEntry[]): ReadonlySet<string> {
  return new Set(
    [...SAFE_PRIVATE_DICTIONARY, ...extra].map((e) => safePrivateKey(e.group, e.creator, e.element)),
  );
}

const BY_TAG = new Map<string, TableRow>();
const WILDCARDS: TableRow[] = [];
let privateRow: TableRow | undefined;
for (const row of PS315_TABLE) {
  if (row.match.kind === 'tag') BY_TAG.set(row.match.tag, row);
  else if (row.match.kind === 'private') privateRow = row;
  else WILDCARDS.push(row);
}
if (!privateRow) throw new Error('PS3.15 table has no private attributes row');
const PRIVATE_ROW: TableRow = privateRow;

const ODD_HEX = new Set(['1', '3', '5', '7', '9', 'B', 'D', 'F', 'b', 'd', 'f']);

/** True for a tag ("GGGGEEEE") of an odd (private) group: the group's last hex digit is odd. */
export function isPrivateTag(tag: string): boolean {
  return ODD_HEX.has(tag[3]!);
}

/** The table row governing a tag ("GGGGEEEE", upper case), including the wildcard rows. */
export function rowForTag(tag: string): TableRow | undefined {
  const exact = BY_TAG.get(tag);
  if (exact) return exact;
  // Tags outside the exact rows are looked up once: the wildcard walk parses the tag.
  if (OTHER_TAGS.has(tag)) return OTHER_TAGS.get(tag);
  const row = wildcardRow(tag);
  if (OTHER_TAGS.size < 65_536) OTHER_TAGS.set(tag, row);
  return row;
}

const OTHER_TAGS = new Map<string, TableRow | undefined>();

function wildcardRow(tag: string): TableRow | undefined {
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
 * Resolves a row to one action under the enabled options, and the attribute's type in the IOD at
 * its place when the caller knows it.
 * Options first: when several enabled options name the row, C (clean) wins over K (keep), the
 * safer of the two. Combined basic codes resolve by the type (PS3.15 E.1.1: Type 1 needs a value:
 * D; Type 2 may be empty: Z; Type 3 may go: X), and to the stronger action (X > Z > D) when the
 * type is unknown. X/Z/U* keeps the sequence and remaps the UIDs inside it: the remapped references
 * carry no identity and keep the study self-consistent.
 * Where the IOD requires an attribute that the table removes or empties, the object stays valid
 * (issue 28, docs/DEIDENTIFICATION.md): an X on a Type 2 attribute writes it empty (Z), an X or a
 * Z on a Type 1 attribute writes a dummy (D). Neither keeps anything of the original's value.
 */
export function resolveAction(
  row: TableRow,
  options: Readonly<ProfileOptions>,
  type?: AttributeType,
): ResolvedAction {
  let optionAction: ResolvedAction | undefined;
  for (const name of OPTION_NAMES) {
    const a = row.options[name as OptionName];
    if (a === undefined || !options[name]) continue;
    if (a === 'C' || optionAction === undefined) optionAction = a;
  }
  if (optionAction) return optionAction;
  if (type !== undefined && row.basic.includes('/') && row.basic !== 'X/Z/U*') {
    const allowed = row.basic.split('/') as ResolvedAction[];
    const wanted: ResolvedAction = type === 1 ? 'D' : type === 2 ? 'Z' : 'X';
    if (allowed.includes(wanted)) return wanted;
    // The type asks for an action the code does not offer (X/D on a Type 2): the non-removing one.
    return allowed.includes('D') ? 'D' : 'Z';
  }
  switch (row.basic) {
    case 'X/Z/U*':
      return 'U';
    case 'X/Z':
    case 'X/D':
    case 'X/Z/D':
      return 'X';
    case 'Z/D':
      return 'Z';
    case 'X':
      return type === 1 ? 'D' : type === 2 ? 'Z' : 'X';
    case 'Z':
      return type === 1 ? 'D' : 'Z';
    default:
      return row.basic;
  }
}

const CLEAN_OPTIONS: readonly OptionName[] = ['cleanDescriptors', 'cleanStructuredContent', 'cleanGraphics'];

/**
 * Whether a C on free text asks for its text to be cleaned: a Clean option names the row, or the
 * profile opts in. A Retain option's C alone (Allergies under Retain Patient Characteristics) keeps
 * the attribute, and by default its free text is written empty: cleaning removes only the values
 * the instance itself carries, and a person named nowhere else in the instance would pass.
 */
export function cleansFreeText(tag: string, profile: DeidProfile): boolean {
  if (profile.retainedFreeText === 'clean') return true;
  const row = rowForTag(tag);
  if (!row) return true;
  return CLEAN_OPTIONS.some((o) => profile.options[o] && row.options[o] === 'C');
}

/** How the profile treats one public element: the table's action, and the admin's override if any. */
export interface Decision {
  readonly action: ResolvedAction;
  readonly override?: TagOverride;
}

const OVERRIDE_ACTION: Record<TagOverride['action'], ResolvedAction> = {
  keep: 'K',
  remove: 'X',
  empty: 'Z',
  replace: 'D',
};

/**
 * The decision for a public element of an instance of `sopClass`, inside the sequences `parents`
 * (their tags, outermost first; none at the top level): an override wins; otherwise the table row
 * under the options, with the type the IOD gives the attribute at that place (dicom/iods.ts).
 */
export function decide(
  tag: string,
  profile: DeidProfile,
  sopClass: string,
  parents: readonly string[],
): Decision {
  const override = profile.overrides.get(tag);
  if (override) return { action: OVERRIDE_ACTION[override.action], override };
  const row = rowForTag(tag);
  if (!row) return { action: 'K' };
  return { action: resolveAction(row, profile.options, attributeType(sopClass, parents, tag)) };
}

/**
 * CID 7050 codes for what was applied: the basic profile, Clean Pixel Data when the instance's
 * pixels were blanked, and each option that is on.
 */
export function methodCodes(options: Readonly<ProfileOptions>, pixelsCleaned = false): string[] {
  return [
    BASIC_PROFILE_CODE,
    ...(pixelsCleaned ? [CLEAN_PIXEL_DATA_CODE] : []),
    ...OPTION_NAMES.filter((n) => options[n]).map((n) => OPTION_CODE[n]),
  ];
}
