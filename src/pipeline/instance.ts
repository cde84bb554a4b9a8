import { createHash } from 'node:crypto';
import { DicomParseError, parseDicom, writeDicom } from '../deid/dicom';
import { deidentify, type PatientMapping } from '../deid/engine';
import { PermanentError } from '../errors';
import { verifyInstance } from '../verify/instance';
import { describeFailure, type CheckFailure } from '../verify/types';
import type { StageContext } from './context';

export type InstanceOutcome =
  | {
      kind: 'pushed';
      researchId: string;
      researchStudyId: string;
      md5: string;
      already: boolean;
      patient: PatientMapping;
    }
  | { kind: 'quarantined'; check: string; tag: string | null; reason: string };

/** Pull stage: the original file from the clinical Orthanc. */
export function pull(instanceId: string, ctx: StageContext): Promise<Buffer> {
  return ctx.source.instanceFile(instanceId);
}

export interface Prepared {
  readonly bytes: Buffer;
  readonly patient: PatientMapping;
}

/**
 * De-identify and verify stages. The gate runs on the bytes that will be sent, parsed back, so
 * what is checked is exactly what leaves. Returns the failures instead of throwing: a failed
 * check is an outcome, not an error.
 */
export function deidentifyAndVerify(
  original: Buffer,
  ctx: StageContext,
): Prepared | { failures: CheckFailure[] } {
  let parsed;
  try {
    parsed = parseDicom(original);
  } catch (err) {
    const detail = err instanceof DicomParseError ? err.message : 'unreadable file';
    return { failures: [{ check: 'conformance', tag: '(0000,0000)', path: '', detail: `parse: ${detail}` }] };
  }
  const result = deidentify(parsed, ctx.deid);
  const bytes = writeDicom(result.file);
  const verdict = verifyInstance(parsed, parseDicom(bytes), ctx.deid, result.patient);
  if (!verdict.ok) return { failures: [...verdict.failures] };
  return { bytes, patient: result.patient };
}

function md5(bytes: Buffer): string {
  return createHash('md5').update(bytes).digest('hex');
}

/**
 * Push stage, then confirm: the research server must hold exactly the bytes we sent. An
 * `AlreadyStored` answer is success only when the stored MD5 matches.
 */
export async function push(prepared: Prepared, ctx: StageContext): Promise<InstanceOutcome> {
  const sent = md5(prepared.bytes);
  const stored = await ctx.research.storeInstance(prepared.bytes);
  const remote = await ctx.research.instanceMd5(stored.ID);
  if (remote !== undefined && remote !== sent) {
    return {
      kind: 'quarantined',
      check: 'study',
      tag: '(0008,0018)',
      reason:
        'study: the research server holds different bytes for this SOP instance (produced under another profile or key?)',
    };
  }
  if (remote === undefined)
    throw new PermanentError(
      'RESEARCH_MISSING',
      'research Orthanc does not show the instance it just accepted',
    );
  return {
    kind: 'pushed',
    researchId: stored.ID,
    researchStudyId: stored.ParentStudy,
    md5: sent,
    already: stored.Status === 'AlreadyStored',
    patient: prepared.patient,
  };
}

/** One instance through every stage. Transient faults propagate (the job retries); the rest is an outcome. */
export async function processInstance(instanceId: string, ctx: StageContext): Promise<InstanceOutcome> {
  const original = await pull(instanceId, ctx);
  let prepared: Prepared | { failures: CheckFailure[] };
  try {
    prepared = deidentifyAndVerify(original, ctx);
  } catch (err) {
    // The engine threw on this file (a value dcmjs cannot write, say): quarantine, never push.
    const name = err instanceof Error ? err.name : 'error';
    return {
      kind: 'quarantined',
      check: 'conformance',
      tag: null,
      reason: `deidentify: the engine failed on this instance (${name})`,
    };
  }
  if ('failures' in prepared) {
    const first = prepared.failures[0]!;
    const more =
      prepared.failures.length > 1
        ? ` (+${prepared.failures.length - 1} more: ${prepared.failures.slice(1, 4).map(describeFailure).join('; ')})`
        : '';
    return { kind: 'quarantined', check: first.check, tag: first.tag, reason: describeFailure(first) + more };
  }
  return push(prepared, ctx);
}
