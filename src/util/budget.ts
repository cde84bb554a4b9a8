/**
 * A budget of bytes in flight. Each task reserves its size before it starts and gives it back when
 * it ends; tasks wait in order while the budget is spent. A task larger than the whole budget
 * runs alone, so memory stays near max(budget, largest task).
 */
export class ByteBudget {
  private used = 0;
  private readonly waiting: Array<{ need: number; go: () => void }> = [];

  constructor(readonly capacity: number) {}

  private fits(need: number): boolean {
    return this.used === 0 || this.used + need <= this.capacity;
  }

  async acquire(bytes: number): Promise<() => void> {
    const need = Math.max(0, bytes);
    if (this.waiting.length === 0 && this.fits(need)) this.used += need;
    else await new Promise<void>((go) => this.waiting.push({ need, go })); // wakeNext reserves for us
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.used -= need;
      this.wakeNext();
    };
  }

  private wakeNext(): void {
    while (this.waiting.length > 0 && this.fits(this.waiting[0]!.need)) {
      const next = this.waiting.shift()!;
      this.used += next.need;
      next.go();
    }
  }

  get inUse(): number {
    return this.used;
  }
}
