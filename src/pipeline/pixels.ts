/**
 * The pixel stages of one instance: clean (decode, configured rectangles, ultrasound regions, OCR
 * masking) and the gate's proof on what will leave: BurnedInAnnotation NO, every masked pixel
 * constant, every other pixel equal to the decoded original, and a second OCR pass over the
 * output that reads no identity value, date, time or long number.
 */
import { parseDicom, type DicomFile } from '../dicom/file';
import type { DecodedImage } from '../pixels/image';
import { identifyingValues } from '../deid/identifying';
import type { DeidProfile } from '../deid/profile';
import { locatePixelData } from '../dicom/scan';
import { TAG, formatTag } from '../dicom/tags';
import { str } from '../dicom/values';
import { cleanPixels, decodeInstance, type PixelCleanResult, type PixelEngines } from '../pixels/clean';
import { DetectorError } from '../pixels/detect';
import { OcrError } from '../pixels/ocr';
import type { BlankRule } from '../pixels/regions';
import { identityTokens } from '../pixels/text';
import type { CheckFailure } from '../verify/types';

const PIXEL = formatTag(TAG.PixelData);

function failure(check: CheckFailure['check'], detail: string, tag = PIXEL): CheckFailure[] {
  return [{ check, tag, path: '', detail }];
}

/** Identity tokens of the original header: the names, IDs and other values the profile removes. */
export function tokensOf(file: DicomFile, profile: DeidProfile): ReadonlySet<string> {
  const found = identifyingValues(file.dict, profile, str(file.dict[TAG.SOPClassUID]));
  return identityTokens([...found.identity.keys(), ...found.words]);
}

/** Encapsulated Pixel Data's value bytes in the original file (after the 12-byte element header). */
function encapsulatedValue(original: Buffer): Uint8Array | undefined {
  const loc = locatePixelData(original);
  return loc ? original.subarray(loc.start + 12, loc.end) : undefined;
}

/** The decoded pixels of a file's bytes (the original or the output as written), or why not. */
export async function decodeBytes(
  codecs: PixelEngines['codecs'],
  bytes: Buffer,
): Promise<DecodedImage | string> {
  return decodeParsed(codecs, parseDicom(bytes), bytes);
}

/** The same, for a file already parsed from `bytes` (no second parse). */
export function decodeParsed(
  codecs: PixelEngines['codecs'],
  file: DicomFile,
  bytes: Buffer,
): Promise<DecodedImage | string> {
  return decodeInstance(codecs, file, encapsulatedValue(bytes));
}

export type { PixelCleanResult } from '../pixels/clean';

/** Cleans an instance's pixels, or the pixel-policy failure that quarantines it. */
export async function cleanStage(
  original: Buffer,
  file: DicomFile,
  opts: { rule?: BlankRule; ocr: boolean; profile: DeidProfile; engines: PixelEngines },
): Promise<PixelCleanResult | { failures: CheckFailure[] }> {
  const tokens = tokensOf(file, opts.profile);
  try {
    const cleaned = await cleanPixels(
      {
        file,
        encapsulated: encapsulatedValue(original),
        rule: opts.rule,
        ocr: opts.ocr,
        policy: opts.profile.pixelPolicy.ocr,
        tokens,
      },
      opts.engines,
    );
    if (typeof cleaned === 'string')
      return {
        failures: failure(
          'pixel-policy',
          `${cleaned}; the pixels cannot be cleaned, so the instance stays quarantined`,
        ),
      };
    return { cleaned, tokens, ocr: opts.ocr };
  } catch (err) {
    if (err instanceof OcrError || err instanceof DetectorError)
      return { failures: failure('pixel-policy', `${err.message}; the instance stays quarantined`) };
    throw err;
  }
}
