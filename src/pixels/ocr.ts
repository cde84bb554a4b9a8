/**
 * OCR of burned-in text with tesseract.js (Tesseract 5 compiled to WebAssembly) and the English
 * LSTM model from the npm package @tesseract.js-data/eng: nothing is fetched at run time, and
 * nothing is cached to disk. Each Tesseract worker is a Node worker thread, so recognition never
 * blocks the event loop; the pool has at most `workers` of them, started on first use and ended by
 * close(). A recognition that takes longer than `timeoutMs` ends the pool (it is started again on
 * the next call) and is an error, so a hostile image cannot hold a worker forever.
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
interface Scheduler {
  addWorker(w: unknown): void;
  addJob(
    action: 'recognize',
    image: Buffer,
    options: object,
    output: object,
  ): Promise<{ data: TesseractPage }>;
  terminate(): Promise<void>;
}
interface TesseractWorker {
  setParameters(params: Record<string, string>): Promise<unknown>;
}
interface TesseractModule {
  createScheduler(): Scheduler;
  createWorker(lang: string, oem: number, options: object): Promise<TesseractWorker>;
}

export class OcrError extends Error {
  override readonly name = 'OcrError';
}

/** The folder of the bundled English model (LSTM, integer weights: the smallest and fastest). */
export function modelPath(): string {
  return join(dirname(require.resolve('@tesseract.js-data/eng/package.json')), '4.0.0_best_int');
}

export class OcrPool {
  private scheduler: Promise<Scheduler> | undefined;
  constructor(private readonly opts: OcrOptions) {}

  private start(): Promise<Scheduler> {
    if (!this.scheduler) {
      const started = (async () => {
        const tesseract = (await import('tesseract.js')) as unknown as TesseractModule;
        const scheduler = tesseract.createScheduler();
        const langPath = modelPath();
        const workers = await Promise.all(
          Array.from({ length: Math.max(1, this.opts.workers) }, () =>
            // OEM 1: LSTM only, the engine the bundled model holds.
            tesseract.createWorker('eng', 1, {
              langPath,
              gzip: true,
              cacheMethod: 'none',
              // A failed recognition rejects its own job; without a handler tesseract.js also
              // rethrows it inside its message listener, where nothing can catch it and the
              // process ends (issue 22: one image stopped the daemon on every restart).
              errorHandler: () => undefined,
            }),
          ),
        );
        for (const w of workers) {
          // PSM 11, sparse text: words in any order, anywhere on the image, as annotations are.
          await w.setParameters({
            tessedit_pageseg_mode: '11',
            user_defined_dpi: '300',
            thresholding_method: '1',
            debug_file: '/dev/null',
          });
          scheduler.addWorker(w);
        }
        return scheduler;
      })();
      this.scheduler = started;
      // A start that failed is not kept: the next call tries again.
      started.catch(() => {
        if (this.scheduler === started) this.scheduler = undefined;
      });
    }
    return this.scheduler;
  }

  /** The words of one grey image, boxes in grey-image pixels. */
  async words(img: GreyImage): Promise<Word[]> {
    const scheduler = await this.start();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new OcrError(`OCR took longer than ${this.opts.timeoutMs} ms`)),
        this.opts.timeoutMs,
      );
    });
    try {
      const result = await Promise.race([
        scheduler.addJob('recognize', pgm(img), {}, { blocks: true, text: false }),
        timeout,
      ]);
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
    } catch (err) {
      if (err instanceof OcrError) await this.close();
      throw err instanceof OcrError ? err : new OcrError('OCR failed on an image');
    } finally {
      clearTimeout(timer);
    }
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
    for (const grey of greysForOcr(img, frame, mask, look, reads)) {
      scale = grey.scale;
      // Each image's lines are numbered after the previous image's.
      const offset = found.length + 1;
      for (const w of await this.words(grey)) found.push({ ...w, line: w.line + offset });
    }
    return found.map((w) => ({ ...w, box: scaled(w.box, scale), lineBox: scaled(w.lineBox, scale) }));
  }

  async close(): Promise<void> {
    const s = this.scheduler;
    this.scheduler = undefined;
    if (s) await s.then((x) => x.terminate()).catch(() => undefined);
  }
}
