/**
 * Makes a proper DICOM Part 10 file of whatever Orthanc serves back. Orthanc accepts a bare
 * dataset (no 128-byte preamble and "DICM", with or without group 0002, implicit or explicit VR)
 * and returns the bytes as it received them; the engine reads, splices and writes Part 10 only.
 * The dataset bytes are never changed: only the preamble, the marker and the file meta
 * information (PS3.10 7.1) are added or completed.
 */
import { createInflateRaw } from 'node:zlib';
import { DicomParseError } from '../errors';
import { readTopLevel } from './scan';
import { TAG, tagNumber } from './tags';
import { TRANSFER_SYNTAX } from './syntaxes';
import { elementHeader, EXPLICIT_LITTLE, fileMetaEnd, readElementHeader, UNDEFINED_LENGTH } from './elements';
import { ALL_VRS } from './vr';
import { IMPLEMENTATION_CLASS_UID } from './implementation';

const PREAMBLE = 128;
/** The tags this module reads, as numbers. */
const N = {
  SOPClassUID: tagNumber(TAG.SOPClassUID),
  SOPInstanceUID: tagNumber(TAG.SOPInstanceUID),
  FileMetaInformationGroupLength: tagNumber(TAG.FileMetaInformationGroupLength),
  FileMetaInformationVersion: tagNumber(TAG.FileMetaInformationVersion),
  MediaStorageSOPClassUID: tagNumber(TAG.MediaStorageSOPClassUID),
  MediaStorageSOPInstanceUID: tagNumber(TAG.MediaStorageSOPInstanceUID),
  TransferSyntaxUID: tagNumber(TAG.TransferSyntaxUID),
  ImplementationClassUID: tagNumber(TAG.ImplementationClassUID),
} as const;
const MAGIC = 'DICM';
const IMPLICIT_LE = TRANSFER_SYNTAX.ImplicitVRLittleEndian;
const EXPLICIT_LE = TRANSFER_SYNTAX.ExplicitVRLittleEndian;
const EXPLICIT_BE = TRANSFER_SYNTAX.ExplicitVRBigEndian;

interface MetaElement {
  readonly tag: number;
  readonly vr: string;
  readonly value: Buffer;
}

/** Reads the explicit VR little endian group 0002 elements starting at `at`; returns them and where the dataset starts. */
function readMeta(bytes: Buffer, at: number): { elements: MetaElement[]; end: number } {
  const elements: MetaElement[] = [];
  // With a group length the meta ends where it says (a dataset may itself hold group 0002 elements).
  const metaEnd = fileMetaEnd(bytes, at);
  const limit = metaEnd !== undefined ? Math.min(bytes.length, metaEnd) : bytes.length;
  let pos = at;
  while (pos + 8 <= limit && bytes.readUInt16LE(pos) === 0x0002) {
    const h = readElementHeader(bytes, pos, EXPLICIT_LITTLE);
    if (h === 'no VR' || (h !== 'truncated' && !ALL_VRS.has(h.vr!)))
      throw new DicomParseError('the file meta information is not explicit VR little endian');
    if (h === 'truncated' || h.length === UNDEFINED_LENGTH || h.valueStart + h.length > limit)
      throw new DicomParseError('a file meta element is longer than the file');
    elements.push({ tag: h.tag, vr: h.vr!, value: bytes.subarray(h.valueStart, h.valueStart + h.length) });
    pos = h.valueStart + h.length;
  }
  return { elements, end: pos };
}

function uidText(value: Buffer | undefined): string {
  return value ? value.toString('latin1').replace(/[\0 ]+$/, '') : '';
}

/** The encoding of a dataset without meta, from its first element: explicit when a VR follows the tag. */
function guessSyntax(bytes: Buffer, at: number): string {
  if (at + 8 > bytes.length) throw new DicomParseError('the dataset is too short to be DICOM');
  const littleGroup = bytes.readUInt16LE(at);
  const bigGroup = bytes.readUInt16BE(at);
  const explicit = ALL_VRS.has(bytes.toString('latin1', at + 4, at + 6));
  if (littleGroup >= 0x0008 && littleGroup <= 0x00ff && littleGroup % 2 === 0)
    return explicit ? EXPLICIT_LE : IMPLICIT_LE;
  if (explicit && bigGroup >= 0x0008 && bigGroup <= 0x00ff && bigGroup % 2 === 0) return EXPLICIT_BE;
  throw new DicomParseError('not a DICOM file: neither a Part 10 header nor a dataset at the start');
}

function element(tag: number, vr: string, value: Buffer): Buffer {
  return Buffer.concat([elementHeader(tag >>> 16, tag & 0xffff, vr, value.length), value]);
}

function uidValue(uid: string): Buffer {
  const b = Buffer.from(uid, 'latin1');
  return b.length % 2 === 0 ? b : Buffer.concat([b, Buffer.from([0])]);
}

/** The file meta group: what the original gave, completed with what it lacks, and a fresh group length. */
function buildMeta(given: readonly MetaElement[], fill: Record<number, string>): Buffer {
  const byTag = new Map<number, MetaElement>();
  for (const e of given) if (e.tag !== N.FileMetaInformationGroupLength) byTag.set(e.tag, e);
  if (!byTag.has(N.FileMetaInformationVersion))
    byTag.set(N.FileMetaInformationVersion, {
      tag: N.FileMetaInformationVersion,
      vr: 'OB',
      value: Buffer.from([0, 1]),
    });
  for (const [tag, uid] of Object.entries(fill)) {
    const t = Number(tag);
    if (!uidText(byTag.get(t)?.value) && uid) byTag.set(t, { tag: t, vr: 'UI', value: uidValue(uid) });
  }
  const body = Buffer.concat(
    [...byTag.values()].sort((a, b) => a.tag - b.tag).map((e) => element(e.tag, e.vr, e.value)),
  );
  const length = Buffer.alloc(4);
  length.writeUInt32LE(body.length);
  return Buffer.concat([element(N.FileMetaInformationGroupLength, 'UL', length), body]);
}

