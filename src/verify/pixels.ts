/**
 * The gate's pixel checks (issue 21, 22): on the output as it will be sent, parsed back from its
 * bytes, against the decoded original: BurnedInAnnotation NO, the mask applied exactly
 * (`clean-pixels`), the image kept (`kept-pixels`), and a second, full OCR pass that reads no
 * identity value, date, time or long number (`clean-pixels`). Each check says it ran.
 */
import type { DicomFile } from '../dicom/file';
import type { OcrPolicy } from '../deid/profile';
import { TAG, formatTag } from '../dicom/tags';
import { str } from '../dicom/values';
import { decodeInstance, type PixelCleanResult, type PixelEngines } from '../pixels/clean';
import { keptPixels } from '../pixels/kept';
import { maskMismatch } from '../pixels/mask';
import { OcrError } from '../pixels/ocr';
import { identifyingWords } from '../pixels/text';
import type { CheckFailure, CheckName, GateVerdict } from './types';

const PIXEL = formatTag(TAG.PixelData);

function failure(check: CheckFailure['check'], detail: string, tag = PIXEL): CheckFailure[] {
  return [{ check, tag, path: '', detail }];
}

/** The gate's pixel checks on the output as it will be sent (parsed back from its bytes). */
export async function pixelGate(
  result: PixelCleanResult,
  output: DicomFile,
  engines: PixelEngines,
  policy: Pick<OcrPolicy, 'maxMaskedFraction' | 'maxSecondsPerInstance'>,
): Promise<GateVerdict> {
  const ran: CheckName[] = ['clean-pixels'];
  const verdict = (failures: CheckFailure[]): GateVerdict => ({ failures, ran });
  const found = await pixelChecks(result, output, engines, policy, ran);
  return verdict(found);
}

/** The checks themselves; each one adds its name to `ran` before it runs. */
async function pixelChecks(
  result: PixelCleanResult,
  output: DicomFile,
  engines: PixelEngines,
  policy: Pick<OcrPolicy, 'maxMaskedFraction' | 'maxSecondsPerInstance'>,
  ran: CheckName[],
): Promise<CheckFailure[]> {
  const { maxMaskedFraction, maxSecondsPerInstance } = policy;
  if (str(output.dict[TAG.BurnedInAnnotation]).toUpperCase() !== 'NO')
    return failure(
      'clean-pixels',
      'BurnedInAnnotation is not NO in the cleaned output',
      formatTag(TAG.BurnedInAnnotation),
    );
  const decoded = await decodeInstance(engines.codecs, output);
  if (typeof decoded === 'string')
    return failure('clean-pixels', `the output pixels cannot be read back: ${decoded}`);
  const mismatch = maskMismatch(result.cleaned.original, decoded, result.cleaned.mask, result.cleaned.value);
  if (mismatch) return failure('clean-pixels', mismatch);
  ran.push('kept-pixels');
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
