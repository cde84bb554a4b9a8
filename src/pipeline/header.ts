/**
 * The header stages of one instance, the same on the main thread and in a worker thread
 * (deidWorker.ts): de-identify, write, and the gate on what was written, parsed back, so that what
 * is checked is exactly what leaves. Pure: no I/O, no process state.
 */
import { performance } from 'node:perf_hooks';
import { parseDicom, writeDicom, type DicomFile } from '../dicom/file';
import { deidentify, type DeidContext, type DeidResult } from '../deid/engine';
import { verifyInstance, type InstanceVerdict } from '../verify/instance';

export interface HeaderStages {
  readonly result: DeidResult;
  /** The written header. */
  readonly bytes: Buffer;
  /** It, parsed back (the pixel gate reads its pixels when they were cleaned). */
  readonly output: DicomFile;
  readonly verdict: InstanceVerdict;
  /** Milliseconds in de-identify + write, and in the gate. */
  readonly ms: { readonly deidentify: number; readonly verify: number };
}

export function headerStages(
  source: DicomFile,
  ctx: Pick<DeidContext, 'profile' | 'keys' | 'reidPublicKey'>,
  pixelsCleaned: boolean,
  limits: { readonly maxInflatedBytes: number },
): HeaderStages {
  const t0 = performance.now();
  const result = deidentify(source, ctx, { pixelsCleaned });
  const bytes = writeDicom(result.file);
  const t1 = performance.now();
  const output = parseDicom(bytes, limits);
  const verdict = verifyInstance(source, output, ctx, result.patient, pixelsCleaned);
  return { result, bytes, output, verdict, ms: { deidentify: t1 - t0, verify: performance.now() - t1 } };
}
