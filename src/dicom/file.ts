import { fileMetaEnd } from './elements';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import dcmjs from 'dcmjs';
import { CharsetError } from './charset';
import { DEFLATED_DATASET_SYNTAXES, TRANSFER_SYNTAX } from './syntaxes';
import { HIDDEN_CHARSET_TAG, TAG, formatTag } from './tags';
import { DicomParseError } from '../errors';
import { toPart10 } from './part10';
import { walkText, type Layout } from './textWalk';
import type { Dataset } from './dataset';
import { writePart10 } from './writer';
import { str } from './values';

/** A parsed DICOM Part 10 file: file meta information and the dataset. */
export interface DicomFile {
  meta: Dataset;
  dict: Dataset;
}

export { DicomParseError };

/** The SOP class of a file: its SOP Class UID, or the file meta's for a dataset without one (a DICOMDIR). */
export function sopClassOf(file: DicomFile): string {
  return str(file.dict[TAG.SOPClassUID]) || str(file.meta[TAG.MediaStorageSOPClassUID]);
}

// dcmjs logs through loglevel (a root logger and named children such as "validation.dcmjs");
// its warnings can quote bytes of the file, so every one of them is silenced: a parse problem
// surfaces as a DicomParseError without the data. Children created before setLevel keep their own
// level, hence the loop.
function silenceDcmjs(): void {
  const root = dcmjs.log as unknown as {
    setLevel(l: string): void;
    getLoggers?(): Record<string, { setLevel(l: string): void }>;
    getLogger?(n: string): { setLevel(l: string): void };
  };
  root.setLevel('silent');
  for (const child of Object.values(root.getLoggers?.() ?? {})) child.setLevel('silent');
  for (const name of ['validation.dcmjs', 'AsyncDicomReader']) root.getLogger?.(name).setLevel('silent');
}
silenceDcmjs();

const PREAMBLE = 128;

function toArrayBuffer(buf: Buffer): ArrayBuffer {
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
}

/**
 * Parses a DICOM file. dcmjs needs the 128-byte preamble, "DICM" and a complete file meta group;
 * Orthanc may store files without them, so they are completed first (part10.ts).
 */
/** Inflated size allowed for a deflated dataset when the caller sets none (pipeline.maxInflatedMb). */
const DEFAULT_MAX_INFLATED_BYTES = 256 * 1024 * 1024;

export interface ParseOptions {
  /** A deflated dataset that inflates to more is refused, before the bytes exist (a deflate bomb). */
  readonly maxInflatedBytes?: number;
}

export function parseDicom(bytes: Buffer, opts: ParseOptions = {}): DicomFile {
  const input = toPart10(bytes);
  try {
    return parseParts(input, opts.maxInflatedBytes ?? DEFAULT_MAX_INFLATED_BYTES);
  } catch (err) {
    if (err instanceof DicomParseError) throw err;
    // dcmjs messages can quote values of the file: only the kind of error is kept.
    const kind = err instanceof Error ? err.name : 'unknown error';
    throw new DicomParseError(`dcmjs could not parse the dataset (${kind})`);
  }
}

const EXPLICIT_LE = TRANSFER_SYNTAX.ExplicitVRLittleEndian;
const IMPLICIT_LE = TRANSFER_SYNTAX.ImplicitVRLittleEndian;
const EXPLICIT_BE = TRANSFER_SYNTAX.ExplicitVRBigEndian;
const READ_OPTIONS = {
  ignoreErrors: false,
  untilTag: null,
  includeUntilTagValue: false,
  stopOnGreaterTag: false,
};

interface DcmjsInternals {
  _read(stream: unknown, syntax: string, options: typeof READ_OPTIONS): Dataset;
}
const message = dcmjs.data.DicomMessage as unknown as DcmjsInternals;
const ReadStream = (dcmjs.data as unknown as { ReadBufferStream: new (buffer: ArrayBuffer) => unknown })
  .ReadBufferStream;

/** The syntax the dataset is encoded in (after inflation): how dcmjs and the text walk read it. */
function datasetSyntax(ts: string): { syntax: string; layout: Layout } {
  if (ts === IMPLICIT_LE) return { syntax: IMPLICIT_LE, layout: { implicit: true, little: true } };
  if (ts === EXPLICIT_BE) return { syntax: EXPLICIT_BE, layout: { implicit: false, little: false } };
  return { syntax: EXPLICIT_LE, layout: { implicit: false, little: true } };
}

