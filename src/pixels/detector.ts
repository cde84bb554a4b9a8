/**
 * The text detector the masking and the gate use: images go to a pool of worker threads
 * (detectWorker.ts), each with its own onnxruntime session on one thread, so that detection uses
 * every core and never holds the event loop (an inference holds the thread it runs on). An image
 * over MAX_DETECTOR_SIDE is read in overlapping tiles, the tiles at once on the pool. A time limit
 * per image ends a worker that overruns; its image fails with the reason (DetectorError).
 */
import { WorkerPool, type PoolSlot, type Queued } from '../util/workerPool';
import {
  crop,
  DetectorError,
  MAX_DETECTOR_SIDE,
  TILE,
  TILE_OVERLAP,
  type DetectorImage,
  type TextBox,
} from './detect';
import type { DetectAnswer, DetectJob } from './detectWorker';

export interface DetectorOptions {
  /** Worker threads, each detecting in one image at a time. */
  readonly threads: number;
  /** The longest one image (or tile) may take. */
  readonly timeoutMs?: number;
}

/** Far beyond what a 2048 x 2048 tile takes (about 1 s here), short of a stuck worker. */
const DETECT_TIMEOUT_MS = 120_000;

type Pending = Queued<DetectAnswer> & { readonly img: DetectorImage };

class DetectorPool extends WorkerPool<Pending, DetectAnswer> {
  constructor(
    workers: number,
    private readonly timeoutMs: number,
  ) {
    super(
      `${__dirname}/detectWorker${__filename.endsWith('.ts') ? '.ts' : '.js'}`,
      workers,
      'the text detector is closed',
    );
  }

  run(img: DetectorImage): Promise<TextBox[]> {
    return new Promise((resolve, reject) => {
      this.enqueue({
        id: this.nextId++,
        img,
        settle: (a) => {
          if (typeof a === 'string') reject(new DetectorError(a));
          else if (a.ok) resolve(a.boxes);
          else reject(new DetectorError(a.error));
        },
      });
    });
  }

  protected send(slot: PoolSlot<Pending>, p: Pending): void {
    // The image's own copy moves to the worker: the caller keeps its pixels.
    const data = new Uint8Array(p.img.data);
    const job: DetectJob = { id: p.id, img: { ...p.img, data } };
    slot.worker.postMessage(job, [data.buffer]);
  }

  protected limit(): { ms: number; reason: string } {
    return { ms: this.timeoutMs, reason: `text detection took longer than ${this.timeoutMs} ms` };
  }

  protected stopped(): string {
    return 'the text detector stopped on an image';
  }
}

export class TextDetector {
  private readonly pool: DetectorPool;

  constructor(opts: DetectorOptions = { threads: 1 }) {
    this.pool = new DetectorPool(Math.max(1, opts.threads), opts.timeoutMs ?? DETECT_TIMEOUT_MS);
  }

  /** The text lines of one image, boxes in its pixels; an image over MAX_DETECTOR_SIDE is read in tiles. */
  async detect(img: DetectorImage): Promise<TextBox[]> {
    if (img.width <= MAX_DETECTOR_SIDE && img.height <= MAX_DETECTOR_SIDE) return this.pool.run(img);
    const tiles: Array<{ x0: number; y0: number; tile: DetectorImage }> = [];
    const step = TILE - TILE_OVERLAP;
    for (let y0 = 0; y0 < img.height; y0 += step) {
      for (let x0 = 0; x0 < img.width; x0 += step) {
        tiles.push({
          x0,
          y0,
          tile: crop(img, x0, y0, Math.min(TILE, img.width - x0), Math.min(TILE, img.height - y0)),
        });
        if (x0 + TILE >= img.width) break;
      }
      if (y0 + TILE >= img.height) break;
    }
    const found = await Promise.all(tiles.map((t) => this.pool.run(t.tile)));
    return found.flatMap((boxes, i) =>
      boxes.map((b) => ({ ...b, x: b.x + tiles[i]!.x0, y: b.y + tiles[i]!.y0 })),
    );
  }

  /** Ends the workers (and their sessions); a later detect() starts new ones. */
  close(): Promise<void> {
    return this.pool.close();
  }
}
