import { DeidPool } from './deidPool';
import { createHash } from 'node:crypto';
import type { ExportTag, RouteConfig } from '../config';
import type { DeidContext } from '../deid/engine';
import type { Logger } from '../log';
import type { Destination } from '../destinations';
import type { OrthancClient } from '../orthanc/client';
import type { Db } from '../store/db';
import type { ByteBudget } from '../util/budget';
import { BufferPool } from '../util/bufferPool';

/** One research destination a study goes to, with the profile its routing rule chose. */
export interface Target {
  readonly destination: string;
  readonly route: string;
  /** Where the study's instances go (an Orthanc peer, a DICOMweb server...), behind one seam. */
  readonly research: Destination;
  readonly deid: DeidContext;
  readonly folderSink?: { readonly dir: string; readonly pattern: string; readonly fileMode: number };
}

import { availableParallelism } from 'node:os';
import { Codecs, FRAME_TIMEOUT_MS } from '../pixels/codecs';
import type { PixelEngines } from '../pixels/clean';
import { TextDetector } from '../pixels/detector';
import { OcrError, OcrPool, type OcrOptions } from '../pixels/ocr';

/** Live progress of one running study on one destination, for the admin page. */
export interface StudyProgress {
  readonly studyId: string;
  readonly destination: string;
  readonly total: number;
  done: number;
}

/**
 * State that lives as long as the process, owned by the runtime (app.ts) and handed to the stages,
 * never held by a module: it outlives config reloads.
 */
export interface ProcessState {
  /** Running studies by job ID. */
  readonly progress: Map<number, StudyProgress>;
  /** "keyId:pseudonym" of identities sealed (or found sealed) by this process. */
  readonly sealed: Set<string>;
  /** Key IDs by key object: a fingerprint is a hash, computed once per key. */
  readonly keyIds: WeakMap<object, string>;
  /** The pixel decoders and the OCR worker threads (started on first use; closed with the app). */
  readonly pixels: PixelEngines;
  /** Worker threads for the header stages of CPU-heavy instances (started on first use; closed with the app). */
  readonly deid?: DeidPool;
  /** Pulled files' buffers, reused between instances (util/bufferPool.ts). */
  readonly buffers?: BufferPool;
}

/** The most free transfer buffers a process keeps for reuse; a larger file gets its own buffer. */
export const BUFFER_POOL_BYTES = 64 * 1024 * 1024;

/** OCR worker threads: at most the cores there are, and at most the instances in flight. */
export function ocrWorkers(concurrency: number): number {
  return Math.max(1, Math.min(concurrency, availableParallelism()));
}

/** Process state; `ocr` bounds the OCR pool (workers: ocrWorkers(pipeline concurrency)). */
export function newProcessState(ocr: OcrOptions = { workers: 1, timeoutMs: OCR_TIMEOUT_MS }): ProcessState {
  const codecs = new Codecs({ workers: ocr.workers, frameTimeoutMs: FRAME_TIMEOUT_MS });
  return {
    progress: new Map(),
    sealed: new Set(),
    keyIds: new WeakMap(),
    deid: new DeidPool({ workers: ocr.workers, timeoutMs: DEID_TIMEOUT_MS }),
    buffers: new BufferPool(BUFFER_POOL_BYTES),
    pixels: {
      codecs,
      // OCR's grey images are rendered in the decoder workers, off the event loop.
      ocr: new OcrPool(ocr, async (img, frame, mask, look, reads) => {
        const views = await codecs.views(img, frame, 'ocr', { mask, look, reads });
        if (typeof views === 'string') throw new OcrError(views);
        return views;
      }),
      detector: new TextDetector({ threads: ocr.workers }),
    },
  };
}

/** The longest the header stages of one instance may take in a worker before it is ended. */
export const DEID_TIMEOUT_MS = 120_000;

/** The longest one OCR recognition may take before its pool is ended and the instance quarantined. */
export const OCR_TIMEOUT_MS = 60_000;

/** What the app hands every pipeline stage and admin operation. */
export interface BaseContext {
  readonly state: ProcessState;
  readonly db: Db;
  readonly source: OrthancClient;
  readonly log: Logger;
  readonly concurrency: number;
  readonly processedMetadataKey: number;
  readonly explorerMetadataKey: number;
  /** Where reports and exports are written. */
  readonly dataDir: string;
  readonly exportTags: readonly ExportTag[];
  readonly routes: readonly RouteConfig[];
  /** Bytes of DICOM in flight across all jobs: bounds memory whatever the study size. */
  readonly budget: ByteBudget;
  /** Largest inflated size of a deflated dataset (pipeline.maxInflatedMb), counted against the budget. */
  readonly maxInflatedBytes: number;
  /** Instances in flight across all studies (capacity: pipeline.concurrency; each takes 1). */
  readonly slots: ByteBudget;
  /** The targets of a routing rule: its destinations, each with the rule's profile. */
  targetsOf(route: RouteConfig): Target[];
  /** Target of a destination under a profile (admin operations on what was carried before). */
  target(destination: string, profile: string, route: string): Target | undefined;
}

/** A study job's context: the app's, plus the signal that asks it to stop. */
export interface StageContext extends BaseContext {
  readonly signal: AbortSignal;
}

/** An instance's context: the study job's, for one target. */
export type TargetContext = StageContext & Target;

/**
 * Identifies what produced an output: the key version and the profile. An instance pushed under
 * the same fingerprint is not pushed again.
 */
export function outputFingerprint(deid: DeidContext): string {
  // Maps and sets (overrides, safe-private keys) serialise as their entries, so they count.
  const json = JSON.stringify(deid.profile, (_k, v: unknown) =>
    v instanceof Map ? [...v.entries()] : v instanceof Set ? [...v].sort() : v,
  );
  const profile = createHash('sha256').update(json).digest('hex').slice(0, 12);
  return `${deid.keys.version}:${profile}`;
}
