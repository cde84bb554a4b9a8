import { CharsetError, decodeText, parseCharset, type Charset } from './charset';
import { DicomParseError } from '../errors';
import type { Dataset, DicomElement } from './dataset';
import { ITEM_GROUP, readElementHeader, UNDEFINED_LENGTH } from './elements';
import { ENCODED_VRS } from './vr';
import { ITEM, SEQUENCE_DELIMITATION_ITEM, TAG } from './tags';

/**
 * Walks a dataset's bytes (explicit or implicit VR, little or big endian) element by element,
 * into sequence items. Two uses, see dicom.ts: before dcmjs reads the bytes, every Specific
 * Character Set element is renamed to (0008,0004) so that dcmjs decodes nothing itself (it would
 * throw on multi-valued sets, and decodes nested items as Latin-1); after, each text value of the
 * parsed dataset is replaced by its decoding under the set in force for its item.
 */

const SINGLE_VALUED = new Set(['ST', 'LT', 'UT']);
const MAX_DEPTH = 64;

export interface Layout {
  readonly implicit: boolean;
  readonly little: boolean;
}

/** The walk cannot go on with certainty. The message says why, in terms of the layout, never a value. */
class Misaligned extends DicomParseError {
  constructor(message = 'an element length or VR is inconsistent') {
    super(message, 'DICOM_LAYOUT');
  }
}
/** Implicit VR little endian: how the items of an undefined-length UN are encoded (PS3.5 6.2.2). */
const IMPLICIT_LE: Layout = { implicit: true, little: true };

function values(text: string, vr: string): unknown[] {
  const parts = SINGLE_VALUED.has(vr) ? [text.replace(/[ \0]+$/, '')] : text.split('\\');
  if (vr === 'PN') {
    return parts.map((p) => {
      const [alphabetic = '', ideographic, phonetic] = p.replace(/[ \0]+$/, '').split('=');
      const name: Record<string, string> = { Alphabetic: alphabetic };
      if (ideographic) name.Ideographic = ideographic;
      if (phonetic) name.Phonetic = phonetic;
      return name;
    });
  }
  if (SINGLE_VALUED.has(vr)) return parts;
  return parts.map((p) => p.replace(/^[ ]+|[ \0]+$/g, ''));
}

/** The terms of a Specific Character Set value in the file (always default repertoire). */
function charsetTerms(bytes: Uint8Array): string[] {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    .toString('latin1')
    .split('\\')
    .map((t) => t.replace(/[ \0]+$/, '').trim());
}

/**
 * Walks `b` from `start`. With `ds` undefined: renames every (0008,0005) to (0008,0004) in place,
 * and proves the dataset can be read element by element, sequences nested at most 64 deep: a file
 * that fails this never reaches dcmjs (whose cost grows steeply with nesting), and the reason is
 * returned. With `ds`: replaces the text values in `ds` (and nested items) with their decoding.
 * Returns undefined when the walk reached the end, else why it could not.
 */
export function walkText(b: Buffer, layout: Layout, ds: Dataset | undefined): string | undefined {
  try {
    walkDataset(b, 0, b.length, false, ds, layout, parseCharset([]), 0);
    return undefined;
  } catch (err) {
    if (err instanceof CharsetError) throw err;
    if (err instanceof Misaligned) return err.message;
    if (err instanceof RangeError) return 'an element runs past the end of the dataset';
    throw err;
  }
}

