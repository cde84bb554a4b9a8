/**
 * The gate's proof that a masked image is still the image (check `kept-pixels`): the mask is
 * exactly the union of the regions the first pass recorded (an admin's rectangles, the outside of
 * an ultrasound's regions, text it read, each text region with the detector's score or an
 * identifying word), text masks cover at most the profile's share of each frame, and no frame is
 * masked whole. "No readable text" alone is proven by a black frame; this proves the rest.
 */
import type { Dataset } from '../deid/types';
import type { CleanedPixels } from './clean';
import { MIN_TEXT_SCORE } from './detect';
import { emptyMask, markBox, markOutside, maskedArea, ultrasoundRegions } from './mask';

function percent(x: number): string {
  return `${(100 * x).toFixed(1)}%`;
}

interface Masks {
  readonly fixed: Uint8Array;
  readonly text: Uint8Array;
  readonly perFrame: Map<number, Uint8Array>;
}

/** The mask split by why: fixed (rectangles, outside ultrasound regions), text, text per frame. */
function masksOf(cleaned: Pick<CleanedPixels, 'original' | 'maskRegions'>, header: Dataset): Masks | string {
  const img = cleaned.original;
  const fixed = emptyMask(img);
  const text = emptyMask(img);
  const perFrame = new Map<number, Uint8Array>();
  for (const r of cleaned.maskRegions) {
    if (r.source === 'rectangle') markBox(fixed, img, r);
    else if (r.source === 'outside-regions') {
      const us = ultrasoundRegions(header, img);
      if (!us) return 'a region outside the ultrasound regions was masked, but the image declares none';
      markOutside(fixed, img, us);
    } else {
      if (r.score !== undefined && !(r.score >= MIN_TEXT_SCORE))
        return 'a text mask has a detector score under the threshold';
      markBox(text, img, r);
      const f = r.frame ?? 0;
      const own = perFrame.get(f) ?? emptyMask(img);
      markBox(own, img, r);
      perFrame.set(f, own);
    }
  }
  return { fixed, text, perFrame };
}

/** Share of the frame a mask covers where the fixed masks do not. */
function shareOver(mask: Uint8Array, fixed: Uint8Array): number {
  let n = 0;
  for (let p = 0; p < mask.length; p++) if (mask[p] && !fixed[p]) n++;
  return n / mask.length;
}

/** The largest share of one frame that text masks cover (0-1), for the audit. */
export function textShare(cleaned: Pick<CleanedPixels, 'original' | 'maskRegions' | 'file'>): number {
  const m = masksOf(cleaned, cleaned.file.dict);
  return typeof m === 'string' ? 1 : shareOver(m.text, m.fixed);
}

/** Why the masked image is not the image kept, or undefined. Reasons give shares and frames, never text. */
export function keptPixels(
  cleaned: Pick<CleanedPixels, 'original' | 'mask' | 'maskRegions'>,
  header: Dataset,
  maxMaskedFraction: number,
): string | undefined {
  const img = cleaned.original;
  const pixels = img.rows * img.columns;
  const m = masksOf(cleaned, header);
  if (typeof m === 'string') return m;
  const { fixed, text, perFrame } = m;
  for (let p = 0; p < pixels; p++) {
    const expected = fixed[p] || text[p] ? 1 : 0;
    if (cleaned.mask[p] !== expected) return 'a masked pixel is in no region the first pass recorded';
  }
  if (maskedArea(cleaned.mask) >= pixels) return 'every pixel of the frame would be masked';
  // Text masks count where they add to what the rectangles and the ultrasound regions mask.
  const share = shareOver(text, fixed);
  if (share <= maxMaskedFraction) return undefined;
  let worst = { frame: 0, share: 0 };
  for (const [f, own] of perFrame) {
    const s = shareOver(own, fixed);
    if (s > worst.share) worst = { frame: f, share: s };
  }
  const where =
    worst.share > maxMaskedFraction || img.frames === 1
      ? `${percent(worst.share)} of frame ${worst.frame + 1}`
      : `${percent(share)} of each frame (the text of frames 1-${img.frames} together)`;
  return (
    `text masks would cover ${where}, over the profile's limit of ${percent(maxMaskedFraction)} ` +
    `(ocr.maxMaskedFraction): the image would not be usable, so the instance stays quarantined`
  );
}
