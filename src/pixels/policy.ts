import { SOP_CLASS } from '../dicom/sopClasses';
import type { BlankRule } from './regions';
import type { Dataset } from '../deid/types';
import { formatTag, TAG } from '../dicom/tags';
import { str } from '../dicom/values';

/**
 * Modalities whose images commonly carry identifying text burned into the pixels: ultrasound
 * (patient name and date on the screen), other/secondary capture, documents, photographs and
 * endoscopy or microscopy video. Sources: PS3.15 E.3.1 (Clean Pixel Data Option) and the
 * burned-in-annotation signatures of the RSNA CTP DicomPixelAnonymizer, which are almost all for
 * these modalities.
 */
export const RISKY_MODALITIES: Readonly<Record<string, string>> = {
  US: 'ultrasound images often carry burned-in text',
  IVUS: 'intravascular ultrasound images often carry burned-in text',
  OT: 'other/secondary-capture images are often screenshots with text',
  DOC: 'documents are text',
  XC: 'external-camera photographs can show faces or wristbands',
  GM: 'general microscopy images can carry slide labels',
  SM: 'slide microscopy images can carry slide labels',
  ES: 'endoscopy video frames often carry burned-in text',
};

/** SOP classes known to carry identifying content in pixels or payload. */
export const RISKY_SOP_CLASSES: Readonly<Record<string, string>> = {
  [SOP_CLASS.SecondaryCaptureImageStorage]: 'secondary capture images are often screenshots with text',
  [SOP_CLASS.MultiFrameSingleBitSecondaryCaptureImageStorage]:
    'secondary capture images are often screenshots with text',
  [SOP_CLASS.MultiFrameGrayscaleByteSecondaryCaptureImageStorage]:
    'secondary capture images are often screenshots with text',
  [SOP_CLASS.MultiFrameGrayscaleWordSecondaryCaptureImageStorage]:
    'secondary capture images are often screenshots with text',
  [SOP_CLASS.MultiFrameTrueColorSecondaryCaptureImageStorage]:
    'secondary capture images are often screenshots with text',
  [SOP_CLASS.UltrasoundImageStorage]: 'ultrasound images often carry burned-in text',
  [SOP_CLASS.UltrasoundMultiFrameImageStorage]: 'ultrasound images often carry burned-in text',
  [SOP_CLASS.EncapsulatedPDFStorage]: 'encapsulated PDF documents carry text the engine cannot clean',
  [SOP_CLASS.EncapsulatedCDAStorage]: 'encapsulated CDA documents carry text the engine cannot clean',
  [SOP_CLASS.EncapsulatedSTLStorage]: 'encapsulated STL models can carry text',
  [SOP_CLASS.VideoEndoscopicImageStorage]: 'endoscopy video often carries burned-in text',
  [SOP_CLASS.VLPhotographicImageStorage]: 'photographs can show faces or wristbands',
  [SOP_CLASS.VideoPhotographicImageStorage]: 'video photographs can show faces or wristbands',
};

/** Documents: their content is text the pixel cleaning cannot reach. They pass only when allowed. */
export const DOCUMENT_SOP_CLASSES: ReadonlySet<string> = new Set([
  SOP_CLASS.EncapsulatedPDFStorage,
  SOP_CLASS.EncapsulatedCDAStorage,
  SOP_CLASS.EncapsulatedSTLStorage,
]);

/** The SOP classes OCR masking covers by default: every risky image class (documents are not images). */
export const DEFAULT_OCR_SOP_CLASSES: readonly string[] = Object.keys(RISKY_SOP_CLASSES).filter(
  (uid) => !DOCUMENT_SOP_CLASSES.has(uid),
);
/** The modalities OCR masking covers by default (PS3.15 E.3.1's usual suspects). */
export const DEFAULT_OCR_MODALITIES: readonly string[] = ['US', 'IVUS', 'OT', 'XC', 'ES'];

