import { rank, topHat } from '../../src/pixels/grey';
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
});
