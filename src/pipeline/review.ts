/**
 * Operator review of what masking did (issue 27): a picture of a carried instance's research copy
 * with its masks outlined, and the recall of a carried instance (deleted from its destination,
 * quarantined as recalled, audited; a release carries it again). Only de-identified copies are
 * ever drawn: the picture is read back from the destination, never from the clinical Orthanc.
 */
import { parseDicom } from '../dicom/file';
import { entryOfTag } from '../dicom/dictionary';
import type { DicomElement } from '../dicom/dataset';
import { headerStages, type HeaderStages } from './header';
import { splitAtPixelData } from './instance';
import { toPart10 } from '../dicom/part10';
import { matchBlankRule } from '../pixels/regions';
import { DicomParseError, PermanentError } from '../errors';
import { paletteOf } from '../pixels/palette';
import { framesShown, stripPng, type PreviewBox, type PreviewWindow } from '../pixels/preview';
import type { DecodedImage } from '../pixels/image';
import { numberOf } from '../pixels/image';
import { TAG, formatTag } from '../dicom/tags';
import type { Dataset } from '../deid/types';
import { getQuarantine, maskedInstance, recordQuarantined, type MaskedInstance } from '../store/instances';
import { RECALLED_CHECK } from '../store/inFlight';
import { auditAdmin } from '../store/reid';
import type { BaseContext } from './context';
import { cleanStage, decodeParsed } from './pixels';

/** The most bytes a preview reads back from a destination. */
const PREVIEW_MAX_BYTES = 256 * 1024 * 1024;
/** Previews kept in memory, by bytes: a gallery page re-shown costs nothing. */
const CACHE_BYTES = 32 * 1024 * 1024;

const cache = new Map<string, Buffer>();
let cached = 0;

function remember(key: string, png: Buffer): Buffer {
  cache.set(key, png);
  cached += png.length;
  for (const [k, v] of cache) {
    if (cached <= CACHE_BYTES) break;
    cache.delete(k);
    cached -= v.length;
  }
  return png;
}

/** The file's first VOI window (WindowCenter, WindowWidth) with its rescale, when it has one. */
function windowOf(dict: Dataset): PreviewWindow | undefined {
  const center = numberOf(dict, TAG.WindowCenter);
  const width = numberOf(dict, TAG.WindowWidth);
  if (center === undefined || width === undefined) return undefined;
  return {
    center,
    width,
    slope: numberOf(dict, TAG.RescaleSlope) ?? 1,
    intercept: numberOf(dict, TAG.RescaleIntercept) ?? 0,
  };
}

/**
 * A decoded image as the review shows it: one frame, or the first, middle and last of a
 * multi-frame image, each with its own masks, in the file's window and palette.
 */
function picture(
  img: DecodedImage,
  dict: Dataset,
  boxesOf: (frame: number) => readonly PreviewBox[],
  size: number,
): Buffer {
  const palette = img.photometric === 'PALETTE COLOR' ? paletteOf(dict) : undefined;
  return stripPng(img, framesShown(img.frames), boxesOf, size, palette, windowOf(dict));
}

/** The research destination an instance went to (the profile does not matter for reading it). */
function destinationOf(ctx: BaseContext, name: string, profile: string) {
  const target = ctx.target(name, profile, '');
  if (!target) throw new PermanentError('NO_DESTINATION', `no destination named ${JSON.stringify(name)}`);
  return target.research;
}

export type Preview =
  | { readonly png: Buffer; readonly item?: MaskedInstance }
  | { readonly none: 'not-masked' | 'not-readable' | 'not-held' | 'not-decodable' };

/**
 * The carried copy of a masked instance as a PNG at most `size` px on its longer side, its masks
 * outlined: the frame the first mask is in.
 */
