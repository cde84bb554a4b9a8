/**
 * Residual PHI: the values of the original that the profile removed, searched for in the output.
 * An identity value (a name, an ID, a birth date, an institution, an original UID...) may appear
 * nowhere; a descriptive value (a description, a code, a private value) only where the original
 * held the same text at the same place. See README "What gets quarantined, and why".
 */
import type { Dataset, DicomElement } from '../dicom/dataset';
import type { OriginalValues } from './originals';
import { isDefinedTerm } from '../dicom/definedTerms';
import { formatTag, TAG } from '../dicom/tags';
import { MARKING_TAGS, textOf } from './values';

interface Needle {
  readonly lower: string;
  readonly utf8: Buffer;
  readonly latin1: Buffer;
  readonly identity: boolean;
  readonly kind: string;
}

function needle(v: string, kind: string, identity: boolean): Needle {
  return {
    lower: v.toLowerCase(),
    utf8: Buffer.from(v, 'utf8'),
    latin1: Buffer.from(v, 'latin1'),
    identity,
    kind,
  };
}

/**
 * A site named after its equipment's maker (an institution "TOSHIBA", a station "TrioTim") shows
 * in the elements the vendor writes: there, and only where the original held the same text, the
 * value names the equipment the profile keeps, not the site.
 */
const SITE_KINDS = new Set(['institution name', 'department name', 'station name']);
const VENDOR_TAGS = new Set<string>([TAG.Manufacturer, TAG.ManufacturerModelName, TAG.SoftwareVersions]);

/** UIDs and numbers are compared whole: a name or ID is never part of one, while digits of an ID often are, by chance. */
const WHOLE_VALUE_VRS = new Set(['UI', 'IS', 'DS', 'US', 'SS', 'UL', 'SL', 'FL', 'FD', 'UV', 'SV']);

/** An element's values in the forms the needles are compared with, computed once per element. */
interface Haystack {
  /** Each value, trimmed and lower-cased: UIDs and numbers, compared whole. */
  readonly whole: readonly string[] | undefined;
  /** The values joined and lower-cased: text, searched anywhere. */
  readonly text: string;
  readonly bytes: readonly Buffer[];
}

function haystack(el: DicomElement): Haystack {
  const values = textOf(el);
  return {
    whole: WHOLE_VALUE_VRS.has(el.vr) ? values.map((v) => v.trim().toLowerCase()) : undefined,
    text: values.join('\\').toLowerCase(),
    bytes: (el.Value ?? [])
      .filter((v): v is ArrayBuffer => v instanceof ArrayBuffer)
      .map((v) => Buffer.from(v)),
  };
}

/** Whether an element holds the needle: as text (ignoring case), whole for UIDs and numbers, as bytes for binary values. */
function holds(h: Haystack, n: Needle): boolean {
  if (h.whole) return h.whole.includes(n.lower);
  if (h.text !== '' && h.text.includes(n.lower)) return true;
  return h.bytes.some((b) => b.includes(n.utf8) || b.includes(n.latin1));
}

/**
 * A coded string holding only defined terms of its attribute (a Body Part Examined KNEE, a
 * Modality), where the needle is one of them whole: a word of the standard, not a name, even when
 * a name is spelled the same. Tolerated, like a vendor's name, only where the original held it too.
 */
function definedTermsOnly(tag: string, el: DicomElement, n: Needle): boolean {
  if (el.vr !== 'CS') return false;
  const values = textOf(el).map((v) => v.trim());
  return values.some((v) => v.toLowerCase() === n.lower) && values.every((v) => isDefinedTerm(tag, v));
}

/**
 * Residual PHI. An identity value (a name, an ID, a birth date, an institution, an original UID...)
 * may appear nowhere in the output. A descriptive value the profile removed (a description, a
 * code, a private value) is a leak only where the original did not carry the same text at the
 * same place: there the profile chose to keep it, and the engine moved nothing.
 */
export function residualPhi(
  found: OriginalValues,
  out: Dataset,
  orig: Dataset,
  path: string,
  topLevel: boolean,
  fail: (tag: string, path: string, detail: string) => void,
  /**
   * Sequences the table replaces whole (D): conformance proves they hold nothing of the original's
   * items, and the dummy's constant words (TEXT, CONTAINS, Removed...) are no one's name.
   */
  replacedWhole: (tag: string) => boolean = () => false,
): number {
  let kept = 0;
  const needles = [
    ...[...found.identity].map(([v, kind]) => needle(v, kind, true)),
    ...[...found.descriptive].map(([v, kind]) => needle(v, kind, false)),
  ];
  const visit = (ds: Dataset, original: Dataset, p: string, depth: number): void => {
    for (const [tag, el] of Object.entries(ds)) {
      const o = original[tag];
      // The marking is the bridge's own constant text, checked to be exactly that (see marking).
      if (topLevel && depth === 0 && MARKING_TAGS.has(tag as never)) continue;
      if (el.vr === 'SQ') {
        if (replacedWhole(tag)) continue;
        const origItems = o?.vr === 'SQ' ? (o.Value ?? []) : [];
        (el.Value ?? []).forEach((item, i) =>
          visit(
            item as Dataset,
            (origItems[i] ?? {}) as Dataset,
            `${p ? p + '.' : ''}${formatTag(tag)}[${i}]`,
            depth + 1,
          ),
        );
        continue;
      }
      if (tag === TAG.PixelData) continue; // compared by hash with the original instead
      const here = haystack(el);
      let there: Haystack | undefined; // the original's element at the same place, read when needed
      for (const n of needles) {
        if (!holds(here, n)) continue;
        const tolerated = n.identity
          ? (SITE_KINDS.has(n.kind) && VENDOR_TAGS.has(tag)) || definedTermsOnly(tag, el, n)
          : true;
        if (tolerated && o && holds((there ??= haystack(o)), n)) {
          kept++;
          continue;
        }
        fail(
          tag,
          p,
          n.identity
            ? `holds the original's ${n.kind}`
            : `holds ${n.kind} that the original did not carry here`,
        );
        break;
      }
    }
  };
  visit(out, orig, path, 0);
  return kept;
}
