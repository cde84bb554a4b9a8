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