/**
 * Reads the file meta and the dataset separately: the dataset bytes (inflated for deflated
 * syntaxes) are copied once, their Specific Character Set hidden from dcmjs, parsed by dcmjs, and
 * every text value then decoded by the engine under the set in force for its item (charset.ts).
 */
function parseParts(input: Buffer, maxInflatedBytes: number): DicomFile {
  const metaEnd = input.length < PREAMBLE + 16 ? undefined : fileMetaEnd(input, PREAMBLE + 4);
  if (metaEnd === undefined)
    throw new DicomParseError(
      `the file meta information has no group length ${formatTag(TAG.FileMetaInformationGroupLength)}`,
    );
  if (metaEnd > input.length) throw new DicomParseError('the file meta information is longer than the file');
  const meta = message._read(
    new ReadStream(toArrayBuffer(input.subarray(PREAMBLE + 4, metaEnd))),
    EXPLICIT_LE,
    READ_OPTIONS,
  );
  const ts = String(meta[TAG.TransferSyntaxUID]?.Value?.[0] ?? '')
    .replace(/\0/g, '')
    .trim();
  if (!ts)
    throw new DicomParseError(
      `the file meta information has no transfer syntax ${formatTag(TAG.TransferSyntaxUID)}`,
    );
  let body = input.subarray(metaEnd);
  if (DEFLATED_DATASET_SYNTAXES.has(ts)) {
    try {
      body = inflateRawSync(body, { maxOutputLength: maxInflatedBytes });
    } catch (err) {
      if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE')
        throw new DicomParseError(
          `the deflated dataset inflates to more than ${Math.round(maxInflatedBytes / 1048576)} MiB (pipeline.maxInflatedMb)`,
        );
      throw new DicomParseError('the deflated dataset cannot be inflated');
    }
  }
  const ab = new ArrayBuffer(body.length);
  const data = Buffer.from(ab);
  body.copy(data);
  const { syntax, layout } = datasetSyntax(ts);
  let unreadable: string | undefined;
  try {
    unreadable = walkText(data, layout, undefined);
  } catch (err) {
    if (err instanceof CharsetError) throw new DicomParseError(err.message);
    throw err;
  }
  // A dataset the walk cannot read with certainty never reaches dcmjs (see textWalk.ts).
  if (unreadable) throw new DicomParseError(`the dataset cannot be read element by element: ${unreadable}`);
  const dict = message._read(new ReadStream(ab), syntax, READ_OPTIONS);
  walkText(data, layout, dict);
  restoreCharsets(dict);
  return { meta, dict };
}

/** Puts each hidden Specific Character Set back under its tag, as the terms the file gave. */
function restoreCharsets(ds: Dataset): void {
  const hidden = ds[HIDDEN_CHARSET_TAG];
  if (hidden) {
    delete ds[HIDDEN_CHARSET_TAG];
    const v = hidden.Value?.[0];
    const text =
      v instanceof ArrayBuffer
        ? Buffer.from(v).toString('latin1')
        : (hidden.Value ?? []).map((x) => String(x)).join('\\');
    ds[TAG.SpecificCharacterSet] = {
      vr: 'CS',
      Value: text.split('\\').map((t) => t.replace(/[ \0]+$/, '').trim()),
    };
  }
  for (const el of Object.values(ds)) {
    if (el.vr !== 'SQ') continue;
    for (const item of el.Value ?? []) restoreCharsets(item as Dataset);
  }
}

/** dcmjs's writer: big endian and encapsulated pixel data (see writer.ts). */
function dcmjsWrite(file: DicomFile): Buffer {
  const dd = new dcmjs.data.DicomDict(file.meta);
  dd.dict = file.dict;
  return Buffer.from(dd.write());
}

/**
 * Writes a Part 10 file in the transfer syntax its meta names: the engine's own writer for
 * little endian native syntaxes (writer.ts), dcmjs for big endian and encapsulated pixel data.
 * dcmjs would write a deflated syntax uncompressed while declaring it deflated, so the dataset
 * is deflated here.
 */
export function writeDicom(file: DicomFile): Buffer {
  const ts = String(file.meta[TAG.TransferSyntaxUID]?.Value?.[0] ?? '');
  const bytes = writePart10(file.meta, file.dict) ?? dcmjsWrite(file);
  if (!DEFLATED_DATASET_SYNTAXES.has(ts)) return bytes;
  const metaEnd = fileMetaEnd(bytes, PREAMBLE + 4)!; // the writers always write the group length
  return Buffer.concat([bytes.subarray(0, metaEnd), deflateRawSync(bytes.subarray(metaEnd))]);
}
