import { createHash } from 'node:crypto';
import type { ExportTag } from '../config';
import type { DeidContext } from '../deid/engine';
import type { Logger } from '../log';
import type { OrthancClient } from '../orthanc/client';
import type { Db } from '../store/db';

/** Everything a pipeline stage needs, passed explicitly. */
export interface StageContext {
  readonly db: Db;
  readonly source: OrthancClient;
  readonly research: OrthancClient;
  readonly deid: DeidContext;
  readonly log: Logger;
  readonly concurrency: number;
  readonly processedMetadataKey: number;
  readonly signal: AbortSignal;
  /** Where reports and exports are written. */
  readonly dataDir: string;
  readonly exportTags: readonly ExportTag[];
  readonly folderSink?: { readonly dir: string; readonly pattern: string };
}

/**
 * Identifies what produced an output: the key version and the profile. An instance pushed under
 * the same fingerprint is not pushed again.
 */
export function outputFingerprint(deid: DeidContext): string {
  const profile = createHash('sha256').update(JSON.stringify(deid.profile)).digest('hex').slice(0, 12);
  return `${deid.keys.version}:${profile}`;
}
