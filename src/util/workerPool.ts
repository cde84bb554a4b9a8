/**
 * A fixed pool of worker threads, one job per worker at a time, started on first use: the frame
 * decoders (pixels/decoderPool.ts) and the header stages (pipeline/deidPool.ts). Each job has a
 * time limit that starts when a worker takes it (not when it is queued); a worker that overruns is
 * ended mid-job and replaced, and its job settles with the reason; so does one that stops. An idle
 * worker never keeps the process alive. Subclasses say how a job is sent and how it settles.
 */
import path from 'node:path';
import { Worker } from 'node:worker_threads';

/** A queued job: its ID (answers carry it back) and how it settles. */
export interface Queued<A> {
  readonly id: number;
  readonly settle: (answer: A | string) => void;
}

export interface PoolSlot<J> {
  readonly worker: Worker;
  /** What the subclass keeps per worker (the contexts it was sent, for one). */
  readonly memory: Set<number>;
  current?: J & { timer: NodeJS.Timeout };
}

/** The worker's file next to `dir`: compiled JavaScript, or TypeScript under ts-node/ts-jest (tests, scripts). */
function spawn(dir: string, name: string, typescript: boolean): Worker {
  const file = path.join(dir, `${name}${typescript ? '.ts' : '.js'}`);
  const worker = new Worker(
    file,
    typescript ? { execArgv: ['--require', 'ts-node/register/transpile-only'] } : {},
  );
  worker.unref();
  return worker;
}

export abstract class WorkerPool<J extends Queued<A>, A extends { readonly id: number }> {
  private readonly slots = new Set<PoolSlot<J>>();
  private readonly queue: J[] = [];
  private closed = false;
  protected nextId = 1;
  /** Workers ended for overrunning, stopping or (as the subclass decides) afterwards: for tests and metrics. */
  replaced = 0;

  /**
   * @param file the worker module (its `__filename`-style path, with or without extension)
   * @param workers threads at most
   * @param closing what a job queued or running when the pool closes settles with
   */
  constructor(
    private readonly file: string,
    private readonly workers: number,
    private readonly closing: string,
  ) {}

  /** Posts the job to the worker (with what to transfer). */
  protected abstract send(slot: PoolSlot<J>, job: J): void;
  /** The job's time limit and the reason it fails with when it runs over. */
  protected abstract limit(job: J): { readonly ms: number; readonly reason: string };
  /** The reason a job fails with when its worker stops under it. */
  protected abstract stopped(job: J): string;
  /** Whether a worker is replaced after answering (a codec left in a bad state, a heap grown large). */
  protected recycleAfter(_answer: A): boolean {
    return false;
  }

  protected enqueue(job: J): void {
    if (this.closed) {
      job.settle(this.closing);
      return;
    }
    this.queue.push(job);
    this.dispatch();
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      let slot = [...this.slots].find((s) => !s.current);
      if (!slot) {
        if (this.slots.size >= Math.max(1, this.workers)) return;
        slot = this.start();
      }
      const next = this.queue.shift()!;
      const { ms, reason } = this.limit(next);
      const timer = setTimeout(() => this.retire(slot!, reason), ms);
      slot.current = { ...next, timer };
      slot.worker.ref();
      try {
        this.send(slot, next);
      } catch {
        // A job that cannot be sent (it should not happen: jobs are plain data) fails alone.
        this.retire(slot, 'a job could not be handed to a worker thread');
      }
    }
  }

  private start(): PoolSlot<J> {
    const ts = path.extname(this.file) === '.ts';
    const slot: PoolSlot<J> = {
      worker: spawn(path.dirname(this.file), path.basename(this.file, path.extname(this.file)), ts),
      memory: new Set(),
    };
    slot.worker.on('message', (a: A) => {
      const cur = slot.current;
      if (!cur || cur.id !== a.id) return;
      clearTimeout(cur.timer);
      slot.current = undefined;
      slot.worker.unref();
      cur.settle(a);
      if (this.recycleAfter(a)) this.retire(slot);
      else this.dispatch();
    });
    const stop = () => this.retire(slot, slot.current ? this.stopped(slot.current) : undefined);
    slot.worker.on('error', stop);
    slot.worker.on('exit', stop);
    this.slots.add(slot);
    return slot;
  }

  /** Ends a worker (its job, if any, settles with `reason`) and lets the queue go on with a new one. */
  private retire(slot: PoolSlot<J>, reason?: string): void {
    if (!this.slots.delete(slot)) return;
    this.replaced++;
    const cur = slot.current;
    slot.current = undefined;
    if (cur) {
      clearTimeout(cur.timer);
      cur.settle(reason ?? this.stopped(cur));
    }
    void slot.worker.terminate().catch(() => undefined);
    if (!this.closed) this.dispatch();
  }

  /** Ends every worker; a later job starts new ones. */
  async close(): Promise<void> {
    this.closed = true;
    for (const p of this.queue.splice(0)) p.settle(this.closing);
    await Promise.all(
      [...this.slots].map(async (s) => {
        this.slots.delete(s);
        if (s.current) {
          clearTimeout(s.current.timer);
          s.current.settle(this.closing);
        }
        await s.worker.terminate().catch(() => undefined);
      }),
    );
    this.closed = false;
  }
}
