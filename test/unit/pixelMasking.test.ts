/**
 * Masking that keeps the image (issue 21), the pure parts: the detector's map turned into text
 * lines, which lines and words are masked, the gate's kept-pixels proof, the masked value for each
 * photometric interpretation, and the views that show text a wide range hides.
 */
import { DEFAULT_OCR_POLICY, type OcrPolicy } from '../../src/deid/profile';
import type { Dataset } from '../../src/deid/types';
import { maskValueOf, textToMask, type MaskRegion } from '../../src/pixels/clean';
import {
  boxesOf,
  detectorInput,
  EDGE_MARGIN,
  lineShaped,
  MIN_TEXT_SCORE,
  tallLineConfirmed,
  withNeighbours,
  type TextBox,
} from '../../src/pixels/detect';
import type { DecodedImage } from '../../src/pixels/image';
import { keptPixels } from '../../src/pixels/kept';
import { applyMask, emptyMask, markBox } from '../../src/pixels/mask';
import type { Word } from '../../src/pixels/ocr';
import { darkestIndex, paletteOf } from '../../src/pixels/palette';
import { identityTokens } from '../../src/pixels/text';
import { detectorViews, equalised, extremes } from '../../src/pixels/views';
import { summarizeReasons } from '../../src/verify/types';
import { TAG, formatTag } from '../../src/dicom/tags';

function image(rows: number, columns: number, over: Partial<DecodedImage> = {}): DecodedImage {
  return {
    rows,
    columns,
    frames: 1,
    samples: 1,
    bitsAllocated: 8,
    bitsStored: 8,
    signed: false,
    photometric: 'MONOCHROME2',
    planar: false,
    data: new Uint8Array(rows * columns),
    ...over,
  };
}

/** A probability map with rectangles of the given probability. */
function probMap(
  width: number,
  height: number,
  rects: Array<[number, number, number, number, number]>,
): Float32Array {
  const m = new Float32Array(width * height);
  for (const [x, y, w, h, p] of rects)
    for (let j = y; j < y + h; j++) m.fill(p, j * width + x, j * width + x + w);
  return m;
}

