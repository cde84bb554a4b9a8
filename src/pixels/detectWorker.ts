/**
 * A worker thread that runs the text detector (PP-OCRv4's DB network in onnxruntime) on one image
 * at a time: the network's input made here, the inference, and the text lines read from its
 * probability map. onnxruntime's run holds the thread it is called on for the whole inference, so
 * it runs here, never on the bridge's event loop; each worker has its own session on one thread,
 * and several workers detect in several images at once. Started by TextDetector (detector.ts).
 */
import { parentPort } from 'node:worker_threads';
import {
  boxesOf,
  DetectorError,
  detectorInput,
  detectorModelPath,
  type DetectorImage,
  type Ort,
  type OrtSession,
  type OrtTensor,
  type TextBox,
} from './detect';

export interface DetectJob {
  readonly id: number;
  readonly img: DetectorImage;
}

export type DetectAnswer =
  | { readonly id: number; readonly ok: true; readonly boxes: TextBox[] }
  | { readonly id: number; readonly ok: false; readonly error: string };

let session: Promise<{ ort: Ort; session: OrtSession }> | undefined;

function start(): Promise<{ ort: Ort; session: OrtSession }> {
  session ??= (async () => {
    const ort = (await import('onnxruntime-node')) as unknown as Ort;
    return {
      ort,
      session: await ort.InferenceSession.create(detectorModelPath(), {
        intraOpNumThreads: 1,
        interOpNumThreads: 1,
        graphOptimizationLevel: 'all',
        executionProviders: ['cpu'],
      }),
    };
  })();
  return session;
}

async function detect(img: DetectorImage): Promise<TextBox[]> {
  const { ort, session: s } = await start();
  const input = detectorInput(img);
  let result: Record<string, OrtTensor>;
  try {
    result = await s.run({
      [s.inputNames[0] ?? 'x']: new ort.Tensor('float32', input.data, [1, 3, input.height, input.width]),
    });
  } catch {
    throw new DetectorError('the text detector failed on an image');
  }
  const map = Object.values(result)[0];
  if (!map || map.data.length !== input.width * input.height)
    throw new DetectorError('the text detector returned a map of the wrong size');
  return boxesOf(map.data, input.width, input.height, { ...img, margin: input.margin });
}

parentPort?.on('message', (job: DetectJob) => {
  detect(job.img).then(
    (boxes) => parentPort!.postMessage({ id: job.id, ok: true, boxes } satisfies DetectAnswer),
    (err: unknown) =>
      parentPort!.postMessage({
        id: job.id,
        ok: false,
        error: err instanceof DetectorError ? err.message : 'the text detector failed on an image',
      } satisfies DetectAnswer),
  );
});
