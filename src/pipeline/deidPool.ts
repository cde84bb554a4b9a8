/**
 * The header stages of CPU-heavy instances on every core: a pool of worker threads
 * (deidWorker.ts), one instance per job, started on first use, sized like the OCR pool (the
 * pipeline's concurrency, at most the cores). A job that takes longer than its limit ends its
 * worker, which is replaced, and fails with a reason; so does one whose worker stops. The
 * de-identification context goes to each worker once (a context is the same object for every
 * instance of a target).
 */
import type { DeidContext } from '../deid/engine';
import { WorkerPool, type PoolSlot, type Queued } from '../util/workerPool';
import type { DeidAnswer, DeidJob } from './deidWorker';

export interface DeidPoolOptions {
  readonly workers: number;
  /** The longest one instance's header stages may take. */
  readonly timeoutMs: number;
}

export type DeidResult = Extract<DeidAnswer, { ok: true }>;
export type DeidFailure = { readonly error: string; readonly parse: boolean };

type Pending = Queued<DeidAnswer> & {
  readonly head: Uint8Array;
  readonly ctx: Pick<DeidContext, 'profile' | 'keys'>;
  readonly maxInflatedBytes: number;
};

export class DeidPool extends WorkerPool<Pending, DeidAnswer> {
  private readonly contextIds = new WeakMap<object, number>();
  private nextContext = 1;

  constructor(private readonly opts: DeidPoolOptions) {
    super(
      `${__dirname}/deidWorker${__filename.endsWith('.ts') ? '.ts' : '.js'}`,
      opts.workers,
      'the de-identification workers are closed',
    );
  }

  /**
   * Runs parse, de-identify, write and gate on `head` in a worker. The bytes are copied once into a
   * buffer the worker then owns (transferred), so the caller's file is never detached.
   */
  run(
    head: Uint8Array,
    ctx: Pick<DeidContext, 'profile' | 'keys'>,
    maxInflatedBytes: number,
  ): Promise<DeidResult | DeidFailure> {
    return new Promise((resolve) => {
      this.enqueue({
        id: this.nextId++,
        head,
        ctx,
        maxInflatedBytes,
        settle: (a) =>
          resolve(
            typeof a === 'string'
              ? { error: a, parse: false }
              : a.ok
                ? a
                : { error: a.error, parse: a.parse },
          ),
      });
    });
  }

  protected send(slot: PoolSlot<Pending>, p: Pending): void {
    let ctxId = this.contextIds.get(p.ctx);
    if (ctxId === undefined) this.contextIds.set(p.ctx, (ctxId = this.nextContext++));
    const head = new Uint8Array(p.head);
    const job: DeidJob = {
      id: p.id,
      head,
      ctxId,
      // The context goes to each worker once; it keeps it by ID.
      ctx: slot.memory.has(ctxId) ? undefined : { profile: p.ctx.profile, keys: p.ctx.keys },
      maxInflatedBytes: p.maxInflatedBytes,
    };
    slot.memory.add(ctxId);
    slot.worker.postMessage(job, [head.buffer]);
  }

  protected limit(): { ms: number; reason: string } {
    return {
      ms: this.opts.timeoutMs,
      reason: `de-identifying the header took longer than ${this.opts.timeoutMs} ms`,
    };
  }

  protected stopped(): string {
    return 'a de-identification worker stopped';
  }
}
