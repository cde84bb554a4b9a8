/**
 * The safe-private dictionary: private elements that carry no identity and that research needs,
 * kept under Retain Safe Private. Each entry is a private creator, its group and the element byte
 * inside the creator's block (the "xx" of (gggg,xxee)).
 *
 * Source: DICOM PS3.15 (2024b) Annex E.3.10, Table E.3.10-1 "Safe Private Attributes" (entries for
 * CT/MR/PET/mammography vendors; the ultrasound vendor blocks of that table are not included here
 * because the bridge quarantines ultrasound by its pixel policy). Cross-checked against PixelMed's
 * ClinicalTrialsAttributes.isSafePrivateAttribute, which implements the same table.
 * A profile may add entries (`safePrivate` in the profile file); it cannot remove these.
 */
import type { Dataset } from './types';

export interface SafePrivateEntry {
  readonly group: number;
  readonly creator: string;
  /** The low byte of the element number (the part after the block), 0x00-0xFF. */
  readonly element: number;
}

const TABLE: ReadonlyArray<readonly [creator: string, group: number, elements: readonly number[]]> = [
  // GE: table speed, mid scan time, rotation speed, pulse sequence name; scan pitch, images in series.
  ['GEMS_ACQU_01', 0x0019, [0x23, 0x24, 0x27, 0x9e]],
  ['GEMS_PARM_01', 0x0043, [0x27, 0x6f]],
  ['GEMS_SERS_01', 0x0025, [0x07]],
  ['GEMS_HELIOS_01', 0x0045, [0x01, 0x02]],
  ['GEMS_IDI_01', 0x0073, [0x20, 0x21, 0x30, 0x31, 0x32, 0x40, 0x50]],
  [
    'GEMS_SENO_02',
    0x0045,
    [
      0x06, 0x1b, 0x20, 0x27, 0x29, 0x2a, 0x2b, 0x49, 0x58, 0x59, 0x60, 0x61, 0x62, 0x63, 0x64, 0x71, 0x72,
      0x90, 0xa0, 0xa1, 0xa2, 0xa4, 0xa7, 0xa8, 0xab, 0xac, 0xad,
    ],
  ],
  // Philips/Elscint CT and PET; Philips MR rescale (real-world value) slope and intercept.
  ['ELSCINT1', 0x00e1, [0x21, 0x50]],
  ['ELSCINT1', 0x01e1, [0x26]],
  ['ELSCINT1', 0x01f1, [0x01, 0x07, 0x26, 0x27]],
  ['Philips MR Imaging DD 001', 0x2005, [0x0d, 0x0e]],
  ['PHILIPS MR IMAGING DD 001', 0x2005, [0x0d, 0x0e]],
  ['Philips PET Private Group', 0x7053, [0x00, 0x09]],
  // Hologic / Lorad mammography acquisition parameters.
  [
    'HOLOGIC, Inc.',
    0x0019,
    [
      0x06, 0x07, 0x08, 0x16, 0x25, 0x26, 0x27, 0x28, 0x29, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x37, 0x40,
      0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x50, 0x51, 0x52, 0x53, 0x60, 0x61, 0x62, 0x70, 0x71, 0x80, 0x85,
      0x87, 0x89, 0x8a, 0x90, 0x97, 0x98,
    ],
  ],
  [
    'LORAD Selenia',
    0x0019,
    [
      0x06, 0x07, 0x08, 0x16, 0x26, 0x27, 0x28, 0x29, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x37, 0x40, 0x41,
      0x50, 0x51, 0x52, 0x53, 0x60, 0x70, 0x71, 0x80, 0x90,
    ],
  ],
];

export const SAFE_PRIVATE_DICTIONARY: readonly SafePrivateEntry[] = Object.freeze(
  TABLE.flatMap(([creator, group, elements]) =>
    elements.map((element) => Object.freeze({ group, creator, element })),
  ),
);

/** A lookup key for an entry: "GGGG|creator|EE". */
export function safePrivateKey(group: number, creator: string, element: number): string {
  return `${group.toString(16).padStart(4, '0')}|${creator.trim()}|${(element & 0xff).toString(16).padStart(2, '0')}`;
}

/** The creator of a private element's block, read from the same dataset. */
function creatorOf(ds: Dataset, tag: string): string {
  const v = ds[tag.slice(0, 4) + '00' + tag.slice(4, 6)]?.Value?.[0];
  return typeof v === 'string' ? v.trim() : '';
}

/**
 * The private elements of one dataset (one item) kept under Retain Safe Private: those the profile's
 * set lists, with their creator elements. Empty when the option is off.
 */
export function keptPrivateTags(
  ds: Dataset,
  profile: {
    readonly options: { readonly retainSafePrivate: boolean };
    readonly safePrivate: ReadonlySet<string>;
  },
): Set<string> {
  const kept = new Set<string>();
  if (!profile.options.retainSafePrivate) return kept;
  for (const tag of Object.keys(ds)) {
    if ((parseInt(tag.slice(0, 4), 16) & 1) !== 1) continue;
    const element = parseInt(tag.slice(4), 16);
    if (element < 0x1000) continue;
    const creator = creatorOf(ds, tag);
    if (creator === '') continue;
    if (profile.safePrivate.has(safePrivateKey(parseInt(tag.slice(0, 4), 16), creator, element))) {
      kept.add(tag);
      kept.add(tag.slice(0, 4) + '00' + tag.slice(4, 6));
    }
  }
  return kept;
}