describe('text lines from the detector map', () => {
  it('grows each kernel by the unclip distance and keeps lines scored 0.6 or more', () => {
    const map = probMap(128, 64, [[10, 10, 40, 6, 0.95]]);
    const [line, ...rest] = boxesOf(map, 128, 64, { width: 128, height: 64 });
    expect(rest).toEqual([]);
    // Unclip: area 240 x 1.5 / perimeter 92 = 3.9 px each side.
    expect(line).toMatchObject({ x: 6, y: 6, width: 48, height: 14 });
    expect(line!.score).toBeCloseTo(0.95);
  });

  it('gives the detector the image inside a margin that repeats its edge pixels, and moves the lines back by it', () => {
    // A 3 x 2 grey image: 10 20 30 / 40 50 60.
    const img = {
      width: 3,
      height: 2,
      channels: 1 as const,
      data: Uint8Array.from([10, 20, 30, 40, 50, 60]),
    };
    const input = detectorInput(img);
    expect(input.margin).toBe(EDGE_MARGIN);
    expect(input.width % 32).toBe(0);
    expect(input.width).toBeGreaterThanOrEqual(3 + 2 * EDGE_MARGIN);
    const red = (x: number, y: number) => input.data[y * input.width + x]!;
    const level = (v: number) => (v / 255 - 0.485) / 0.229;
    // The image itself at (margin, margin); the margins repeat the nearest edge pixel.
    expect(red(EDGE_MARGIN, EDGE_MARGIN)).toBeCloseTo(level(10));
    expect(red(EDGE_MARGIN + 2, EDGE_MARGIN + 1)).toBeCloseTo(level(60));
    expect(red(0, 0)).toBeCloseTo(level(10));
    expect(red(input.width - 1, 0)).toBeCloseTo(level(30));
    expect(red(input.width - 1, input.height - 1)).toBeCloseTo(level(60));
    // A line found at (margin + 10, margin + 10) is at (10, 10) in the image; one wholly in the margin is dropped.
    const size = 128 + 2 * EDGE_MARGIN;
    const map = probMap(size, size, [
      [EDGE_MARGIN + 10, EDGE_MARGIN + 10, 40, 6, 0.95],
      [2, 2, 20, 6, 0.95],
    ]);
    const lines = boxesOf(map, size, size, { width: 128, height: 128, margin: EDGE_MARGIN });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ x: 6, y: 6, width: 48, height: 14 });
  });

  it('drops a weak area alone (texture) but keeps one that continues a strong line on its row', () => {
    const alone = probMap(200, 64, [[120, 40, 20, 6, 0.45]]);
    expect(boxesOf(alone, 200, 64, { width: 200, height: 64 })).toEqual([]);
    const beside = probMap(200, 64, [
      [10, 10, 60, 6, 0.95],
      [76, 10, 12, 6, 0.45],
    ]);
    const lines = boxesOf(beside, 200, 64, { width: 200, height: 64 });
    expect(lines).toHaveLength(2);
    expect(lines.every((l) => l.score >= MIN_TEXT_SCORE)).toBe(true);
  });

  it('keeps a weak line only when it is on the row of a kept line, at most two heights away', () => {
    const strong: TextBox = { x: 0, y: 0, width: 100, height: 10, score: 0.9 };
    const near: TextBox = { x: 115, y: 1, width: 20, height: 9, score: 0.4 };
    const far: TextBox = { x: 140, y: 1, width: 20, height: 9, score: 0.4 };
    const below: TextBox = { x: 0, y: 30, width: 20, height: 9, score: 0.4 };
    expect(withNeighbours([strong, near, below], 0.6).map((b) => b.x)).toEqual([0, 115]);
    // Joined through the line it continues: a chain along one row.
    expect(withNeighbours([strong, near, far], 0.6).map((b) => b.x)).toEqual([0, 115, 140]);
  });

  it('takes tall boxes for text only when long (a heading) or read as a word, not blocks of anatomy', () => {
    const blob = { x: 0, y: 0, width: 130, height: 87 };
    expect(tallLineConfirmed(blob, [])).toBe(false);
    expect(
      tallLineConfirmed(blob, [{ text: '~', confidence: 95, box: { x: 50, y: 30, width: 20, height: 20 } }]),
    ).toBe(false);
    expect(
      tallLineConfirmed(blob, [
        { text: 'red', confidence: 91, box: { x: 10, y: 10, width: 100, height: 60 } },
      ]),
    ).toBe(true);
    expect(tallLineConfirmed({ x: 0, y: 0, width: 400, height: 90 }, [])).toBe(true);
    expect(tallLineConfirmed({ x: 0, y: 0, width: 60, height: 14 }, [])).toBe(true);
    expect(lineShaped({ x: 0, y: 0, width: 60, height: 14 })).toBe(true);
    expect(lineShaped({ x: 0, y: 0, width: 3, height: 2 })).toBe(false);
    // A grain of speckle, or a lone orientation marker: narrower than high.
    expect(lineShaped({ x: 0, y: 0, width: 9, height: 11 })).toBe(false);
  });
});

