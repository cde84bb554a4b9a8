/**
 * The frame decoders, off the event loop: a fixed pool of worker threads (decodeWorker.ts), one
 * frame per job, a time limit per frame that starts when a worker takes the frame (not when it is
 * queued). A worker that overruns is ended mid-decode and replaced, and its frame fails with a
 * reason; so is one that stops. A worker is also replaced after a failed decode (a codec can be
 * left in a bad state: CharLS refused every valid frame after a few hundred failures) and after a
 * large one (a WebAssembly heap keeps its peak for as long as it lives). The event loop, the API
 * and the lease heartbeat never wait on a decoder.
 */
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { DecodeAnswer, DecodeJob } from './decodeWorker';

export interface DecoderPoolOptions {
  /** Worker threads (the pipeline's concurrency, at most the cores). */
  readonly workers: number;
  /** The longest one frame may take. */
  readonly frameTimeoutMs: number;
  /** A worker that decoded more bytes than this in one frame is replaced afterwards. */
  readonly recycleAboveBytes?: number;
}

/** What the job is, without its ID (the pool numbers them). */
export type FrameJob = DecodeJob extends infer J ? (J extends DecodeJob ? Omit<J, 'id'> : never) : never;

type Answer = Extract<DecodeAnswer, { ok: true }>;

interface Pending {
  readonly job: DecodeJob;
  readonly resolve: (a: Answer | string) => void;
}

interface Slot {
  readonly worker: Worker;
  current?: Pending & { timer: NodeJS.Timeout };
}

const DEFAULT_RECYCLE = 64 << 20;

/** The worker's file: compiled JavaScript, or TypeScript under ts-node/ts-jest (tests, scripts). */
function spawn(): Worker {
  const ts = path.extname(__filename) === '.ts';
  const file = path.join(__dirname, `decodeWorker${ts ? '.ts' : '.js'}`);
  const worker = new Worker(file, ts ? { execArgv: ['--require', 'ts-node/register/transpile-only'] } : {});
  // An idle decoder never keeps the process alive.
  worker.unref();
  return worker;
}

export class DecoderPool {
  private readonly slots = new Set<Slot>();
  private readonly queue: Pending[] = [];
  private nextId = 1;
  private closed = false;
  /** Workers ended for overrunning, stopping, failing or growing: for tests and metrics. */
  replaced = 0;

  constructor(private readonly opts: DecoderPoolOptions) {}

  /** Decodes (or renders views of) one frame in a worker: its bytes and what it declared, or why not. */
  run(job: FrameJob): Promise<Answer | string> {
    if (this.closed) return Promise.resolve('the decoders are closing');
    return new Promise((resolve) => {
      this.queue.push({ job: { ...job, id: this.nextId++ } as DecodeJob, resolve });
      this.dispatch();
    });
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      let slot = [...this.slots].find((s) => !s.current);
      if (!slot) {
        if (this.slots.size >= Math.max(1, this.opts.workers)) return;
        slot = this.start();
      }
      const next = this.queue.shift()!;
      const doing = next.job.kind === 'views' ? 'rendering a frame for text detection' : 'decoding a frame';
      const timer = setTimeout(
        () => this.retire(slot!, `${doing} took longer than ${this.opts.frameTimeoutMs} ms`),
        this.opts.frameTimeoutMs,
      );
      slot.current = { ...next, timer };
      slot.worker.ref();
      // A copy of the frame's own bytes, moved to the worker (never the file it is a view of:
      // a Buffer's slice() is a view, so the copy is made by the constructor).
      const frame = new Uint8Array(next.job.frame);
      try {
        slot.worker.postMessage({ ...next.job, frame }, [frame.buffer]);
      } catch {
        // A job that cannot be sent (it should not happen: jobs are plain data) fails alone.
        this.retire(slot, 'a frame could not be handed to a decoder');
      }
    }
  }

  private start(): Slot {
    const slot: Slot = { worker: spawn() };
    slot.worker.on('message', (a: DecodeAnswer) => {
      const cur = slot.current;
      if (!cur || cur.job.id !== a.id) return;
      clearTimeout(cur.timer);
      slot.current = undefined;
      slot.worker.unref();
      cur.resolve(a.ok ? a : a.error);
      if (!a.ok || a.data.length > (this.opts.recycleAboveBytes ?? DEFAULT_RECYCLE)) this.retire(slot);
      else this.dispatch();
    });
    slot.worker.on('error', () => this.retire(slot, 'the decoder stopped on a frame'));
    slot.worker.on('exit', () => this.retire(slot, 'the decoder stopped on a frame'));
    this.slots.add(slot);
    return slot;
  }

  /** Ends a worker (its frame, if any, fails with `reason`) and lets the queue go on with a new one. */
  private retire(slot: Slot, reason?: string): void {
    if (!this.slots.delete(slot)) return;
    this.replaced++;
    const cur = slot.current;
    slot.current = undefined;
    if (cur) {
      clearTimeout(cur.timer);
      cur.resolve(reason ?? 'the decoder stopped on a frame');
    }
    void slot.worker.terminate().catch(() => undefined);
    if (!this.closed) this.dispatch();
  }

  /** Ends every worker; a later run() starts new ones. */
  async close(): Promise<void> {
    this.closed = true;
    for (const p of this.queue.splice(0)) p.resolve('the decoders are closed');
    await Promise.all(
      [...this.slots].map(async (s) => {
        this.slots.delete(s);
        if (s.current) {
          clearTimeout(s.current.timer);
          s.current.resolve('the decoders are closed');
        }
        await s.worker.terminate().catch(() => undefined);
      }),
    );
    this.closed = false;
  }
}
