/**
 * OCR of burned-in text with tesseract.js (Tesseract 5 compiled to WebAssembly) and the English
 * LSTM model from the npm package @tesseract.js-data/eng: nothing is fetched at run time, and
 * nothing is cached to disk. Each Tesseract worker is a Node worker thread, so recognition never
 * blocks the event loop; the pool has at most `workers` of them, started on first use and ended by
 * close(). Each recognition's time limit starts when a worker takes it (not when it is queued). One
 * that overruns ends its own worker only (replaced on the next job; the others' jobs go on), is
 * tried once more on a fresh worker, and then fails alone, so a hostile image cannot hold a
 * worker forever nor take ordinary instances down with it.
 */
import { dirname, join } from 'node:path';
import { greysForOcr, pgm, type GreyImage, type Look, type Reads } from './grey';
import type { DecodedImage } from './image';

export interface Box {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/** A word Tesseract read, its box in image pixels. The text stays in memory and is never logged. */
export interface Word {
  readonly text: string;
  readonly confidence: number;
  readonly box: Box;
  /** Which line of the recognition the word is on (words of one line share it). */
  readonly line: number;
  /**
   * The box of the word's whole line, from the page layout: LSTM word boxes can stop short of a
   * word's last letters, the line's box does not.
   */
  readonly lineBox: Box;
}

/** Renders the grey images OCR reads of one frame (grey.ts greysForOcr's arguments). */
export type RenderGreys = (
  img: DecodedImage,
  frame: number,
  mask?: Uint8Array,
  look?: Look,
  reads?: Reads,
) => Promise<readonly GreyImage[]>;

export interface OcrOptions {
  readonly workers: number;
  readonly timeoutMs: number;
}

interface TesseractWord {
  text: string;
  confidence: number;
  bbox: { x0: number; y0: number; x1: number; y1: number };
}
interface TesseractBox {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}
interface TesseractPage {
  blocks: { paragraphs: { lines: { bbox: TesseractBox; words: TesseractWord[] }[] }[] }[] | null;
}

function boxOf(b: TesseractBox, scale = 1): Box {
  const x = Math.floor(b.x0 / scale);
  const y = Math.floor(b.y0 / scale);
  return { x, y, width: Math.ceil(b.x1 / scale) - x, height: Math.ceil(b.y1 / scale) - y };
}

function scaled(b: Box, scale: number): Box {
  return boxOf({ x0: b.x, y0: b.y, x1: b.x + b.width, y1: b.y + b.height }, scale);
}
interface RecognizeResult {
  data: TesseractPage;
}
interface TesseractWorker {
  setParameters(params: Record<string, string>): Promise<unknown>;
  recognize(image: Buffer, options: object, output: object): Promise<RecognizeResult>;
  terminate(): Promise<unknown>;
}
interface TesseractModule {
  createWorker(lang: string, oem: number, options: object): Promise<TesseractWorker>;
}

interface OcrJob {
  readonly image: Buffer;
  readonly timeoutMs: number;
  readonly resolve: (r: RecognizeResult) => void;
  readonly reject: (e: Error) => void;
}

interface OcrSlot {
  readonly worker: Promise<TesseractWorker>;
  busy: boolean;
}

export class OcrError extends Error {
  override readonly name = 'OcrError';
}

/** The folder of the bundled English model (LSTM, integer weights: the smallest and fastest). */
export function modelPath(): string {
  return join(dirname(require.resolve('@tesseract.js-data/eng/package.json')), '4.0.0_best_int');
}

export class OcrPool {
  private readonly slots = new Set<OcrSlot>();
  private readonly queue: OcrJob[] = [];
  /** Workers ended for overrunning or failing, for tests and metrics. */
  replaced = 0;
  /**
   * `render`: how a frame's grey images are made; by default here, on the caller's thread (tests).
   * The bridge renders them in its decoder workers (pipeline/context.ts), off the event loop.
   */
  constructor(
    private readonly opts: OcrOptions,
    private readonly render: RenderGreys = async (...a) => greysForOcr(...a),
  ) {}

