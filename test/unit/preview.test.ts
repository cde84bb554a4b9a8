/** The review's pictures: a PNG any reader decodes, grey windowed, masks outlined, scaled to fit. */
import { inflateSync } from 'node:zlib';
import { framesShown, previewPng, stripPng } from '../../src/pixels/preview';
import type { DecodedImage } from '../../src/pixels/image';

/** The RGB pixels of a PNG this writer made (one IDAT, filter 0 on every row). */
function decodePng(png: Buffer): { width: number; height: number; rgb: Buffer } {
  expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  const width = png.readUInt32BE(16);
  const height = png.readUInt32BE(20);
  const idat = png.indexOf('IDAT', 0, 'latin1');
  const raw = inflateSync(png.subarray(idat + 4, idat + 4 + png.readUInt32BE(idat - 4)));
  const rgb = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    expect(raw[y * (width * 3 + 1)]).toBe(0);
    raw.copy(rgb, y * width * 3, y * (width * 3 + 1) + 1, (y + 1) * (width * 3 + 1));
  }
  return { width, height, rgb };
}

function grey16(rows: number, columns: number, value: (x: number, y: number) => number): DecodedImage {
  const data = new Uint8Array(rows * columns * 2);
  for (let y = 0; y < rows; y++)
    for (let x = 0; x < columns; x++) {
      const v = value(x, y);
      data[(y * columns + x) * 2] = v & 0xff;
      data[(y * columns + x) * 2 + 1] = v >> 8;
    }
  return {
    rows,
    columns,
    frames: 1,
    samples: 1,
    bitsAllocated: 16,
    bitsStored: 16,
    signed: false,
    photometric: 'MONOCHROME2',
    data,
  } as DecodedImage;
}

describe('review previews', () => {
  it('draws a 16-bit frame windowed to 8 bits, scaled to fit, with each mask outlined in magenta', () => {
    const img = grey16(400, 200, (x) => x * 10); // a ramp 0..1990 across
    const { width, height, rgb } = decodePng(
      previewPng(img, 0, [{ x: 100, y: 100, width: 40, height: 20 }], 100),
    );
    expect([width, height]).toEqual([50, 100]);
    const at = (x: number, y: number) => [...rgb.subarray((y * width + x) * 3, (y * width + x) * 3 + 3)];
    expect(at(0, 50)).toEqual([0, 0, 0]); // the darkest of the window
    expect(at(49, 50).every((v) => v >= 250)).toBe(true); // near the brightest (the last column shown)
    expect(at(24, 24)).toEqual([255, 0, 255]); // the mask's top-left corner, scaled by 1/4
    expect(at(24, 40)[1]).toBeGreaterThan(0); // away from the outline: grey
  });

  it('shows MONOCHROME1 as meant: high values dark', () => {
    const img = { ...grey16(10, 10, (x) => x * 100), photometric: 'MONOCHROME1' } as DecodedImage;
    const { rgb } = decodePng(previewPng(img, 0, [], 10));
    expect(rgb[0]).toBe(255);
    expect(rgb[9 * 3]).toBe(0);
  });

  it("uses the file's own window, in rescaled units, where it has one (a CT brain window: 40 / 80 HU)", () => {
    const img = grey16(1, 200, (x) => 944 + x); // stored 944..1143 = -80..119 HU with intercept -1024
    const window = { center: 40, width: 80, slope: 1, intercept: -1024 };
    const { rgb } = decodePng(previewPng(img, 0, [], 200, undefined, window));
    const at = (stored: number) => rgb[(stored - 944) * 3];
    expect(at(944)).toBe(0); // -80 HU: below the window
    expect(at(1024 + 40)).toBeGreaterThan(120); // the centre: mid-grey
    expect(at(1024 + 40)).toBeLessThan(136);
    expect(at(1143)).toBe(255); // 119 HU: above the window
  });

  it('shows the first, middle and last frame of a multi-frame image side by side, each with its own masks', () => {
    expect(framesShown(1)).toEqual([0]);
    expect(framesShown(2)).toEqual([0, 1]);
    expect(framesShown(10)).toEqual([0, 4, 9]);
    // Ten 8 x 8 frames, frame n filled with 20 n: the strip shows frames 0, 4 and 9.
    const frames = 10;
    const data = new Uint8Array(frames * 64);
    for (let f = 0; f < frames; f++) data.fill(20 * f, f * 64, (f + 1) * 64);
    const img = {
      rows: 8,
      columns: 8,
      frames,
      samples: 1,
      bitsAllocated: 8,
      bitsStored: 8,
      signed: false,
      photometric: 'MONOCHROME2',
      data,
    } as DecodedImage;
    const window = { center: 100, width: 201, slope: 1, intercept: 0 }; // 0..200 -> 0..255
    const boxesOf = (f: number) => (f === 4 ? [{ x: 2, y: 2, width: 3, height: 3 }] : []);
    const { width, height, rgb } = decodePng(
      stripPng(img, framesShown(frames), boxesOf, 8, undefined, window),
    );
    expect([width, height]).toEqual([8 * 3 + 4 * 2, 8]);
    const at = (x: number, y: number) => [...rgb.subarray((y * width + x) * 3, (y * width + x) * 3 + 3)];
    expect(at(0, 7)[0]).toBeLessThan(3); // frame 0
    expect(at(12 + 7, 7)[0]).toBeGreaterThan(95); // frame 4 (80 of 0..200)
    expect(at(12 + 7, 7)[0]).toBeLessThan(110);
    expect(at(24 + 7, 7)[0]).toBeGreaterThan(225); // frame 9 (180)
    expect(at(12 + 1, 1)).toEqual([255, 0, 255]); // frame 4's mask outlined
    expect(at(1, 1)).not.toEqual([255, 0, 255]); // not on frame 0
    expect(at(9, 3)).toEqual([48, 48, 48]); // the gap
  });
});
