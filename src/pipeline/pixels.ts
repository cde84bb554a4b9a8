/**
 * The pixel stages of one instance: clean (decode, configured rectangles, ultrasound regions, OCR
 * masking) and the gate's proof on what will leave: BurnedInAnnotation NO, every masked pixel
 * constant, every other pixel equal to the decoded original, and a second OCR pass over the
 * output that reads no identity value, date, time or long number.
 */
import { parseDicom, type DicomFile } from '../deid/dicom';
import type { DecodedImage } from '../pixels/image';
import { identifyingValues } from '../deid/identifying';
import type { DeidProfile, OcrPolicy } from '../deid/profile';
import { locatePixelData } from '../deid/scan';
import { TAG } from '../dicom/tags';
import { str } from '../dicom/values';
import { cleanPixels, decodeInstance, type CleanedPixels, type PixelEngines } from '../pixels/clean';
import { DetectorError } from '../pixels/detect';
import { keptPixels } from '../pixels/kept';
import { maskMismatch } from '../pixels/mask';
import { OcrError } from '../pixels/ocr';
import type { BlankRule } from '../pixels/regions';
import { identityTokens, identifyingWords } from '../pixels/text';
import type { CheckFailure } from '../verify/types';

const PIXEL = '(7FE0,0010)';

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
  return decodeInstance(codecs, parseDicom(bytes), encapsulatedValue(bytes));
}

export interface PixelCleanResult {
  readonly cleaned: CleanedPixels;
  readonly tokens: ReadonlySet<string>;
  readonly ocr: boolean;
}

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

/** The gate's pixel checks on the output as it will be sent (parsed back from its bytes). */
export async function pixelGate(
  result: PixelCleanResult,
  output: DicomFile,
  engines: PixelEngines,
  policy: Pick<OcrPolicy, 'maxMaskedFraction' | 'maxSecondsPerInstance'>,
): Promise<CheckFailure[]> {
  const { maxMaskedFraction, maxSecondsPerInstance } = policy;
  if (str(output.dict[TAG.BurnedInAnnotation]).toUpperCase() !== 'NO')
    return failure('clean-pixels', 'BurnedInAnnotation is not NO in the cleaned output', '(0028,0301)');
  const decoded = await decodeInstance(engines.codecs, output);
  if (typeof decoded === 'string')
    return failure('clean-pixels', `the output pixels cannot be read back: ${decoded}`);
  const mismatch = maskMismatch(result.cleaned.original, decoded, result.cleaned.mask, result.cleaned.value);
  if (mismatch) return failure('clean-pixels', mismatch);
  const kept = keptPixels(result.cleaned, result.cleaned.file.dict, maxMaskedFraction);
  if (kept) return failure('kept-pixels', kept);
  if (!result.ocr) return [];
  try {
    const started = Date.now();
    for (let f = 0; f < decoded.frames; f++) {
      // The same total as the first pass's; over it, the output is not proven, so not carried.
      if (f > 0 && Date.now() - started > maxSecondsPerInstance * 1000)
        return failure(
          'clean-pixels',
          `the second OCR pass took longer than the profile's ocr.maxSecondsPerInstance (${maxSecondsPerInstance} s); ${f} of ${decoded.frames} frames read`,
        );
      // Always the full read, ultrasound regions or not: a region never weakens the gate (issue 22).
      const { kind } = identifyingWords(
        await engines.ocr.readFrame(decoded, f, result.cleaned.mask, 'second', 'all'),
        result.tokens,
      );
      if (kind)
        return failure(
          'clean-pixels',
          `the second OCR pass reads identifying text (${kind}) in frame ${f + 1} of the output`,
        );
    }
  } catch (err) {
    if (err instanceof OcrError) return failure('clean-pixels', `the second OCR pass failed: ${err.message}`);
    throw err;
  }
  return [];
}
