/** What the stages of one instance hand on: the prepared output, and the instance's outcome. */
import type { PatientMapping } from '../deid/engine';
import type { Dataset } from '../deid/types';

export type InstanceOutcome =
  | {
      kind: 'pushed';
      researchId: string;
      researchStudyId: string;
      md5: string;
      already: boolean;
      replaced: boolean;
      patient: PatientMapping;
      metadata: Record<string, string>;
      masked?: MaskedRegions;
    }
  | { kind: 'quarantined'; check: string; tag: string | null; reason: string };

export interface Prepared {
  /**
   * The file to send, in parts: the de-identified header and, when the engine could splice, the
   * original Pixel Data element byte for byte (never re-encoded, never copied).
   */
  readonly parts: readonly Buffer[];
  readonly length: number;
  readonly dict: Dataset;
  readonly patient: PatientMapping;
  /** When the pixels were cleaned: how many regions were masked and their area (never the text). */
  readonly masked?: MaskedRegions;
}

export interface MaskedRegions {
  readonly regions: number;
  /** Pixels masked, per frame. */
  readonly area: number;
  /** The largest share of one frame that text masks cover (0-1), the kept-pixels check's figure. */
  readonly share: number;
  /** Where: [frame, x, y, width, height] per masked rectangle, in image pixels (frame -1: every frame). */
  readonly boxes?: ReadonlyArray<readonly [number, number, number, number, number]>;
}