export async function previewOf(
  ctx: BaseContext,
  profile: string,
  destination: string,
  sourceId: string,
  size: number,
): Promise<Preview> {
  const item = await maskedInstance(ctx.db, sourceId, destination);
  if (!item) return { none: 'not-masked' };
  const key = `${destination}\0${item.researchId}\0${item.updatedAt}\0${size}`;
  const hit = cache.get(key);
  if (hit) return { png: hit, item };
  const dest = destinationOf(ctx, destination, profile);
  if (!dest.read) return { none: 'not-readable' };
  const bytes = await dest.read(item.researchId, PREVIEW_MAX_BYTES);
  if (!bytes) return { none: 'not-held' };
  const file = parseDicom(bytes);
  const img = await decodeParsed(ctx.state.pixels.codecs, file, bytes);
  if (typeof img === 'string') return { none: 'not-decodable' };
  const boxesOf = (frame: number) =>
    item.boxes
      .filter((b) => b[0] === frame || b[0] === -1)
      .map(([, x, y, width, height]) => ({ x, y, width, height }));
  return { png: remember(key, picture(img, file.dict, boxesOf, size)), item };
}

/**
 * Takes a carried instance back: deleted from its destination, quarantined with the reason
 * `recalled by <actor>`, audited. Its release carries it again.
 */
export async function recall(
  ctx: BaseContext,
  profile: string,
  destination: string,
  sourceId: string,
  actor: string,
): Promise<'recalled' | 'not-masked' | 'cannot-delete'> {
  const db = ctx.db;
  const item = await maskedInstance(db, sourceId, destination);
  if (!item) return 'not-masked';
  const dest = destinationOf(ctx, destination, profile);
  if (!dest.canReplace) return 'cannot-delete';
  await dest.deleteInstance(item.researchId);
  await recordQuarantined(db, {
    sourceId,
    destination,
    studyId: item.studyId,
    jobId: item.jobId,
    check: RECALLED_CHECK,
    tag: null,
    reason: `recalled by ${actor}: the carried copy was deleted from ${destination}; release carries it again`,
    fingerprint: item.fingerprint,
  });
  await auditAdmin(db, {
    action: 'recall',
    pseudonym: '',
    actor,
    outcome: 'recalled',
    target: `instance ${sourceId} (study ${item.studyId}) on ${destination}`,
  });
  return 'recalled';
}

/** Quarantine checks whose candidate is a masked image that may be shown: the masks hold, only their size failed. */
export const PICTURED_CHECKS: ReadonlySet<string> = new Set(['kept-pixels']);

/**
 * The candidate a quarantined instance would have been: the original read from the clinical
 * Orthanc and masked again under the profile (never shown unmasked), drawn with its masks
 * outlined. Only for quarantines whose masks are not in doubt (PICTURED_CHECKS: kept-pixels,
 * where they covered too much); a candidate a second OCR pass read identity in is never drawn.
 */
export async function candidatePreviewOf(
  ctx: BaseContext,
  profile: string,
  quarantineId: number,
  size: number,
): Promise<Preview | { none: 'not-pictured' | 'not-open' }> {
  const q = await getQuarantine(ctx.db, quarantineId);
  if (!q || q.status !== 'open') return { none: 'not-open' };
  if (!PICTURED_CHECKS.has(q.check)) return { none: 'not-pictured' };
  const key = `candidate\0${quarantineId}\0${q.createdAt}\0${size}`;
  const hit = cache.get(key);
  if (hit) return { png: hit };
  const target = ctx.target(q.destination, profile, '');
  if (!target) return { none: 'not-open' };
  const original = toPart10(await ctx.source.instanceFile(q.sourceId, PREVIEW_MAX_BYTES));
  const file = parseDicom(original);
  const policy = target.deid.profile.pixelPolicy;
  const r = await cleanStage(original, file, {
    rule: matchBlankRule(file.dict, policy.blank),
    ocr: true,
    profile: target.deid.profile,
    engines: ctx.state.pixels,
  });
  if ('failures' in r) return { none: 'not-decodable' };
  const c = r.cleaned;
  const boxesOf = (frame: number) => c.maskRegions.filter((m) => m.frame === undefined || m.frame === frame);
  return { png: remember(key, picture(c.cleaned, file.dict, boxesOf, size)) };
}

/** Quarantine checks about the header alone: their candidate is shown as its element table. */
export const HEADER_CHECKS: ReadonlySet<string> = new Set([
  'residual-phi',
  'conformance',
  'iod',
  'marking',
  'correspondence',
]);

/** The most rows an element table shows (a dataset may hold many thousands in functional groups). */
export const ELEMENT_ROWS_MAX = 2000;

