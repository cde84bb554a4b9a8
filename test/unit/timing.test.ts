import { backoffMs, mapPool } from '../../src/util/timing';

describe('timing helpers', () => {
  it('backs off exponentially with jitter, capped', () => {
    expect(backoffMs(1, 100, 1000, () => 0)).toBe(50);
    expect(backoffMs(1, 100, 1000, () => 1)).toBe(100);
    expect(backoffMs(3, 100, 1000, () => 1)).toBe(400);
    expect(backoffMs(20, 100, 1000, () => 1)).toBe(1000);
    expect(backoffMs(20, 100, 1000, () => 0)).toBe(500);
  });

  it('runs at most N tasks at once and keeps the order of results', async () => {
    let inFlight = 0;
    let peak = 0;
    const out = await mapPool([5, 1, 4, 2, 3, 0], 2, async (x) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setImmediate(r));
      inFlight--;
      return x * 2;
    });
    expect(out).toEqual([10, 2, 8, 4, 6, 0]);
    expect(peak).toBe(2);
  });
});
