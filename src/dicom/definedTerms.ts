/**
 * Defined terms of a few coded-string (CS) attributes, as the standard names them: a value of one
 * of these is a word of the standard's vocabulary (a body part, a modality, a position), not
 * anybody's name, even when a name happens to be spelled the same (a patient named KNEE).
 *
 * Sources, DICOM 2024b: PS3.16 Annex L (Body Part Examined values, "Correspondence of Anatomic
 * Region Codes and Body Part Examined Defined Terms"); PS3.3 C.7.3.1.1.1 (Modality), C.7.3.1.1.2
 * (Patient Position), C.8.11.5.1.1 (View Position, the DX values), C.7.3.1 (Laterality) and
 * C.7.6.2 (Image Laterality). Body Part Examined holds the Annex L terms a person's name could
 * share (the longer words); a term missing here only means a name that equals it is still
 * quarantined, never that anything passes.
 */
import { TAG } from './tags';

const BODY_PARTS = `ABDOMEN ABDOMENPELVIS ADRENAL AMNIOTICFLUID ANKLE AORTA AORTICARCH APPENDIX ARM AXILLA BACK
  BASILARA BILEDUCT BLADDER BRAIN BREAST BRONCHUS BUTTOCK CALCANEUS CALF CAROTID CECUM CEREBELLUM
  CERVIX CHEEK CHEST CHESTABDOMEN CHESTABDPELVIS CLAVICLE COCCYX COLON CORONARYARTERY CSPINE
  DUODENUM EAR ELBOW ESOPHAGUS EXTREMITY EYE EYELID FACE FEMUR FINGER FOOT FOREARM GALLBLADDER
  HAND HEAD HEADNECK HEART HIP HUMERUS ILEUM ILIUM JAW JEJUNUM KIDNEY KNEE LARYNX LEG LIVER LSPINE
  LSSPINE LUNG MANDIBLE MAXILLA MEDIASTINUM MOUTH NECK NECKCHEST NECKCHESTABDOMEN NECKCHESTABDPELV
  NOSE ORBIT OVARY PANCREAS PAROTID PATELLA PELVIS PENIS PHARYNX PROSTATE RADIUS RECTUM RIB SACRUM
  SCALP SCAPULA SCROTUM SELLA SHOULDER SKULL SPINE SPLEEN SSPINE STERNUM STOMACH TESTIS THIGH
  THUMB THYMUS THYROID TIBIA TOE TONGUE TRACHEA TSPINE ULNA URETER URETHRA UTERUS VAGINA VULVA
  WHOLEBODY WRIST ZYGOMA`;

const MODALITIES = `AR ASMT AU BDUS BI BMD CR CT CTPROTOCOL DG DOC DX ECG EPS ES FID GM HC HD IO IOL IVOCT IVUS
  KER KO LEN LS MG MR M3D NM OAM OCT OP OPM OPT OPTBSV OPTENF OPV OSS OT PLAN PR PT PX REG RESP RF RG
  RTDOSE RTIMAGE RTINTENT RTPLAN RTRAD RTRECORD RTSEGANN RTSTRUCT RWV SEG SM SMR SR SRF STAIN
  TEXTUREMAP TG US VA XA XC`;

const PATIENT_POSITIONS = `HFP HFS HFDR HFDL HFV HFI FFDR FFDL FFP FFS FFV FFI LFP LFS RFP RFS AFDR AFDL PFDR PFDL SITTING`;

const VIEW_POSITIONS = 'AP PA LL RL RLD LLD RLO LLO';

function terms(list: string): ReadonlySet<string> {
  return new Set(list.split(/\s+/).filter((t) => t !== ''));
}

/** Attribute tag ("GGGGEEEE") -> its defined terms. */
export const DEFINED_TERMS: ReadonlyMap<string, ReadonlySet<string>> = new Map([
  [TAG.BodyPartExamined, terms(BODY_PARTS)],
  [TAG.Modality, terms(MODALITIES)],
  [TAG.PatientPosition, terms(PATIENT_POSITIONS)],
  [TAG.ViewPosition, terms(VIEW_POSITIONS)],
  [TAG.Laterality, terms('R L')],
  [TAG.ImageLaterality, terms('R L U B')],
]);

/** Whether a value is one of the attribute's defined terms (trailing padding ignored). */
export function isDefinedTerm(tag: string, value: string): boolean {
  return DEFINED_TERMS.get(tag)?.has(value.trim()) ?? false;
}