/** The transfer syntax a Part 10 file (as toPart10 returns it) declares. */
export function transferSyntaxOf(part10: Buffer): string {
  const meta = readMeta(part10, PREAMBLE + 4);
  return uidText(meta.elements.find((e) => e.tag === N.TransferSyntaxUID)?.value);
}

/**
 * The file as a proper Part 10 file: unchanged when it already is one (the common case, no copy),
 * otherwise with the preamble, "DICM" and a complete file meta group put in front of its dataset.
 * Throws DicomParseError (without any value of the file) when it is not DICOM at all.
 */
export function toPart10(bytes: Buffer): Buffer {
  const hasPreamble =
    bytes.length >= PREAMBLE + 4 && bytes.toString('latin1', PREAMBLE, PREAMBLE + 4) === MAGIC;
  const start = hasPreamble
    ? PREAMBLE + 4
    : bytes.length >= 4 && bytes.toString('latin1', 0, 4) === MAGIC
      ? 4
      : 0;
  const meta = readMeta(bytes, start);
  const byTag = new Map(meta.elements.map((e) => [e.tag, e.value]));
  const complete =
    hasPreamble &&
    byTag.has(N.FileMetaInformationGroupLength) &&
    meta.elements[0]?.tag === N.FileMetaInformationGroupLength &&
    byTag.get(N.FileMetaInformationGroupLength)!.length === 4 &&
    start + 12 + byTag.get(N.FileMetaInformationGroupLength)!.readUInt32LE(0) === meta.end &&
    uidText(byTag.get(N.TransferSyntaxUID)) !== '';
  if (complete) return bytes;
  const syntax = uidText(byTag.get(N.TransferSyntaxUID)) || guessSyntax(bytes, meta.end);
  const layout = { littleEndian: syntax !== EXPLICIT_BE, implicit: syntax === IMPLICIT_LE };
  const ids =
    readTopLevel(bytes, meta.end, layout, [N.SOPClassUID, N.SOPInstanceUID]) ?? new Map<number, Buffer>();
  const header = buildMeta(meta.elements, {
    [N.MediaStorageSOPClassUID]: uidText(ids.get(N.SOPClassUID)),
    [N.MediaStorageSOPInstanceUID]: uidText(ids.get(N.SOPInstanceUID)),
    [N.TransferSyntaxUID]: syntax,
    [N.ImplementationClassUID]: IMPLEMENTATION_CLASS_UID,
  });
  return Buffer.concat([
    Buffer.alloc(PREAMBLE),
    Buffer.from(MAGIC, 'latin1'),
    header,
    bytes.subarray(meta.end),
  ]);
}

/**
 * A Deflated Explicit VR Little Endian file (as toPart10 returns it) as the same dataset in
 * Explicit VR Little Endian: inflated once, as a stream, to at most `maxInflatedBytes`
 * (pipeline.maxInflatedMb; over it, DicomParseError before the rest is inflated). Everything after
 * works on the explicit file as on any other: the header is parsed alone and the Pixel Data
 * element spliced, so a dataset of 128 MiB is held about twice, not six times (issue 22). Deflate
 * is a transfer encoding: the elements and values are the same, and more destinations accept
 * explicit VR than deflate. Any other file is returned as it is.
 */
export async function inflatedPart10(part10: Buffer, maxInflatedBytes: number): Promise<Buffer> {
  const meta = readMeta(part10, PREAMBLE + 4);
  const ts = meta.elements.find((e) => e.tag === N.TransferSyntaxUID);
  if (uidText(ts?.value) !== TRANSFER_SYNTAX.DeflatedExplicitVRLittleEndian) return part10;
  const chunks: Buffer[] = [];
  let total = 0;
  const inflate = createInflateRaw();
  await new Promise<void>((resolve, reject) => {
    inflate.on('data', (chunk: Buffer) => {
      total += chunk.length;
      if (total > maxInflatedBytes) {
        inflate.destroy();
        chunks.length = 0;
        reject(
          new DicomParseError(
            `the deflated dataset inflates to more than ${Math.round(maxInflatedBytes / 1048576)} MiB (pipeline.maxInflatedMb)`,
          ),
        );
      } else chunks.push(chunk);
    });
    inflate.on('error', () => reject(new DicomParseError('the deflated dataset cannot be inflated')));
    inflate.on('end', () => resolve());
    inflate.end(part10.subarray(meta.end));
  });
  const header = buildMeta(
    meta.elements.map((e) => (e.tag === N.TransferSyntaxUID ? { ...e, value: uidValue(EXPLICIT_LE) } : e)),
    {},
  );
  const out = Buffer.alloc(PREAMBLE + 4 + header.length + total);
  out.write(MAGIC, PREAMBLE, 'latin1');
  header.copy(out, PREAMBLE + 4);
  let at = PREAMBLE + 4 + header.length;
  for (const chunk of chunks.splice(0)) at += chunk.copy(out, at);
  return out;
}
