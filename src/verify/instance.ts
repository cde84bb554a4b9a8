import { sopClassOf, type DicomFile } from '../dicom/file';
import type { DeidContext, PatientMapping } from '../deid/engine';
import type { DeidProfile } from '../deid/profile';
import type { Dataset } from '../dicom/dataset';
import { TAG } from '../dicom/tags';
import { Conformance, replacedWhole } from './conformance';
import { checkMarking } from './marking';
import { checkIod } from './iod';
import { originalValues, type OriginalValues } from './originals';
import { residualPhi } from './residual';
import { formatTag, type CheckFailure, type CheckName, type GateVerdict } from './types';
import { textOf } from './values';

/** Elements whose value must be the same before and after, for research to trust the images. */
const CORRESPONDENCE_TAGS: Readonly<Record<string, string>> = {
  [TAG.InstanceNumber]: 'InstanceNumber',
  [TAG.ImageLaterality]: 'ImageLaterality',
  [TAG.ViewPosition]: 'ViewPosition',
  [TAG.Laterality]: 'Laterality',
  [TAG.Modality]: 'Modality',
  [TAG.SOPClassUID]: 'SOPClassUID',
  [TAG.Rows]: 'Rows',
  [TAG.Columns]: 'Columns',
};
export interface InstanceVerdict extends GateVerdict {
  readonly ok: boolean;
}

/** The Pixel Data's bytes, fragment by fragment (views, never copies), or null when there is none. */
function pixelBytes(dict: Dataset): Uint8Array[] | null {
  const el = dict[TAG.PixelData];
  if (!el) return null;
  const out: Uint8Array[] = [];
  for (const part of el.Value ?? []) {
    if (part instanceof ArrayBuffer) out.push(new Uint8Array(part));
    else if (ArrayBuffer.isView(part))
      out.push(new Uint8Array(part.buffer, part.byteOffset, part.byteLength));
  }
  return out;
}

/**
 * Whether two datasets hold the same Pixel Data bytes, compared directly (memcmp speed, where
 * hashing both cost a SHA-256 pass over each), whatever the fragment boundaries.
 */
export function samePixelData(a: Dataset, b: Dataset): boolean {
  const x = pixelBytes(a);
  const y = pixelBytes(b);
  if (x === null || y === null) return x === y;
  const total = (parts: Uint8Array[]) => parts.reduce((n, p) => n + p.length, 0);
  if (total(x) !== total(y)) return false;
  let i = 0;
  let j = 0;
  let at = 0; // offset in x[i]
  let bt = 0; // offset in y[j]
  while (i < x.length && j < y.length) {
    const n = Math.min(x[i]!.length - at, y[j]!.length - bt);
    if (n > 0 && Buffer.compare(x[i]!.subarray(at, at + n), y[j]!.subarray(bt, bt + n)) !== 0) return false;
    at += n;
    bt += n;
    if (at === x[i]!.length) [i, at] = [i + 1, 0];
    if (bt === y[j]!.length) [j, bt] = [j + 1, 0];
  }
  return true;
}

class Checker {
  readonly failures: CheckFailure[] = [];
  /** The checks that ran, in order, each named where it runs (run). */
  readonly ran: CheckName[] = [];

  /** Runs one check of the gate and records that it ran. */
  run(check: CheckName, fn: () => void): void {
    if (!this.ran.includes(check)) this.ran.push(check);
    fn();
  }

  fail(check: CheckName, tag: string, path: string, detail: string): void {
    this.failures.push({ check, tag: formatTag(tag), path, detail });
  }

  /** Descriptive values found where the original carried them too: kept by the profile, not leaked. */
  keptDescriptive = 0;

  residual(
    found: OriginalValues,
    out: Dataset,
    orig: Dataset,
    topLevel: boolean,
    profile: DeidProfile,
  ): void {
    this.keptDescriptive += residualPhi(
      found,
      out,
      orig,
      '',
      topLevel,
      (tag, p, detail) => this.fail('residual-phi', tag, p, detail),
      (tag) => replacedWhole(tag, profile),
    );
  }

  correspondence(orig: Dataset, out: Dataset): void {
    for (const [tag, name] of Object.entries(CORRESPONDENCE_TAGS)) {
      const o = orig[tag];
      if (!o) continue;
      if (textOf(o).join('\\') !== textOf(out[tag] ?? { vr: o.vr }).join('\\'))
        this.fail('correspondence', tag, '', `${name} differs from the original`);
    }
    if (!samePixelData(orig, out))
      this.fail('correspondence', TAG.PixelData, '', 'pixel data differs from the original');
  }
}

/**
 * The gate every instance passes before it may be pushed: conformance to the profile, no
 * identifying value of the original left anywhere in the output, correspondence of the elements
 * research relies on, and the de-identification marking. A second opinion: it reads the table and
 * the original itself (verify/table.ts, verify/originals.ts) and takes nothing from the engine but
 * the patient's pseudonym and date shift, which it checks the output against.
 */
export function verifyInstance(
  original: DicomFile,
  output: DicomFile,
  ctx: Pick<DeidContext, 'profile' | 'keys'>,
  patient: PatientMapping,
  /**
   * When the pixels were cleaned (pixels/clean.ts): `original` then holds the cleaned pixels, and
   * the pixel gate (verify/pixels.ts) proves the masking against the decoded original.
   */
  pixelsCleaned = false,
): InstanceVerdict {
  const { profile } = ctx;
  const uidKey = ctx.keys?.uid;
  const found = originalValues(original.dict, profile);
  const checker = new Checker();
  checker.run('conformance', () =>
    new Conformance(
      {
        profile,
        pseudonym: patient.pseudonym,
        dateShiftDays: patient.dateShiftDays,
        originals: found,
        uidKey,
        sopClass: sopClassOf(original),
      },
      (tag, path, detail) => checker.fail('conformance', tag, path, detail),
    ).dataset(original.dict, output.dict, '', [], false),
  );
  checker.run('iod', () =>
    checkIod(
      original,
      output,
      (tag) => replacedWhole(tag, profile),
      (tag, path, detail) => checker.fail('iod', tag, path, detail),
    ),
  );
  checker.run('marking', () =>
    checkMarking(output.dict, profile, pixelsCleaned, (tag, path, detail) =>
      checker.fail('marking', tag, path, detail),
    ),
  );
  checker.run('residual-phi', () => {
    checker.residual(found, output.dict, original.dict, true, profile);
    checker.residual(found, output.meta, original.meta, false, profile);
  });
  checker.run('correspondence', () => checker.correspondence(original.dict, output.dict));
  return { ok: checker.failures.length === 0, failures: checker.failures, ran: checker.ran };
}