  private async newWorker(): Promise<TesseractWorker> {
    const tesseract = (await import('tesseract.js')) as unknown as TesseractModule;
    // OEM 1: LSTM only, the engine the bundled model holds.
    const w = await tesseract.createWorker('eng', 1, {
      langPath: modelPath(),
      gzip: true,
      cacheMethod: 'none',
      // A failed recognition rejects its own job; without a handler tesseract.js also rethrows
      // it inside its message listener, where nothing can catch it and the process ends (issue
      // 22: one image stopped the daemon on every restart).
      errorHandler: () => undefined,
    });
    // PSM 11, sparse text: words in any order, anywhere on the image, as annotations are.
    await w.setParameters({
      tessedit_pageseg_mode: '11',
      user_defined_dpi: '300',
      thresholding_method: '1',
      debug_file: '/dev/null',
    });
    return w;
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      let slot = [...this.slots].find((s) => !s.busy);
      if (!slot) {
        if (this.slots.size >= Math.max(1, this.opts.workers)) return;
        slot = { worker: this.newWorker(), busy: false };
        // A worker that could not start is not kept: the next job tries again.
        const made = slot;
        made.worker.catch(() => this.slots.delete(made));
        this.slots.add(slot);
      }
      const job = this.queue.shift()!;
      slot.busy = true;
      void this.runOn(slot, job);
    }
  }

  private async runOn(slot: OcrSlot, job: OcrJob): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    let overran = false;
    try {
      const worker = await slot.worker;
      // The limit starts now, when a worker takes the job.
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          overran = true;
          reject(new OcrError(`OCR took longer than ${job.timeoutMs} ms`));
        }, job.timeoutMs);
      });
      job.resolve(
        await Promise.race([worker.recognize(job.image, {}, { blocks: true, text: false }), timeout]),
      );
    } catch (err) {
      overran = true;
      job.reject(err instanceof OcrError ? err : new OcrError('OCR failed on an image'));
    } finally {
      clearTimeout(timer);
      if (overran) this.retire(slot);
      else slot.busy = false;
      this.dispatch();
    }
  }

  /** Ends one worker (overran or failed); the others and their jobs go on. */
  private retire(slot: OcrSlot): void {
    if (!this.slots.delete(slot)) return;
    this.replaced++;
    void slot.worker.then((w) => w.terminate()).catch(() => undefined);
  }

  private recognize(image: Buffer, timeoutMs: number): Promise<RecognizeResult> {
    return new Promise((resolve, reject) => {
      this.queue.push({ image, timeoutMs, resolve, reject });
      this.dispatch();
    });
  }

  /**
   * The words of one grey image, boxes in grey-image pixels. An overrun is tried once more on a
   * fresh worker (a worker can stall for reasons of its own), then fails. `timeoutMs`: this call's
   * own limit (tests), else the pool's.
   */
  async words(img: GreyImage, timeoutMs = this.opts.timeoutMs): Promise<Word[]> {
    const image = pgm(img);
    let result: RecognizeResult;
    try {
      result = await this.recognize(image, timeoutMs);
    } catch (err) {
      if (!(err instanceof OcrError) || !/longer than/.test(err.message)) throw err;
      result = await this.recognize(image, timeoutMs);
    }
    const out: Word[] = [];
    let lineNo = 0;
    for (const block of result.data.blocks ?? [])
      for (const p of block.paragraphs)
        for (const line of p.lines) {
          lineNo++;
          for (const w of line.words)
            out.push({
              line: lineNo,
              text: w.text,
              confidence: w.confidence,
              box: boxOf(w.bbox),
              lineBox: boxOf(line.bbox),
            });
        }
    return out;
  }

  /**
   * The words of one frame, read in both polarities (light on dark, and dark on light), boxes in
   * image pixels. `mask` marks pixels already masked (read as black).
   */
  async readFrame(
    img: DecodedImage,
    frame: number,
    mask?: Uint8Array,
    look: Look = 'first',
    reads: Reads = 'all',
  ): Promise<Word[]> {
    const found: Word[] = [];
    let scale = 1;
    for (const grey of await this.render(img, frame, mask, look, reads)) {
      scale = grey.scale;
      // Each image's lines are numbered after the previous image's.
      const offset = found.length + 1;
      for (const w of await this.words(grey)) found.push({ ...w, line: w.line + offset });
    }
    return found.map((w) => ({ ...w, box: scaled(w.box, scale), lineBox: scaled(w.lineBox, scale) }));
  }

  /** Ends every worker; queued jobs fail; a later call starts new workers. */
  async close(): Promise<void> {
    for (const job of this.queue.splice(0)) job.reject(new OcrError('OCR was stopped'));
    const slots = [...this.slots];
    this.slots.clear();
    await Promise.all(slots.map((s) => s.worker.then((w) => w.terminate()).catch(() => undefined)));
  }
}
