import type { Dataset } from '../deid/types';
import { TAG } from '../dicom/tags';
import { str } from '../dicom/values';

/**
 * Clean Pixel Data by configured rectangles: for a manufacturer, model and image size whose
 * burned-in text sits at known places (an ultrasound scanner's header band, a modality's overlay
 * of the patient name), the profile lists the rectangles to blank. They are masked (mask.ts) in
 * the decoded pixels before OCR reads the rest (clean.ts).
 */

export interface BlankRule {
  readonly manufacturer: string;
  /** ManufacturerModelName; any model of the manufacturer when absent. */
  readonly model?: string;
  readonly rows: number;
  readonly columns: number;
  /** [x, y, width, height] in pixels, from the top-left corner. */
  readonly rectangles: ReadonlyArray<readonly [number, number, number, number]>;
}

function num(ds: Dataset, tag: string): number | undefined {
  const v = ds[tag]?.Value?.[0];
  return typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : undefined;
}

/** The first rule that names this instance's manufacturer, model and size. */
export function matchBlankRule(ds: Dataset, rules: readonly BlankRule[]): BlankRule | undefined {
  const manufacturer = str(ds[TAG.Manufacturer]).toLowerCase();
  const model = str(ds[TAG.ManufacturerModelName]).toLowerCase();
  const rows = num(ds, TAG.Rows);
  const columns = num(ds, TAG.Columns);
  return rules.find(
    (r) =>
      r.manufacturer.trim().toLowerCase() === manufacturer &&
      (r.model === undefined || r.model.trim().toLowerCase() === model) &&
      r.rows === rows &&
      r.columns === columns,
  );
}