describe('what is masked', () => {
  const tokens = identityTokens(['QUILLFEATHER^MARGOT', '48213957']);
  const word = (text: string, box: Word['box'], line = 1): Word => ({
    text,
    confidence: 90,
    box,
    line,
    lineBox: box,
  });
  const policy: OcrPolicy = DEFAULT_OCR_POLICY;

  it('masks every detected line, half its height longer at each end (at most 8 px), and ignores words read on texture', () => {
    const lines: TextBox[] = [
      { x: 100, y: 20, width: 80, height: 12, score: 0.9 },
      { x: 100, y: 60, width: 300, height: 40, score: 0.9 },
    ];
    const words = [word('Ee', { x: 10, y: 200, width: 60, height: 50 }, 2)];
    expect(textToMask(lines, words, policy, tokens)).toEqual([
      { box: { x: 94, y: 20, width: 92, height: 12 }, score: 0.9 },
      { box: { x: 92, y: 60, width: 316, height: 40 }, score: 0.9 },
    ]);
  });

  it('holds an identifying word OCR boxed with texture to each line it is in, never the texture between', () => {
    const lines: TextBox[] = [
      { x: 100, y: 100, width: 100, height: 14, score: 0.95 },
      { x: 100, y: 160, width: 60, height: 14, score: 0.9 },
    ];
    // OCR's box: 90 px high and 300 wide around two 14 px lines.
    const words = [word('48213957', { x: 20, y: 95, width: 300, height: 90 })];
    const boxes = textToMask(lines, words, policy, tokens).map((b) => b.box);
    // Along each line, at most two line heights past its ends.
    expect(boxes).toContainEqual({ x: 72, y: 100, width: 156, height: 14 });
    expect(boxes).toContainEqual({ x: 72, y: 160, width: 116, height: 14 });
    expect(boxes.every((b) => b.height <= 14)).toBe(true);
  });

  it('under mask-identifying masks only the lines holding an identifying word', () => {
    const lines: TextBox[] = [
      { x: 10, y: 10, width: 100, height: 12, score: 0.9 },
      { x: 10, y: 40, width: 100, height: 12, score: 0.9 },
    ];
    const words = [
      word('MARGOT', { x: 12, y: 10, width: 50, height: 12 }),
      word('5', { x: 12, y: 40, width: 8, height: 12 }, 2),
    ];
    const boxes = textToMask(lines, words, { ...policy, mode: 'mask-identifying' }, tokens);
    expect(new Set(boxes.map((b) => b.box.y))).toEqual(new Set([10]));
  });
});

describe('the kept-pixels proof', () => {
  const img = image(100, 100);
  const text = (x: number, y: number, width: number, height: number, frame = 0): MaskRegion => ({
    x,
    y,
    width,
    height,
    source: 'text',
    frame,
    score: 0.9,
  });
  function maskOf(regions: MaskRegion[]): Uint8Array {
    const m = emptyMask(img);
    for (const r of regions) markBox(m, img, r);
    return m;
  }

  it('passes corner annotations: the mask is their union and under the limit', () => {
    const regions = [text(0, 0, 40, 10), text(60, 90, 40, 10)];
    expect(
      keptPixels({ original: img, mask: maskOf(regions), maskRegions: regions }, {}, 0.15),
    ).toBeUndefined();
  });

  it('fails a mask with a pixel in no recorded region', () => {
    const regions = [text(0, 0, 40, 10)];
    const mask = maskOf(regions);
    mask[99 * 100 + 99] = 1;
    expect(keptPixels({ original: img, mask, maskRegions: regions }, {}, 0.15)).toBe(
      'a masked pixel is in no region the first pass recorded',
    );
  });

  it('fails a frame mostly masked, naming the share, the frame and the limit, never the text', () => {
    const regions = [text(0, 0, 100, 40)];
    expect(keptPixels({ original: img, mask: maskOf(regions), maskRegions: regions }, {}, 0.15)).toBe(
      "text masks would cover 40.0% of frame 1, over the profile's limit of 15.0% (ocr.maxMaskedFraction): " +
        'the image would not be usable, so the instance stays quarantined',
    );
  });

  it("does not count an admin's rectangles against the limit, but never carries a frame masked whole", () => {
    const rect: MaskRegion = { x: 0, y: 0, width: 100, height: 60, source: 'rectangle' };
    const regions = [rect, text(0, 70, 50, 10)];
    expect(
      keptPixels({ original: img, mask: maskOf(regions), maskRegions: regions }, {}, 0.15),
    ).toBeUndefined();
    const whole: MaskRegion = { ...rect, height: 100 };
    expect(keptPixels({ original: img, mask: maskOf([whole]), maskRegions: [whole] }, {}, 0.15)).toBe(
      'every pixel of the frame would be masked',
    );
  });

  it('fails a text region the detector scored under its threshold', () => {
    const regions = [{ ...text(0, 0, 10, 10), score: 0.2 }];
    expect(keptPixels({ original: img, mask: maskOf(regions), maskRegions: regions }, {}, 0.15)).toMatch(
      /detector score under the threshold/,
    );
  });
});

