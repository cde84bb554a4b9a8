import { str } from './engine';
import type { PixelPolicy } from './profile';
import type { Dataset } from './types';

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
  '1.2.840.10008.5.1.4.1.1.7': 'secondary capture images are often screenshots with text',
  '1.2.840.10008.5.1.4.1.1.7.1': 'secondary capture images are often screenshots with text',
  '1.2.840.10008.5.1.4.1.1.7.2': 'secondary capture images are often screenshots with text',
  '1.2.840.10008.5.1.4.1.1.7.3': 'secondary capture images are often screenshots with text',
  '1.2.840.10008.5.1.4.1.1.7.4': 'secondary capture images are often screenshots with text',
  '1.2.840.10008.5.1.4.1.1.6.1': 'ultrasound images often carry burned-in text',
  '1.2.840.10008.5.1.4.1.1.3.1': 'ultrasound images often carry burned-in text',
  '1.2.840.10008.5.1.4.1.1.104.1': 'encapsulated PDF documents carry text the engine cannot clean',
  '1.2.840.10008.5.1.4.1.1.104.2': 'encapsulated CDA documents carry text the engine cannot clean',
  '1.2.840.10008.5.1.4.1.1.104.3': 'encapsulated STL models can carry text',
  '1.2.840.10008.5.1.4.1.1.77.1.1.1': 'endoscopy video often carries burned-in text',
  '1.2.840.10008.5.1.4.1.1.77.1.4': 'photographs can show faces or wristbands',
  '1.2.840.10008.5.1.4.1.1.77.1.4.1': 'video photographs can show faces or wristbands',
};

export interface PixelVerdict {
  readonly tag: string;
  readonly reason: string;
}

/**
 * Whether an instance may go under the profile's pixel policy. Returns the reason to quarantine
 * (naming the tag, never a value beyond the standard code that triggered it), or undefined.
 */
export function pixelPolicyVerdict(dict: Dataset, policy: PixelPolicy): PixelVerdict | undefined {
  const burnedIn = str(dict['00280301']).toUpperCase();
  if (burnedIn === 'YES' && !policy.allowBurnedInAnnotation) {
    return {
      tag: '(0028,0301)',
      reason: 'BurnedInAnnotation is YES and the profile does not allow burned-in text',
    };
  }
  const sopClass = str(dict['00080016']);
  const sopRisk = RISKY_SOP_CLASSES[sopClass];
  if (sopRisk && !policy.allowSopClasses.includes(sopClass)) {
    return {
      tag: '(0008,0016)',
      reason: `${sopRisk} (SOP class ${sopClass}); allow it in the profile's pixelPolicy once checked`,
    };
  }
  const modality = str(dict['00080060']).toUpperCase();
  const modalityRisk = RISKY_MODALITIES[modality];
  // An explicit NO from the modality is trusted for modality-based risks, not for the SOP classes above.
  if (modalityRisk && burnedIn !== 'NO' && !policy.allowModalities.includes(modality)) {
    return {
      tag: '(0008,0060)',
      reason: `${modalityRisk} (modality ${modality}); allow it in the profile's pixelPolicy once checked`,
    };
  }
  return undefined;
}
