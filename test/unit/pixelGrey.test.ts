import { localContrast, rank, topHat } from '../../src/pixels/grey';
import { rng } from '../helpers/burnedIn';

function naive(src: Uint8Array, w: number, h: number, r: number, op: 'min' | 'max'): Uint8Array {
  const out = new Uint8Array(src.length);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      let v = op === 'min' ? 255 : 0;
      for (let yy = Math.max(0, y - r); yy <= Math.min(h - 1, y + r); yy++)
        for (let xx = Math.max(0, x - r); xx <= Math.min(w - 1, x + r); xx++)
          v = op === 'min' ? Math.min(v, src[yy * w + xx]!) : Math.max(v, src[yy * w + xx]!);
      out[y * w + x] = v;
    }
  return out;
}

describe('grey images for OCR', () => {
  it('take the minimum and maximum over a square window as a brute-force search does, at every size and edge', () => {
    const random = rng(7);
    for (const [w, h] of [
      [1, 1],
      [7, 3],
      [23, 17],
      [64, 5],
    ] as const)
      for (const r of [1, 2, 5])
        for (const op of ['min', 'max'] as const) {
          const src = Uint8Array.from({ length: w * h }, () => Math.floor(random() * 256));
          expect([w, h, r, op, [...rank(src, w, h, r, op)]]).toEqual([
            w,
            h,
            r,
            op,
            [...naive(src, w, h, r, op)],
          ]);
        }
  });

  it('keep a thin stroke and drop a wide shape behind it (top-hat), dark on white', () => {
    const w = 60;
    const h = 40;
    const g = new Uint8Array(w * h).fill(20);
    for (let y = 5; y < 35; y++) for (let x = 10; x < 50; x++) g[y * w + x] = 128; // a wide grey shape
    for (let y = 10; y < 30; y++) g[y * w + 30] = 250; // a one-pixel light stroke over it
    const light = topHat(g, w, h, 'light');
    expect(light[20 * w + 30]).toBe(0); // the stroke: black
    expect(light[20 * w + 20]).toBe(255); // the shape: gone to white
    expect(light[2 * w + 2]).toBe(255); // the ground: white
    const dark = topHat(g, w, h, 'dark');
    expect(dark[20 * w + 30]).toBe(255); // a light stroke is not a dark feature
  });

  it('lift a stroke a few levels under a dark corner to ten levels or more, keeping the order of levels (local contrast)', () => {
    const w = 256;
    const h = 256;
    const random = rng(11);
    // Air at 3-5 of 255 in the top-left quarter, anatomy (100-220, textured) elsewhere.
    const g = Uint8Array.from({ length: w * h }, (_, i) => {
      const x = i % w;
      const y = (i - x) / w;
      return x < 128 && y < 128 ? 3 + Math.floor(random() * 3) : 100 + Math.floor(random() * 121);
    });
    // A dark stroke at 1 (2-4 levels under the air), 20 px long, 2 px wide.
    for (let y = 40; y < 60; y++) for (let x = 40; x < 42; x++) g[y * w + x] = 1;
    const out = localContrast(g, w, h);
    let air = 0;
    for (let y = 40; y < 60; y++) for (let x = 50; x < 60; x++) air += out[y * w + x]!;
    air /= 200;
    const stroke = out[50 * w + 40]!;
    // Up to four times the contrast (the clip limit): 2-4 levels under the air become 10 or more.
    expect(air - stroke).toBeGreaterThanOrEqual(10);
    // Order kept: a darker input never maps lighter within one tile.
    for (let v = 1; v < 256; v++) {
      const a = localContrast(
        Uint8Array.from({ length: 64 * 64 }, (_, i) => (i % 256 === 0 ? v - 1 : v)),
        64,
        64,
      );
      expect(a[0]).toBeLessThanOrEqual(a[1]!);
    }
  });

  it('leave a flat frame flat and keep every size, even one smaller than the tile grid', () => {
    for (const [w, h] of [
      [1, 1],
      [5, 3],
      [9, 200],
    ] as const) {
      const out = localContrast(new Uint8Array(w * h).fill(77), w, h);
      expect(out).toHaveLength(w * h);
      expect(new Set(out).size).toBe(1);
    }
  });
});