/**
 * OCR masking of burned-in text (pixels/): which instances it covers, what it masks, and its bounds.
 * `mask-all-text` masks every word read; `mask-identifying` only words that match an identity value
 * of the header, a date, a time or a long number; `off` leaves these instances to the risk lists
 * (quarantine).
 */
export interface OcrPolicy {
  readonly mode: 'mask-all-text' | 'mask-identifying' | 'off';
  readonly sopClasses: readonly string[];
  readonly modalities: readonly string[];
  /** Quarantined whatever else the policy says (an admin's choice per SOP class or modality). */
  readonly quarantineSopClasses: readonly string[];
  readonly quarantineModalities: readonly string[];
  /** Instances with more frames are quarantined rather than read frame by frame. */
  readonly maxFrames: number;
  /** The longest the first pass may read one instance's frames for text (seconds); over it, quarantine. */
  readonly maxSecondsPerInstance: number;
  /** Instances whose header declares more decoded pixel bytes than this (MB) are quarantined before decoding. */
  readonly maxDecodedMb: number;
  /**
   * Decoded bytes per coded byte a compressed frame may declare; over it the instance is
   * quarantined before decoding (a 592-byte JPEG-LS frame declared 32 MiB: 56,680). The most seen
   * on real files here is 2,097, a uniform JPEG 2000 frame.
   */
  readonly maxCompressionRatio: number;
  /** Pixels pad each text box on every side, beyond the detector's own margin (anti-aliased edges). */
  readonly padding: number;
  /**
   * The largest share of a frame that text masks may cover (0-1). Over it the instance is
   * quarantined (check kept-pixels): an image mostly masked is destroyed, not de-identified.
   * Configured rectangles and the outside of ultrasound regions are the admin's and the device's
   * own choices and do not count.
   */
  readonly maxMaskedFraction: number;
  /** The stored value masked samples take; unset: the darkest the image can show. */
  readonly maskValue?: number;
}

export interface PixelPolicy {
  readonly allowBurnedInAnnotation: boolean;
  readonly allowModalities: readonly string[];
  readonly allowSopClasses: readonly string[];
  /** Rectangles to blank per manufacturer, model and size (Clean Pixel Data); see pixels/regions.ts. */
  readonly blank: readonly BlankRule[];
  readonly ocr: OcrPolicy;
}

export const DEFAULT_OCR_POLICY: OcrPolicy = Object.freeze({
  mode: 'mask-all-text',
  sopClasses: DEFAULT_OCR_SOP_CLASSES,
  modalities: DEFAULT_OCR_MODALITIES,
  quarantineSopClasses: [],
  quarantineModalities: [],
  maxFrames: 100,
  maxDecodedMb: 512,
  maxCompressionRatio: 20_000,
  maxSecondsPerInstance: 300,
  padding: 1,
  maxMaskedFraction: 0.15,
});

/** The default: risky images masked by OCR, documents and the other risky classes quarantined. */
export const DEFAULT_PIXEL_POLICY: PixelPolicy = Object.freeze({
  allowBurnedInAnnotation: false,
  allowModalities: [],
  allowSopClasses: [],
  blank: [],
  ocr: DEFAULT_OCR_POLICY,
});

/** No OCR: every risky instance is quarantined unless allowed (the policy before OCR masking). */
export const STRICT_PIXEL_POLICY: PixelPolicy = Object.freeze({
  ...DEFAULT_PIXEL_POLICY,
  ocr: Object.freeze({ ...DEFAULT_OCR_POLICY, mode: 'off' as const }),
});

export interface PixelVerdict {
  readonly tag: string;
  readonly reason: string;
}

/** What the pixel policy does with an instance. */
export type PixelDecision =
  /** The pixels go as they are (or with the configured rectangles blanked, when a rule matches). */
  | { readonly action: 'keep' }
  /** The pixels are decoded, searched for text with OCR and masked; the gate checks the result. */
  | { readonly action: 'ocr' }
  | ({ readonly action: 'quarantine' } & PixelVerdict);

/**
 * What the profile's pixel policy does with an instance: quarantine (naming the tag, never a value
 * beyond the standard code that triggered it), OCR masking, or keep.
 */