/** One element of a candidate, by path and kind, never by value. */
export interface ElementRow {
  /** "(0040,A730)[0].(0040,A043)": the gate's way of writing where an element is. */
  readonly path: string;
  readonly keyword: string;
  readonly vr: string;
  readonly depth: number;
  /** What it holds, in size only: "3 items", "2 values", "128 bytes", "empty". */
  readonly holds: string;
  /** The gate's failures at this element ("check: detail"; details never hold values). */
  readonly failures: readonly string[];
  /** A failure about an element the candidate lacks (an attribute the IOD requires, removed). */
  readonly absent?: boolean;
}

function holds(el: DicomElement): string {
  const values = el.Value ?? [];
  if (el.vr === 'SQ') return `${values.length} item${values.length === 1 ? '' : 's'}`;
  const bytes = values.reduce<number>((n, v) => n + (v instanceof ArrayBuffer ? v.byteLength : 0), 0);
  if (bytes > 0) return `${bytes} bytes`;
  const present = (v: unknown): boolean =>
    typeof v === 'string'
      ? v.trim() !== ''
      : typeof v === 'object' && v !== null
        ? Object.values(v).some(present)
        : v !== null && v !== undefined;
  const n = values.filter(present).length;
  return n === 0 ? 'empty' : `${n} value${n === 1 ? '' : 's'}`;
}

/**
 * The header of a quarantined candidate as an element table: the original read from the clinical
 * Orthanc, de-identified again under the profile, and the gate run on it; each element by path,
 * keyword, VR and size (never a value), the gate's failures on their elements. Only for header
 * checks (HEADER_CHECKS); the candidate is the header without pixel cleaning.
 */
export async function candidateElementsOf(
  ctx: BaseContext,
  profile: string,
  quarantineId: number,
): Promise<
  { rows: ElementRow[]; more: number; failures: number } | { none: 'not-open' | 'not-header' | 'unreadable' }
> {
  const q = await getQuarantine(ctx.db, quarantineId);
  if (!q || q.status !== 'open') return { none: 'not-open' };
  if (!HEADER_CHECKS.has(q.check)) return { none: 'not-header' };
  const target = ctx.target(q.destination, profile, '');
  if (!target) return { none: 'not-open' };
  const limits = { maxInflatedBytes: ctx.maxInflatedBytes };
  let candidate: HeaderStages;
  try {
    const original = toPart10(await ctx.source.instanceFile(q.sourceId, PREVIEW_MAX_BYTES));
    candidate = headerStages(parseDicom(splitAtPixelData(original).head, limits), target.deid, false, limits);
  } catch (err) {
    if (err instanceof DicomParseError) return { none: 'unreadable' };
    throw err;
  }
  const at = new Map<string, string[]>();
  const { failures } = candidate.verdict;
  for (const f of failures) {
    const key = f.path ? `${f.path}.${f.tag}` : f.tag;
    at.set(key, [...(at.get(key) ?? []), `${f.check}: ${f.detail}`]);
  }
  const rows: ElementRow[] = [];
  let more = 0;
  const walk = (ds: Dataset, prefix: string, depth: number) => {
    for (const [tag, el] of Object.entries(ds)) {
      const path = `${prefix ? `${prefix}.` : ''}${formatTag(tag)}`;
      if (rows.length >= ELEMENT_ROWS_MAX) more++;
      else {
        rows.push({
          path,
          keyword: entryOfTag(tag)?.keyword ?? (parseInt(tag.slice(0, 4), 16) & 1 ? 'private' : ''),
          vr: el.vr,
          depth,
          holds: holds(el),
          failures: at.get(path) ?? [],
        });
        at.delete(path);
      }
      if (el.vr === 'SQ')
        (el.Value ?? []).forEach((item, i) => walk(item as Dataset, `${path}[${i}]`, depth + 1));
    }
  };
  walk(candidate.output.meta, '', 0);
  walk(candidate.output.dict, '', 0);
  // Failures about elements the candidate does not hold: shown where they would be, marked absent.
  for (const [path, list] of at) {
    const tag = /\((\w{4}),(\w{4})\)$/.exec(path);
    const keyword = tag ? (entryOfTag(`${tag[1]}${tag[2]}`.toUpperCase())?.keyword ?? '') : '';
    rows.push({
      path,
      keyword,
      vr: '',
      depth: path.split('.').length - 1,
      holds: 'absent',
      failures: list,
      absent: true,
    });
  }
  return { rows, more, failures: failures.length };
}
