/**
 * The de-identification marking (PS3.15 E.1.1, PS3.3 C.7.1.1 and C.12.1), read apart from the
 * engine's: Patient Identity Removed YES, one CID 7050 code for the basic profile, one for Clean
 * Pixel Data where the pixels were masked and one for each option the profile turns on, with the
 * meaning the standard gives it, and the state of the dates the options leave.
 */
import { BASIC_PROFILE_CODE, CID_7050, CLEAN_PIXEL_DATA_CODE, OPTION_CODE } from '../deid/cid7050';
import type { DeidProfile } from '../deid/profile';
import { TABLE_REVISION } from '../deid/table.generated';
import type { OptionName } from '../deid/types';
import type { Dataset } from '../dicom/dataset';
import { formatTag, TAG } from '../dicom/tags';
import { str } from '../dicom/values';
import { textOf } from './values';
import type { Fail } from './conformance';

export function checkMarking(out: Dataset, profile: DeidProfile, pixelsCleaned: boolean, fail: Fail): void {
  const { options } = profile;
  if (str(out[TAG.PatientIdentityRemoved]) !== 'YES') fail(TAG.PatientIdentityRemoved, '', 'is not YES');
  const expected = new Set([
    BASIC_PROFILE_CODE,
    ...(pixelsCleaned ? [CLEAN_PIXEL_DATA_CODE] : []),
    ...Object.entries(OPTION_CODE)
      .filter(([option]) => options[option as OptionName])
      .map(([, code]) => code),
  ]);
  const items = (out[TAG.DeidentificationMethodCodeSequence]?.Value ?? []) as Dataset[];
  const listed = items.map((item) => str(item[TAG.CodeValue]));
  if (listed.length !== expected.size || !listed.every((c) => expected.has(c)))
    fail(TAG.DeidentificationMethodCodeSequence, '', 'does not list exactly the applied profile and options');
  items.forEach((item, i) => {
    const code = str(item[TAG.CodeValue]);
    if (str(item[TAG.CodingSchemeDesignator]) !== 'DCM' || str(item[TAG.CodeMeaning]) !== CID_7050[code])
      fail(
        TAG.CodeMeaning,
        `${formatTag(TAG.DeidentificationMethodCodeSequence)}[${i}]`,
        'is not the CID 7050 meaning of its code',
      );
  });
  // The table's revision and the bridge's profile, the words docs/DEIDENTIFICATION.md gives.
  const method = [`PS3.15 E.1-1 ${TABLE_REVISION}`, `orthanc-research-bridge ${profile.name}`.slice(0, 64)];
  if (textOf(out[TAG.DeidentificationMethod] ?? { vr: 'LO' }).join('\\') !== method.join('\\'))
    fail(TAG.DeidentificationMethod, '', 'is not the marking the profile writes');
  const dates = options.retainLongitudinalFullDates
    ? 'UNMODIFIED'
    : options.retainLongitudinalModifiedDates
      ? 'MODIFIED'
      : 'REMOVED';
  if (str(out[TAG.LongitudinalTemporalInformationModified]) !== dates)
    fail(
      TAG.LongitudinalTemporalInformationModified,
      '',
      `is not ${dates}, the state the profile leaves dates in`,
    );
}