describe('the kept-pixels reason in the quarantine summary', () => {
  it('folds the share and the frame, so many instances read as one line', () => {
    const reason = (share: string, frame: number) =>
      `kept-pixels: ${formatTag(TAG.PixelData)} text masks would cover ${share}% of frame ${frame}, over the profile's limit of 15.0% (ocr.maxMaskedFraction): the image would not be usable, so the instance stays quarantined`;
    const summary = summarizeReasons([
      { check: 'kept-pixels', reason: reason('23.2', 1) },
      { check: 'kept-pixels', reason: reason('40.0', 3) },
    ]);
    expect(summary).toHaveLength(1);
    expect(summary[0]).toMatchObject({ check: 'kept-pixels', count: 2 });
    expect(summary[0]!.reason).toContain('N% of frame N, over the profile');
  });
});

describe('the kept-pixels proof on multi-frame images', () => {
  const img = image(100, 100, { frames: 3, data: new Uint8Array(30000) });
  const text = (y: number, frame: number): MaskRegion => ({
    x: 0,
    y,
    width: 100,
    height: 10,
    source: 'text',
    frame,
    score: 0.9,
  });
  const mask = (regions: MaskRegion[]) => {
    const m = emptyMask(img);
    for (const r of regions) markBox(m, img, r);
    return m;
  };

  it('names the frame whose own text is over the limit', () => {
    const regions = [text(0, 0), text(20, 1), text(40, 1)];
    expect(keptPixels({ original: img, mask: mask(regions), maskRegions: regions }, {}, 0.15)).toMatch(
      /cover 20\.0% of frame 2,/,
    );
  });

  it('says when only the frames together are over the limit (one mask serves every frame)', () => {
    const regions = [text(0, 0), text(20, 1), text(40, 2)];
    expect(keptPixels({ original: img, mask: mask(regions), maskRegions: regions }, {}, 0.15)).toMatch(
      /cover 30\.0% of each frame \(the text of frames 1-3 together\)/,
    );
  });
});

describe('the masked value', () => {
  /** A 4-entry 16-bit palette: index 0 white, 1 red, 2 near black, 3 grey. */
  function palette(): Dataset {
    const lut = (values: number[]): Dataset[string] => ({
      vr: 'OW',
      Value: [new Uint16Array(values).buffer],
    });
    const desc = { vr: 'US', Value: [4, 0, 16] };
    return {
      [TAG.RedPaletteColorLookupTableDescriptor]: desc,
      [TAG.GreenPaletteColorLookupTableDescriptor]: desc,
      [TAG.BluePaletteColorLookupTableDescriptor]: desc,
      [TAG.RedPaletteColorLookupTableData]: lut([65535, 65535, 2000, 32768]),
      [TAG.GreenPaletteColorLookupTableData]: lut([65535, 0, 2000, 32768]),
      [TAG.BluePaletteColorLookupTableData]: lut([65535, 0, 1000, 32768]),
    };
  }

  it('is the darkest colour of a palette, not index 0', () => {
    const p = paletteOf(palette());
    expect(p).toBeDefined();
    expect(darkestIndex(p!)).toBe(2);
    const img = image(4, 4, { photometric: 'PALETTE COLOR', data: new Uint8Array(16).fill(3) });
    expect(maskValueOf(img, p, DEFAULT_OCR_POLICY)).toBe(2);
    const mask = emptyMask(img);
    mask[0] = 1;
    expect(applyMask(img, mask, 2).data[0]).toBe(2);
  });

  it('is the lowest value for signed 16-bit and the highest for MONOCHROME1', () => {
    expect(
      maskValueOf(
        image(2, 2, { bitsAllocated: 16, bitsStored: 12, signed: true }),
        undefined,
        DEFAULT_OCR_POLICY,
      ),
    ).toBe(-2048);
    expect(
      maskValueOf(
        image(2, 2, { bitsAllocated: 16, bitsStored: 12, photometric: 'MONOCHROME1' }),
        undefined,
        DEFAULT_OCR_POLICY,
      ),
    ).toBe(4095);
  });

  it("is the admin's value when set, refused when the image cannot hold it", () => {
    const img = image(2, 2);
    expect(maskValueOf(img, undefined, { ...DEFAULT_OCR_POLICY, maskValue: 17 })).toBe(17);
    expect(maskValueOf(img, undefined, { ...DEFAULT_OCR_POLICY, maskValue: 300 })).toMatch(
      /ocr.maskValue is outside/,
    );
  });
});

