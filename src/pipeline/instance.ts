import { performance } from 'node:perf_hooks';
import { DicomParseError, parseDicom, type DicomFile } from '../dicom/file';
import { DEFLATED_DATASET_SYNTAXES } from '../dicom/syntaxes';
import { textShare } from '../pixels/kept';
import { matchBlankRule } from '../pixels/regions';
import { pixelDecision } from '../pixels/policy';
import { layoutOf, frameBytes } from '../pixels/image';
import { cleanStage, type PixelCleanResult } from './pixels';
import { pixelGate } from '../verify/pixels';
import { keyIdOf, sealIdentity } from '../deid/reid';
import { inflatedPart10, toPart10, transferSyntaxOf } from '../dicom/part10';
import { locatePixelData, trailingZeroPadding } from '../dicom/scan';
import { hasSealed, saveSealed } from '../store/reid';
import type { Dataset } from '../deid/types';
import { describeFailure, type CheckFailure, type CheckName } from '../verify/types';
import type { PatientMapping } from '../deid/engine';
import { headerStages } from './header';
import type { TargetContext } from './context';
import { push } from './push';
import type { Lease } from '../util/bufferPool';
import type { InstanceOutcome, Prepared } from './outcome';

export type { InstanceOutcome, Prepared };
import { bytesTotal, stageSeconds } from '../metrics';
import { formatTag, TAG, NO_ELEMENT } from '../dicom/tags';
import { str } from '../dicom/values';

/** Changes the bytes an instance holds in the memory budget (waits its turn like any reservation). */
export type Resize = (bytes: number) => Promise<void>;

const MB = 1 << 20;

type Stage = 'pull' | 'deidentify' | 'verify' | 'push';

/**
 * Milliseconds per stage, summed over the instances of a study, and how many instances passed
 * each check of the gate, counted where the gate ran them (for the audit record).
 */
export type StageStats = Record<Stage, number> & { readonly checks: Record<string, number> };

export function newStageStats(): StageStats {
  return { pull: 0, deidentify: 0, verify: 0, push: 0, checks: {} };
}

function addStage(times: StageStats, stage: Stage, ms: number): void {
  times[stage] += ms;
  stageSeconds.observe({ stage }, ms / 1000);
}

async function timed<T>(times: StageStats, stage: Stage, fn: () => Promise<T> | T): Promise<T> {
  const t0 = performance.now();
  try {
    return await fn();
  } finally {
    addStage(times, stage, performance.now() - t0);
  }
}

function parseFailure(err: unknown): CheckFailure[] {
  const detail = err instanceof DicomParseError ? err.message : 'unreadable file';
  return [{ check: 'conformance', tag: formatTag(NO_ELEMENT), path: '', detail: `parse: ${detail}` }];
}

/**
 * Splits a file into the part the engine reads (everything before the top-level Pixel Data) and
 * the Pixel Data element, when Pixel Data is the last element and the layout can be walked.
 */
/**
 * Headers from this size up are de-identified in a worker thread: below it, handing the bytes over
 * and back costs more than the work (measured with `npm run bench:deid -- --threads 1,2`).
 */
export const DEID_WORKER_MIN_BYTES = 64 * 1024;

export function splitAtPixelData(original: Buffer): { head: Buffer; pixel: Buffer | null } {
  const loc = locatePixelData(original);
  if (!loc || loc.end !== original.length) return { head: original, pixel: null };
  return { head: original.subarray(0, loc.start), pixel: original.subarray(loc.start, loc.end) };
}

/**
 * De-identify and verify stages. The gate runs on the header that will be sent, written and
 * parsed back, so what is checked is exactly what leaves. The pixel element after it is the
 * original's own bytes (spliced), so its correspondence holds by construction; on the full-parse
 * path (no splice possible) the gate compares pixel hashes. A failed check is an outcome, not an
 * error.
 */
