/**
 * Gathers instances stored at about the same moment into one request: several instances per
 * STOW-RS request, several C-STOREs per association. Each caller still gets its own answer (a
 * receipt or an error); a batch closes when it holds `maxItems` or `maxBytes`, or `lingerMs` after
 * its first instance, so nobody waits longer than that for company. An instance larger than
 * `maxBytes` goes alone.
 */

export interface BatchLimits {
  readonly maxItems: number;
  readonly maxBytes: number;
  readonly lingerMs: number;
}

interface Waiting<T, R> {
  readonly item: T;
  readonly bytes: number;
  readonly resolve: (r: R) => void;
  readonly reject: (e: unknown) => void;
}

export class Batcher<T, R> {
  private pending: Array<Waiting<T, R>> = [];
  private bytes = 0;
  private timer: NodeJS.Timeout | undefined;

  /**
   * `send` answers each item of a batch, in order, with its result or its own error; a throw
   * fails the whole batch (the request or the association failed).
   */
  constructor(
    private readonly limits: BatchLimits,
    private readonly send: (items: readonly T[]) => Promise<ReadonlyArray<R | Error>>,
  ) {}

  add(item: T, bytes: number): Promise<R> {
    if (this.pending.length > 0 && this.bytes + bytes > this.limits.maxBytes) this.flush();
    return new Promise<R>((resolve, reject) => {
      this.pending.push({ item, bytes, resolve, reject });
      this.bytes += bytes;
      if (this.pending.length >= this.limits.maxItems || this.bytes >= this.limits.maxBytes) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.limits.lingerMs);
    });
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.pending;
    this.pending = [];
    this.bytes = 0;
    if (batch.length === 0) return;
    this.send(batch.map((w) => w.item)).then(
      (results) =>
        batch.forEach((w, i) => {
          const r = results[i];
          if (r === undefined) w.reject(new Error('the batch answered fewer items than it was sent'));
          else if (r instanceof Error) w.reject(r);
          else w.resolve(r);
        }),
      (err: unknown) => batch.forEach((w) => w.reject(err)),
    );
  }
}
