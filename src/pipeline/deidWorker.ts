/**
 * A worker thread that runs the header stages of one instance: parse, de-identify, write, and the
 * gate on what was written (parsed back, as on the main thread). Started by DeidPool (deidPool.ts)
 * so that a process uses every core for CPU-heavy headers (an enhanced multi-frame object's
 * functional groups run to megabytes). Each job's bytes arrive transferred, not copied; the
 * written header goes back the same way. The de-identification context (profile and keys) is
 * sent once per worker and kept.
 */
import { parentPort } from 'node:worker_threads';
import { parseDicom } from '../dicom/file';
import type { Dataset } from '../dicom/dataset';
import type { DeidContext, PatientMapping } from '../deid/engine';
import type { CheckFailure, CheckName } from '../verify/types';
import { headerStages } from './header';
import { safeMessage } from '../errors';

export interface DeidJob {
  readonly id: number;
  /** The original's header (the Pixel Data element is spliced back on the main thread). */
  readonly head: Uint8Array;
  readonly ctxId: number;
  /** Sent with the first job of a context to each worker; kept there after. */
  readonly ctx?: Pick<DeidContext, 'profile' | 'keys'>;
  readonly maxInflatedBytes: number;
}

export type DeidAnswer =
  | {
      readonly id: number;
      readonly ok: true;
      readonly bytes: Uint8Array;
      readonly patient: PatientMapping;
      readonly failures: readonly CheckFailure[];
      readonly ran: readonly CheckName[];
      /** The output's top-level elements that are neither sequences nor binary (export fields, audit). */
      readonly top: Dataset;
      readonly ms: { readonly deidentify: number; readonly verify: number };
    }
  | { readonly id: number; readonly ok: false; readonly error: string; readonly parse: boolean };

/** Top-level elements holding text or numbers: what the main thread reads of the output. */
function topLevel(dict: Dataset): Dataset {
  const out: Dataset = {};
  for (const [tag, el] of Object.entries(dict)) {
    if (el.vr === 'SQ' || (el.Value ?? []).some((v) => v instanceof ArrayBuffer)) continue;
    out[tag] = el;
  }
  return out;
}

const contexts = new Map<number, Pick<DeidContext, 'profile' | 'keys'>>();

function run(job: DeidJob): DeidAnswer {
  if (job.ctx) contexts.set(job.ctxId, job.ctx);
  const ctx = contexts.get(job.ctxId);
  if (!ctx) return { id: job.id, ok: false, error: 'no de-identification context', parse: false };
  const limits = { maxInflatedBytes: job.maxInflatedBytes };
  let source;
  try {
    source = parseDicom(Buffer.from(job.head.buffer, job.head.byteOffset, job.head.byteLength), limits);
  } catch (err) {
    return { id: job.id, ok: false, error: safeMessage(err), parse: true };
  }
  const h = headerStages(source, ctx, false, limits);
  return {
    id: job.id,
    ok: true,
    bytes: new Uint8Array(h.bytes.buffer, h.bytes.byteOffset, h.bytes.byteLength),
    patient: h.result.patient,
    failures: h.verdict.failures,
    ran: h.verdict.ran,
    top: topLevel(h.result.file.dict),
    ms: h.ms,
  };
}

parentPort?.on('message', (job: DeidJob) => {
  let answer: DeidAnswer;
  try {
    answer = run(job);
  } catch (err) {
    answer = { id: job.id, ok: false, error: safeMessage(err), parse: false };
  }
  // The written header moves back without a copy when it owns its buffer.
  const transfer =
    answer.ok && answer.bytes.byteOffset === 0 && answer.bytes.byteLength === answer.bytes.buffer.byteLength
      ? [answer.bytes.buffer as ArrayBuffer]
      : [];
  parentPort!.postMessage(answer, transfer);
});