export async function deidentifyAndVerify(
  original: Buffer,
  ctx: TargetContext,
  times: StageStats = newStageStats(),
  resize?: Resize,
  onPixels?: () => Promise<void>,
): Promise<Prepared | { failures: CheckFailure[] }> {
  try {
    original = toPart10(original);
  } catch (err) {
    return { failures: parseFailure(err) };
  }
  const limits = { maxInflatedBytes: ctx.maxInflatedBytes };
  if (DEFLATED_DATASET_SYNTAXES.has(transferSyntaxOf(original))) {
    // A deflated dataset is inflated in memory: reserve what it may become before it exists
    // (its chunks and the file they are copied into), then carry it as explicit VR.
    if (resize) await resize(original.length + 2 * ctx.maxInflatedBytes);
    try {
      original = await inflatedPart10(original, ctx.maxInflatedBytes);
    } catch (err) {
      return { failures: parseFailure(err) };
    }
  }
  // Zeros after the last element (a writer's padding; Orthanc and pydicom read such files) are
  // dropped, and only their count is logged; anything else after it still fails the parse.
  const padding = trailingZeroPadding(original);
  if (padding > 0) {
    original = original.subarray(0, original.length - padding);
    ctx.log?.warn('zero bytes after the last element of the dataset ignored', { bytes: padding });
  }
  const split = splitAtPixelData(original);
  let pixel = split.pixel;
  let source: DicomFile;
  try {
    source = parseDicom(split.head, limits);
  } catch (err) {
    return { failures: parseFailure(err) };
  }
  const policy = ctx.deid.profile.pixelPolicy;
  const rule = matchBlankRule(source.dict, policy.blank);
  const decision = pixelDecision(source.dict, policy);
  let cleaned: PixelCleanResult | undefined;
  if (rule || decision.action === 'ocr') {
    // The pixels are decoded, masked and written uncompressed with the header (no splice). The
    // decoded original, the masked copy and the written file are held at once: reserve them.
    const layout = layoutOf(source.dict);
    if (typeof layout !== 'string') {
      const decoded = frameBytes(layout) * layout.frames;
      const need = original.length * 2 + 3 * decoded;
      // What can never fit is refused, not run alone: a few kilobytes of codestream can declare
      // gigabytes of pixels (issue 22). Pulled bytes alone still run alone (they already exist).
      // Over ocr.maxDecodedMb, cleanPixels refuses it by that name before anything is decoded.
      if (need > ctx.budget.capacity && decoded <= policy.ocr.maxDecodedMb * MB)
        return {
          failures: [
            {
              check: 'pixel-policy',
              tag: formatTag(TAG.PixelData),
              path: '',
              detail: `decoding and masking the pixels needs ${Math.ceil(need / MB)} MB at once, more than the pipeline's memoryBudgetMb (${Math.floor(ctx.budget.capacity / MB)}); the instance stays quarantined`,
            },
          ],
        };
      if (resize) await resize(need);
    }
    const full = pixel ? parseDicom(original, limits) : source;
    const engines = ctx.state.pixels;
    // Recorded before untrusted pixels reach native and WebAssembly code (store/inFlight.ts).
    await onPixels?.();
    const r = await timed(times, 'deidentify', () =>
      cleanStage(original, full, {
        rule,
        ocr: decision.action === 'ocr',
        profile: ctx.deid.profile,
        engines,
      }),
    );
    if ('failures' in r) return r;
    cleaned = r;
    source = r.cleaned.file;
    pixel = null;
  } else if (decision.action === 'quarantine') {
    // Instances likely to show identity in their pixels, which the policy neither masks nor allows, stop here.
    return { failures: [{ check: 'pixel-policy', tag: decision.tag, path: '', detail: decision.reason }] };
  }
  // The header stages: a CPU-heavy header (an enhanced object's functional groups) in a worker
  // thread, so the process uses every core (deidPool.ts); the same function either way (header.ts).
  const pool = ctx.state?.deid; // (stage tests build a context without process state)
  let header: {
    bytes: Buffer;
    dict: Dataset;
    patient: PatientMapping;
    failures: readonly CheckFailure[];
    ran: readonly CheckName[];
  };
  if (!cleaned && pool && split.head.length >= DEID_WORKER_MIN_BYTES) {
    const r = await pool.run(split.head, ctx.deid, limits.maxInflatedBytes);
    if ('error' in r)
      return {
        failures: [
          {
            check: 'conformance',
            tag: formatTag(NO_ELEMENT),
            path: '',
            detail: `${r.parse ? 'parse: ' : ''}${r.error}`,
          },
        ],
      };
    addStage(times, 'deidentify', r.ms.deidentify);
    addStage(times, 'verify', r.ms.verify);
    header = {
      bytes: Buffer.from(r.bytes.buffer, r.bytes.byteOffset, r.bytes.byteLength),
      dict: r.top,
      patient: r.patient,
      failures: r.failures,
      ran: r.ran,
    };
  } else {
    const h = headerStages(source, ctx.deid, !!cleaned, limits);
    addStage(times, 'deidentify', h.ms.deidentify);
    addStage(times, 'verify', h.ms.verify);
    let { failures, ran } = h.verdict;
    if (h.verdict.ok && cleaned) {
      const pixels = await timed(times, 'verify', () =>
        pixelGate(cleaned, h.output, ctx.state.pixels, ctx.deid.profile.pixelPolicy.ocr),
      );
      failures = pixels.failures;
      ran = [...ran, ...pixels.ran];
    }
    header = { bytes: h.bytes, dict: h.result.file.dict, patient: h.result.patient, failures, ran };
  }
  if (header.failures.length > 0) return { failures: [...header.failures] };
  // The audit's list of checks is the list of checks that ran, each named where it runs.
  for (const c of header.ran) times.checks[c] = (times.checks[c] ?? 0) + 1;
  await sealOnce(ctx, header.patient.pseudonym, source.dict);
  const parts = pixel ? [header.bytes, pixel] : [header.bytes];
  return {
    parts,
    length: header.bytes.length + (pixel?.length ?? 0),
    dict: header.dict,
    patient: header.patient,
    masked: cleaned && {
      regions: cleaned.cleaned.regions,
      area: cleaned.cleaned.area,
      share: textShare(cleaned.cleaned),
      boxes: cleaned.cleaned.maskRegions.map((r) => [r.frame ?? -1, r.x, r.y, r.width, r.height] as const),
    },
  };
}

