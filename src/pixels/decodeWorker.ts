/**
 * A worker thread that runs the frame decoders: the WebAssembly codecs (libjpeg-turbo, CharLS,
 * OpenJPEG) and the JavaScript JPEG lossless decoder. Each job is one frame; the answer is the
 * decoded bytes (transferred, not copied) and what the codestream declared. The thread owns its
 * WebAssembly heaps: when it is ended (a time limit, a large decode, a failure) they go with it.
 * Started by DecoderPool (decoderPool.ts); nothing here touches the event loop of the bridge.
 *
 * It also renders the grey views OCR and the text detector read of one decoded frame (grey.ts,
 * views.ts): on a crafted 16384 x 16384 frame they take tens of seconds, which the event loop, the
 * API and the lease heartbeat must not wait for.
 */
import { createRequire } from 'node:module';
import { parentPort } from 'node:worker_threads';
import { greysForOcr, type Look, type Reads } from './grey';
import type { ImageLayout } from './image';
import type { Palette } from './palette';
import { cropSource, detectorViews } from './views';

export interface FrameInfo {
  readonly width: number;
  readonly height: number;
  readonly bitsPerSample: number;
  readonly componentCount: number;
}

export type DecodeJob =
  | {
      readonly id: number;
      readonly kind: 'wasm';
      readonly pkg: string;
      readonly cls: string;
      readonly frame: Uint8Array;
    }
  | {
      readonly id: number;
      readonly kind: 'lossless';
      readonly frame: Uint8Array;
      readonly bytesPerSample: number;
    }
  | ViewJob;

/**
 * Views of one decoded frame (`frame`: its bytes; `layout`: the image's, frames counted as 1):
 * the grey images OCR reads (`ocr`), the detector's views (`detector`), or the grey rendering
 * crops are cut from (`crop`).
 */
export interface ViewJob {
  readonly id: number;
  readonly kind: 'views';
  readonly what: 'ocr' | 'detector' | 'crop';
  readonly frame: Uint8Array;
  readonly layout: ImageLayout;
  readonly mask?: Uint8Array;
  readonly look?: Look;
  readonly reads?: Reads;
  readonly palette?: Palette;
}

/** One rendered view: grey (or RGB for the detector's colour views), and its scale to image pixels. */
export interface RenderedView {
  readonly width: number;
  readonly height: number;
  readonly scale: number;
  readonly channels: 1 | 3;
  readonly data: Uint8Array;
}

export type DecodeAnswer =
  | {
      readonly id: number;
      readonly ok: true;
      readonly data: Uint8Array;
      readonly info?: FrameInfo;
      readonly views?: readonly RenderedView[];
    }
  | { readonly id: number; readonly ok: false; readonly error: string };

function renderViews(job: ViewJob): RenderedView[] {
  const img = { ...job.layout, frames: 1, data: job.frame };
  if (job.what === 'crop') {
    const data = cropSource(img, 0);
    return [{ width: img.columns, height: img.rows, scale: 1, channels: 1, data }];
  }
  if (job.what === 'detector') return detectorViews(img, 0, job.palette);
  return greysForOcr(img, 0, job.mask, job.look, job.reads).map((g) => ({ ...g, channels: 1 as const }));
}

interface WasmDecoder {
  getEncodedBuffer(length: number): Uint8Array;
  getDecodedBuffer(): Uint8Array;
  decode(): void;
  getFrameInfo(): FrameInfo;
  delete(): void;
}
type WasmModule = Record<string, new () => WasmDecoder>;
interface LosslessDecoder {
  decode(buffer: ArrayBuffer, offset: number, length: number, numBytes?: number): Uint8Array | Uint16Array;
}

const load = createRequire(__filename);
const modules = new Map<string, Promise<WasmModule>>();

function wasmModule(pkg: string): Promise<WasmModule> {
  let m = modules.get(pkg);
  if (!m) {
    const factory = load(`${pkg}/decodewasmjs`) as (opts: object) => Promise<WasmModule>;
    // The codecs print progress (OpenJPEG's "[INFO] ..."): nothing of theirs reaches stdout.
    const quiet = (): void => undefined;
    m = factory({ print: quiet, printErr: quiet });
    modules.set(pkg, m);
  }
  return m;
}

/** Little-endian bytes of decoded samples. */
function bytesOf(samples: Uint8Array | Uint16Array, bytesPerSample: number): Uint8Array {
  if (bytesPerSample === 1) return samples instanceof Uint8Array ? samples : Uint8Array.from(samples);
  const out = new Uint8Array(samples.length * 2);
  for (let i = 0; i < samples.length; i++) {
    out[i * 2] = samples[i]! & 0xff;
    out[i * 2 + 1] = (samples[i]! >> 8) & 0xff;
  }
  return out;
}

export async function runJob(job: DecodeJob): Promise<DecodeAnswer> {
  if (job.kind === 'views') {
    try {
      return { id: job.id, ok: true, data: new Uint8Array(0), views: renderViews(job) };
    } catch {
      return { id: job.id, ok: false, error: 'a frame could not be rendered for text detection' };
    }
  }
  if (job.kind === 'lossless') {
    try {
      const { Decoder } = load('jpeg-lossless-decoder-js') as { Decoder: new () => LosslessDecoder };
      const f = job.frame;
      const out = new Decoder().decode(
        f.buffer as ArrayBuffer,
        f.byteOffset,
        f.byteLength,
        job.bytesPerSample,
      );
      return { id: job.id, ok: true, data: bytesOf(out, job.bytesPerSample) };
    } catch {
      return { id: job.id, ok: false, error: 'the JPEG lossless decoder could not decode a frame' };
    }
  }
  const Decoder = (await wasmModule(job.pkg))[job.cls];
  if (!Decoder) return { id: job.id, ok: false, error: `the ${job.cls} codec did not load` };
  const decoder = new Decoder();
  try {
    decoder.getEncodedBuffer(job.frame.length).set(job.frame);
    decoder.decode();
    const i = decoder.getFrameInfo();
    const info = {
      width: i.width,
      height: i.height,
      bitsPerSample: i.bitsPerSample,
      componentCount: i.componentCount,
    };
    // A copy out of the WebAssembly heap, which the next decode reuses.
    return { id: job.id, ok: true, data: decoder.getDecodedBuffer().slice(), info };
  } catch {
    return { id: job.id, ok: false, error: `the ${job.cls} codec could not decode a frame` };
  } finally {
    decoder.delete();
  }
}

if (parentPort) {
  const port = parentPort;
  port.on('message', (job: DecodeJob) => {
    void runJob(job).then((answer) => {
      // The answer's buffers are moved, not copied (each view owns its buffer).
      const moved = answer.ok
        ? [answer.data, ...(answer.views ?? []).map((v) => v.data)].map((d) => d.buffer as ArrayBuffer)
        : [];
      port.postMessage(answer, [...new Set(moved)]);
    });
  });
}
