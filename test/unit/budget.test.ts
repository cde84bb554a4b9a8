import { mapPool } from '../../src/util/timing';
import { ByteBudget } from '../../src/util/budget';

describe('byte budget', () => {
  it('lets tasks run while they fit, in order, and a task larger than the budget alone', async () => {
    const budget = new ByteBudget(100);
    const order: string[] = [];
    const a = await budget.acquire(60);
    const bWait = budget.acquire(60).then((r) => (order.push('b'), r));
    const cWait = budget.acquire(30).then((r) => (order.push('c'), r)); // waits behind b, in order
    await Promise.resolve();
    expect(order).toEqual([]);
    a();
    const b = await bWait;
    const c = await cWait;
    expect(order).toEqual(['b', 'c']);
    expect(budget.inUse).toBe(90);
    b();
    c();
    const big = await budget.acquire(500); // alone
    expect(budget.inUse).toBe(500);
    big();
    expect(budget.inUse).toBe(0);
  });
});

describe('instance slots shared by studies', () => {
  it('give two studies turns: a study of many instances does not hold every slot until it is done', async () => {
    // The pipeline's shape (pipeline/carry.ts): each study maps its instances over the shared
    // slots, `concurrency` at a time; a slot is taken per instance and given back when it ends.
    const slots = new ByteBudget(2);
    const started: string[] = [];
    const study = (name: string, instances: number) =>
      mapPool(
        Array.from({ length: instances }, (_, i) => i),
        2,
        async (i) => {
          const slot = await slots.acquire(1);
          started.push(`${name}${i}`);
          // Each instance takes a few turns of the event loop, as reading and writing do.
          for (let k = 0; k < 3; k++) await new Promise((r) => setImmediate(r));
          slot();
        },
      );
    const big = study('A', 20);
    // The second study arrives once the first holds every slot.
    await new Promise((r) => setImmediate(r));
    await Promise.all([big, study('B', 3)]);
    // B's three instances start among A's first few, not after all twenty.
    const lastB = started.indexOf('B2');
    expect(lastB).toBeGreaterThan(0);
    expect(lastB).toBeLessThan(10);
    expect(started.filter((s) => s.startsWith('A'))).toHaveLength(20);
  });
});