/** With a re-identification key configured, stores the pseudonym's identity sealed to it, once. */
async function sealOnce(ctx: TargetContext, pseudonym: string, dict: Dataset): Promise<void> {
  const key = ctx.deid.reidPublicKey;
  if (!key) return;
  const { sealed, keyIds } = ctx.state;
  let keyId = keyIds.get(key);
  if (!keyId) keyIds.set(key, (keyId = keyIdOf(key)));
  const memo = `${keyId}:${pseudonym}`;
  if (sealed.has(memo)) return;
  if (!(await hasSealed(ctx.db, pseudonym, keyId))) {
    const identity = { patientId: str(dict[TAG.PatientID]), issuer: str(dict[TAG.IssuerOfPatientID]) };
    await saveSealed(ctx.db, pseudonym, sealIdentity(key, pseudonym, identity));
  }
  sealed.add(memo);
}

type Quarantined = Extract<InstanceOutcome, { kind: 'quarantined' }>;

/**
 * De-identify + verify for one file, never throwing: either the prepared output or the
 * quarantine outcome with a reason that names the check and the tag.
 */
export async function prepare(
  original: Buffer,
  ctx: TargetContext,
  times: StageStats = newStageStats(),
  resize?: Resize,
  onPixels?: () => Promise<void>,
): Promise<Prepared | Quarantined> {
  let prepared: Prepared | { failures: CheckFailure[] };
  try {
    prepared = await deidentifyAndVerify(original, ctx, times, resize, onPixels);
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
  if (!('failures' in prepared)) return prepared;
  const first = prepared.failures[0]!;
  const rest = prepared.failures.slice(1);
  const more =
    rest.length > 0 ? ` (+${rest.length} more: ${rest.slice(0, 3).map(describeFailure).join('; ')})` : '';
  return { kind: 'quarantined', check: first.check, tag: first.tag, reason: describeFailure(first) + more };
}

/** One instance through every stage. Transient faults propagate (the job retries); the rest is an outcome. */
export async function processInstance(
  instanceId: string,
  ctx: TargetContext,
  /** `size`: the file size Orthanc listed (0 or absent: unknown), the most the pull may read. */
  opts: {
    replace: boolean;
    times: StageStats;
    resize?: Resize;
    size?: number;
    /** Called once before the instance's pixels are read (store/inFlight.ts). */
    onPixels?: () => Promise<void>;
  },
): Promise<InstanceOutcome> {
  // The pulled file is read into a pooled buffer only where the destination says when it stops
  // reading what was sent (parts of it are views of the file): it is given back after the push.
  const pool = ctx.research.releasesParts ? ctx.state.buffers : undefined;
  const leases: Lease[] = [];
  const alloc = pool
    ? (n: number): Buffer => {
        const lease = pool.acquire(n);
        leases.push(lease);
        return lease.bytes;
      }
    : undefined;
  try {
    const original = await timed(opts.times, 'pull', () =>
      ctx.source.instanceFile(instanceId, opts.size || undefined, alloc),
    );
    bytesTotal.inc({ direction: 'pulled' }, original.length);
    const prepared = await prepare(original, ctx, opts.times, opts.resize, opts.onPixels);
    if ('kind' in prepared) return prepared;
    return await timed(opts.times, 'push', () => push(prepared, ctx, opts.replace, instanceId));
  } finally {
    for (const lease of leases) lease.release();
  }
}