describe('views that show text a wide range hides', () => {
  /** Ground 1000, a 4-level-brighter bar (text), one pixel at 0 and one at 65535. */
  function hidden(): DecodedImage {
    const img = image(20, 20, { bitsAllocated: 16, bitsStored: 16 });
    const words = new Uint16Array(400).fill(1000);
    for (let x = 5; x < 15; x++) words[10 * 20 + x] = 1004;
    words[0] = 0;
    words[399] = 65535;
    return { ...img, data: new Uint8Array(words.buffer) };
  }

  it('equalised: the text stands apart from its ground by far more than one grey level', () => {
    const eq = equalised(hidden(), 0);
    expect(Math.abs(eq[10 * 20 + 7]! - eq[5 * 20 + 7]!)).toBeGreaterThan(8);
  });

  it('extremes: text drawn at the top of the range is dark on white, the ground white', () => {
    const img = image(10, 10, { data: new Uint8Array(100).fill(90) });
    img.data[0] = 10;
    for (let x = 2; x < 8; x++) img.data[50 + x] = 250;
    const ex = extremes(img, 0);
    expect(ex[52]).toBe(0);
    expect(ex[33]).toBe(255);
  });

  /**
   * An 8-bit frame as a JPEG of a windowed CT puts it: a brain at 0-6 of 255 over half the frame,
   * bone at 200 around it, and text drawn at 0 over the brain (pydicom's J2K_pixelrep_mismatch.dcm
   * as the masking benchmark renders it).
   */
  function darkBrain(withText: boolean): DecodedImage {
    const img = image(40, 40);
    for (let y = 0; y < 40; y++)
      for (let x = 0; x < 40; x++)
        img.data[y * 40 + x] = x >= 10 && x < 30 && y >= 5 && y < 35 ? 3 + ((x + y) % 4) : 200;
    if (withText) for (let y = 19; y < 22; y++) for (let x = 12; x < 28; x++) img.data[y * 40 + x] = 0;
    return img;
  }

  it('end window: dark text a few levels under a dark ground stands out in a view enlarged for small text', () => {
    const img = darkBrain(true);
    const views = detectorViews(img, 0);
    const end = views.at(-1)!;
    expect(end.scale).toBe(4);
    expect(end.width).toBe(160);
    const at = (x: number, y: number): number => end.data[(y * 4 + 2) * end.width + x * 4 + 2]!;
    // In the frame the bar is 3-6 levels under its ground; in the window five times that.
    expect(at(15, 20)).toBe(0);
    expect(at(15, 15)).toBeGreaterThan(10);
    expect(at(15, 15) - at(15, 20)).toBeGreaterThanOrEqual(
      4 * (img.data[15 * 40 + 15]! - img.data[20 * 40 + 15]!),
    );
    expect(at(2, 2)).toBe(255); // the bone, clipped white
  });

  it('end window: not read where no quarter of the frame lies at an end (nothing more for the detector to do)', () => {
    const mid = image(40, 40);
    for (let p = 0; p < 1600; p++) mid.data[p] = 60 + (p % 120);
    const withDark = darkBrain(false);
    expect(detectorViews(mid, 0).length).toBe(detectorViews(withDark, 0).length - 1);
  });

  it('extremes: text at the minimum over tissue lying just above it (within 1% of the range) stands out, not the tissue', () => {
    // A 13-bit CT as pydicom's J2K_pixelrep_mismatch.dcm renders it: brain at 20-60, bone up to 8191.
    const img = image(20, 20, { bitsAllocated: 16, bitsStored: 16 });
    const words = new Uint16Array(400);
    for (let p = 0; p < 400; p++) words[p] = 20 + (p % 41);
    words[399] = 8191;
    for (let x = 5; x < 15; x++) words[10 * 20 + x] = 0;
    const ex = extremes({ ...img, data: new Uint8Array(words.buffer) }, 0);
    expect(ex[10 * 20 + 7]).toBe(0);
    expect(ex[5 * 20 + 7]).toBe(255);
    expect(ex.filter((v) => v === 0).length).toBe(11); // the bar and the one bone pixel
  });
});