function walkDataset(
  b: Buffer,
  start: number,
  end: number,
  inItem: boolean,
  ds: Dataset | undefined,
  layout: Layout,
  inherited: Charset,
  depth: number,
): number {
  if (depth > MAX_DEPTH) throw new Misaligned(`sequences are nested deeper than ${MAX_DEPTH} levels`);
  const u16 = (at: number) => (layout.little ? b.readUInt16LE(at) : b.readUInt16BE(at));
  const bytes = { littleEndian: layout.little, implicit: layout.implicit };
  let charset = inherited;
  let pos = start;
  while (pos < end) {
    const h = readElementHeader(b, pos, bytes);
    if (h === 'truncated') throw new Misaligned('the dataset ends inside an element header');
    if (h === 'no VR') throw new Misaligned(`no VR where one is expected, at byte ${pos + 4}`);
    const { group, element, length, valueStart } = h;
    if (group === ITEM_GROUP) {
      if (element === 0xe00d && inItem) return valueStart;
      throw new Misaligned();
    }
    const key = (group.toString(16).padStart(4, '0') + element.toString(16).padStart(4, '0')).toUpperCase();
    const el: DicomElement | undefined = ds?.[key];
    let vr: string;
    if (h.vr === undefined) {
      // Implicit VR: the parsed dataset knows the VR; else a sequence is told by its items.
      const startsItem =
        length !== 0 &&
        valueStart + 4 <= b.length &&
        u16(valueStart) === ITEM_GROUP &&
        u16(valueStart + 2) === 0xe000;
      vr = el?.vr ?? (length === UNDEFINED_LENGTH || startsItem ? 'SQ' : 'UN');
      if (vr !== 'SQ' && startsItem && length === UNDEFINED_LENGTH) vr = 'SQ';
    } else {
      vr = h.vr;
      if (
        vr === 'UN' &&
        length !== UNDEFINED_LENGTH &&
        length >= 8 &&
        valueStart + 4 <= b.length &&
        u16(valueStart) === ITEM_GROUP &&
        u16(valueStart + 2) === 0xe000
      )
        // A defined-length UN holding items: a sequence in implicit VR (PS3.5 6.2.2) that dcmjs reads
        // with the file's explicit VR, misreading the items (their UIDs and names then pass as
        // unread bytes). Refused, never carried half-read.
        throw new Misaligned(
          `an element stored as UN holds sequence items of defined length, which cannot be read safely, at byte ${pos}`,
        );
      if (vr === 'UN' && length === UNDEFINED_LENGTH) {
        // An undefined-length UN is a sequence whose items are implicit VR little endian (PS3.5
        // 6.2.2). dcmjs keeps it as bytes, so the second pass has nothing to decode inside.
        pos = walkItems(
          b,
          valueStart,
          length,
          ds && el?.vr === 'SQ' ? el : undefined,
          IMPLICIT_LE,
          charset,
          depth,
        );
        continue;
      }
    }
    if (group === 0x0008 && (element === 0x0005 || element === 0x0004) && length !== UNDEFINED_LENGTH) {
      if (element === 0x0005 && !ds) {
        // Rename in place: dcmjs then reads it as an unknown element and decodes nothing.
        if (layout.little) b.writeUInt16LE(0x0004, pos + 2);
        else b.writeUInt16BE(0x0004, pos + 2);
      }
      const terms = charsetTerms(b.subarray(valueStart, valueStart + length));
      charset = parseCharset(terms);
    }
    if (vr === 'SQ') {
      if (ds && el && el.vr !== 'SQ') throw new Misaligned('a sequence was read as a value');
      pos = walkItems(
        b,
        valueStart,
        length,
        ds ? (el ?? { vr: 'SQ', Value: [] }) : undefined,
        layout,
        charset,
        depth,
      );
      continue;
    }
    if (length === UNDEFINED_LENGTH) {
      if (key === TAG.PixelData) return b.length; // encapsulated pixel data: nothing to decode after it
      throw new Misaligned(`an undefined length on an element that is not a sequence, at byte ${pos}`);
    }
    if (valueStart + length > b.length)
      throw new Misaligned(`an element runs past the end of the dataset, at byte ${pos}`);
    if (ds && el && ENCODED_VRS.has(vr)) {
      el.Value = values(decodeText(b.subarray(valueStart, valueStart + length), charset, vr === 'PN'), vr);
      delete el._rawValue;
    }
    pos = valueStart + length;
  }
  if (inItem) throw new Misaligned('an item has no delimiter');
  return pos;
}

/**
 * Walks the items of a sequence whose value starts at `start`; returns the offset after it. With
 * `sq` (second pass), each item is matched with dcmjs's item of the same index.
 */
function walkItems(
  b: Buffer,
  start: number,
  length: number,
  sq: DicomElement | undefined,
  layout: Layout,
  charset: Charset,
  depth: number,
): number {
  const bytes = { littleEndian: layout.little, implicit: layout.implicit };
  const items = (sq?.Value ?? []) as Dataset[];
  const seqEnd = length === UNDEFINED_LENGTH ? b.length : start + length;
  if (seqEnd > b.length)
    throw new Misaligned(`a sequence runs past the end of the dataset, at byte ${start}`);
  let p = start;
  let index = 0;
  while (p < seqEnd) {
    const h = readElementHeader(b, p, bytes);
    if (typeof h === 'string') throw new Misaligned('the dataset ends inside a sequence');
    if (h.tag === SEQUENCE_DELIMITATION_ITEM) return h.valueStart;
    if (h.tag !== ITEM) throw new Misaligned(`no item where one is expected, at byte ${p}`);
    const itemLength = h.length;
    const item = sq ? items[index] : undefined;
    if (sq && !item) throw new Misaligned('the items do not match the parsed dataset');
    if (itemLength === UNDEFINED_LENGTH)
      p = walkDataset(b, p + 8, b.length, true, item, layout, charset, depth + 1);
    else {
      if (p + 8 + itemLength > seqEnd) throw new Misaligned(`an item runs past its sequence, at byte ${p}`);
      walkDataset(b, p + 8, p + 8 + itemLength, false, item, layout, charset, depth + 1);
      p = p + 8 + itemLength;
    }
    index++;
  }
  // An undefined-length sequence that runs to the end of the dataset without its delimiter is
  // read as ending there (real files do this; dcmjs and pydicom read them the same way).
  return p;
}