export function pixelDecision(dict: Dataset, policy: PixelPolicy): PixelDecision {
  const burnedIn = str(dict[TAG.BurnedInAnnotation]).toUpperCase();
  const sopClass = str(dict[TAG.SOPClassUID]);
  const modality = str(dict[TAG.Modality]).toUpperCase();
  const { ocr } = policy;
  if (ocr.quarantineSopClasses.includes(sopClass))
    return {
      action: 'quarantine',
      tag: formatTag(TAG.SOPClassUID),
      reason: `the profile quarantines SOP class ${sopClass}`,
    };
  if (modality !== '' && ocr.quarantineModalities.includes(modality))
    return {
      action: 'quarantine',
      tag: formatTag(TAG.Modality),
      reason: `the profile quarantines modality ${modality}`,
    };
  const sopAllowed = policy.allowSopClasses.includes(sopClass);
  const modalityAllowed = policy.allowModalities.includes(modality);
  if (DOCUMENT_SOP_CLASSES.has(sopClass) && !sopAllowed)
    return {
      action: 'quarantine',
      tag: formatTag(TAG.SOPClassUID),
      reason: `${RISKY_SOP_CLASSES[sopClass]} (SOP class ${sopClass}); allow it in the profile's pixelPolicy once checked`,
    };
  const on = ocr.mode !== 'off';
  if (
    on &&
    ((ocr.sopClasses.includes(sopClass) && !sopAllowed) ||
      (ocr.modalities.includes(modality) && !modalityAllowed && !sopAllowed) ||
      (burnedIn === 'YES' && !policy.allowBurnedInAnnotation))
  ) {
    // OCR cleans Pixel Data only: an image of a class that carries text, with its pixels as
    // floats, would reach research unread (issue 22).
    for (const [tag, name] of [
      [TAG.FloatPixelData, 'Float Pixel Data'],
      [TAG.DoubleFloatPixelData, 'Double Float Pixel Data'],
    ] as const)
      if (dict[tag])
        return {
          action: 'quarantine',
          tag: formatTag(tag),
          reason: `${name} cannot be read for burned-in text; the instance stays quarantined`,
        };
    return { action: 'ocr' };
  }
  const risk = pixelPolicyVerdict(dict, policy);
  return risk ? { action: 'quarantine', ...risk } : { action: 'keep' };
}

/**
 * Whether an instance may go under the profile's pixel policy. Returns the reason to quarantine
 * (naming the tag, never a value beyond the standard code that triggered it), or undefined.
 */
export function pixelPolicyVerdict(dict: Dataset, policy: PixelPolicy): PixelVerdict | undefined {
  const burnedIn = str(dict[TAG.BurnedInAnnotation]).toUpperCase();
  if (burnedIn === 'YES' && !policy.allowBurnedInAnnotation) {
    return {
      tag: formatTag(TAG.BurnedInAnnotation),
      reason: 'BurnedInAnnotation is YES and the profile does not allow burned-in text',
    };
  }
  const sopClass = str(dict[TAG.SOPClassUID]);
  const sopRisk = RISKY_SOP_CLASSES[sopClass];
  if (sopRisk && !policy.allowSopClasses.includes(sopClass)) {
    return {
      tag: formatTag(TAG.SOPClassUID),
      reason: `${sopRisk} (SOP class ${sopClass}); allow it in the profile's pixelPolicy once checked`,
    };
  }
  const modality = str(dict[TAG.Modality]).toUpperCase();
  const modalityRisk = RISKY_MODALITIES[modality];
  // An explicit NO from the modality is trusted for modality-based risks, not for the SOP classes above.
  if (modalityRisk && burnedIn !== 'NO' && !policy.allowModalities.includes(modality)) {
    return {
      tag: formatTag(TAG.Modality),
      reason: `${modalityRisk} (modality ${modality}); allow it in the profile's pixelPolicy once checked`,
    };
  }
  return undefined;
}
