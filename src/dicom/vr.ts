/** Value representation groups of PS3.5 used by the readers and writers of the engine. */

/** VRs with a 32-bit length (and two reserved bytes) in explicit VR encodings (PS3.5 7.1.2). */
export const LONG_VRS: ReadonlySet<string> = new Set([
  'OB',
  'OD',
  'OF',
  'OL',
  'OV',
  'OW',
  'SQ',
  'UC',
  'UN',
  'UR',
  'UT',
  'SV',
  'UV',
]);

/** Text VRs whose bytes are encoded under Specific Character Set (PS3.5 6.1.2.3). */
export const ENCODED_VRS: ReadonlySet<string> = new Set(['SH', 'LO', 'ST', 'LT', 'UC', 'UT', 'PN']);

/** Byte-stream VRs. */
export const BINARY_VRS: ReadonlySet<string> = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'UN']);

/** Every VR PS3.5 defines: what may follow a tag in an explicit VR encoding. */
export const ALL_VRS: ReadonlySet<string> = new Set([
  ...LONG_VRS,
  ...[
    'AE',
    'AS',
    'AT',
    'CS',
    'DA',
    'DS',
    'DT',
    'FL',
    'FD',
    'IS',
    'LO',
    'LT',
    'PN',
    'SH',
    'SL',
    'SS',
    'ST',
    'TM',
    'UI',
    'UL',
    'US',
  ],
]);

/** VRs whose values are binary numbers (PS3.5 6.2): integers and floats, one or many. */
export const BINARY_NUMBER_VRS: ReadonlySet<string> = new Set([
  'US',
  'SS',
  'UL',
  'SL',
  'FL',
  'FD',
  'UV',
  'SV',
]);

/**
 * Coded strings (enumerated terms: YES, M, ORIGINAL...), numbers (measurements), tags and
 * sequences: values that identify nobody, never searched for as a person's or a place's text.
 */
export const CODED_OR_NUMERIC_VRS: ReadonlySet<string> = new Set([
  ...BINARY_NUMBER_VRS,
  'CS',
  'AT',
  'SQ',
  'IS',
  'DS',
]);
