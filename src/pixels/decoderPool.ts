/**
 * The frame decoders, off the event loop: a fixed pool of worker threads (decodeWorker.ts), one
 * frame per job, a time limit per frame that starts when a worker takes the frame (not when it is
 * queued). A worker that overruns is ended mid-decode and replaced, and its frame fails with a
 * reason; so is one that stops. A worker is also replaced after a failed decode (a codec can be
 * left in a bad state: CharLS refused every valid frame after a few hundred failures) and after a
 * large one (a WebAssembly heap keeps its peak for as long as it lives). The event loop, the API
 * and the lease heartbeat never wait on a decoder.
 */
import { WorkerPool, type PoolSlot, type Queued } from '../util/workerPool';
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

type Pending = Queued<DecodeAnswer> & { readonly job: DecodeJob };

const DEFAULT_RECYCLE = 64 << 20;

export class DecoderPool extends WorkerPool<Pending, DecodeAnswer> {
  constructor(private readonly opts: DecoderPoolOptions) {
    super(
      `${__dirname}/decodeWorker${__filename.endsWith('.ts') ? '.ts' : '.js'}`,
      opts.workers,
      'the decoders are closed',
    );
  }

  /** Decodes (or renders views of) one frame in a worker: its bytes and what it declared, or why not. */
  run(job: FrameJob): Promise<Answer | string> {
    return new Promise((resolve) => {
      const id = this.nextId++;
      this.enqueue({
        id,
        job: { ...job, id } as DecodeJob,
        settle: (a) => resolve(typeof a === 'string' ? a : a.ok ? a : a.error),
      });
    });
  }

  protected send(slot: PoolSlot<Pending>, p: Pending): void {
    // A copy of the frame's own bytes, moved to the worker (never the file it is a view of:
    // a Buffer's slice() is a view, so the copy is made by the constructor).
    const frame = new Uint8Array(p.job.frame);
    slot.worker.postMessage({ ...p.job, frame }, [frame.buffer]);
  }

  protected limit(p: Pending): { ms: number; reason: string } {
    const doing = p.job.kind === 'views' ? 'rendering a frame for text detection' : 'decoding a frame';
    return {
      ms: this.opts.frameTimeoutMs,
      reason: `${doing} took longer than ${this.opts.frameTimeoutMs} ms`,
    };
  }

  protected stopped(): string {
    return 'the decoder stopped on a frame';
  }

  /** After a failed decode (a codec can be left in a bad state) or a large one (a heap keeps its peak). */
  protected override recycleAfter(a: DecodeAnswer): boolean {
    return !a.ok || a.data.length > (this.opts.recycleAboveBytes ?? DEFAULT_RECYCLE);
  }
}
