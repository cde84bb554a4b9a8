import dcmjs from 'dcmjs';
import type { Dataset } from './types';

/** A parsed DICOM Part 10 file: file meta information and the dataset. */
export interface DicomFile {
  meta: Dataset;
  dict: Dataset;
}

export class DicomParseError extends Error {
  override readonly name = 'DicomParseError';
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
 * Parses a Part 10 file. dcmjs needs the 128-byte preamble and "DICM"; Orthanc may store files
 * without the preamble, so a file that starts directly with "DICM" or with group 0002 gets one.
 */
export function parseDicom(bytes: Buffer): DicomFile {
  let input = bytes;
  if (!(bytes.length >= PREAMBLE + 4 && bytes.toString('latin1', PREAMBLE, PREAMBLE + 4) === 'DICM')) {
    if (bytes.length >= 4 && bytes.toString('latin1', 0, 4) === 'DICM') {
      input = Buffer.concat([Buffer.alloc(PREAMBLE), bytes]);
    } else if (bytes.length >= 2 && bytes.readUInt16LE(0) === 0x0002) {
      input = Buffer.concat([Buffer.alloc(PREAMBLE), Buffer.from('DICM', 'latin1'), bytes]);
    } else {
      throw new DicomParseError('not a DICOM Part 10 file (no DICM marker)');
    }
  }
  try {
    const parsed = dcmjs.data.DicomMessage.readFile(toArrayBuffer(input));
    return { meta: parsed.meta as Dataset, dict: parsed.dict as Dataset };
  } catch (err) {
    // dcmjs messages name tags and offsets, not values; keep only the first line.
    const message = err instanceof Error ? err.message.split('\n')[0] : 'unknown error';
    throw new DicomParseError(`dcmjs could not parse the file: ${message}`);
  }
}

export function writeDicom(file: DicomFile): Buffer {
  const dd = new dcmjs.data.DicomDict(file.meta);
  dd.dict = file.dict;
  return Buffer.from(dd.write());
}
