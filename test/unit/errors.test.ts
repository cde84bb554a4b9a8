/** The one error model: every error a BridgeError with a code, retryable and a scope; foreign errors coerced without their message. */
import { CharsetError } from '../../src/dicom/charset';
import { ReidentificationError } from '../../src/deid/reid';
import { ProfileError } from '../../src/config/profiles';
import {
  BridgeError,
  coerceError,
  ConfigError,
  DestinationError,
  DicomParseError,
  PermanentError,
  safeMessage,
  StoreError,
  TransientError,
  UsageError,
} from '../../src/errors';

describe('the error model', () => {
  it('gives every error of the bridge a code, a retry decision and a scope', () => {
    const cases: Array<[BridgeError, boolean, string]> = [
      [new TransientError('ORTHANC_HTTP_503', 'x'), true, 'study'],
      [new DestinationError('ORTHANC_HTTP_401', 'x'), true, 'destination'],
      [new PermanentError('ORTHANC_HTTP_400', 'x'), false, 'instance'],
      [new DicomParseError('x'), false, 'instance'],
      [new CharsetError('x'), false, 'instance'],
      [new ConfigError('x'), false, 'process'],
      [new ProfileError('x'), false, 'process'],
      [new StoreError('x'), false, 'process'],
      [new ReidentificationError('x'), false, 'process'],
      [new UsageError('x'), false, 'process'],
    ];
    for (const [err, retryable, scope] of cases) {
      expect(err).toBeInstanceOf(BridgeError);
      expect({ name: err.name, retryable: err.retryable, scope: err.scope }).toEqual({
        name: err.name,
        retryable,
        scope,
      });
      expect(err.code).toMatch(/^[A-Z0-9_]+$/);
    }
    expect(new ProfileError('x')).toBeInstanceOf(ConfigError);
    expect(new CharsetError('x').code).toBe('DICOM_CHARSET');
  });

  it('coerces a foreign error to an instance fault that names its kind and code, never its message', () => {
    const foreign = Object.assign(new TypeError('cannot read DOE^JOHN'), { code: 'ERR_X' });
    const e = coerceError(foreign);
    expect(e).toBeInstanceOf(PermanentError);
    expect(e.scope).toBe('instance');
    expect(e.message).toBe('unexpected TypeError (ERR_X)');
    expect(safeMessage(foreign)).not.toContain('DOE');
    expect(safeMessage(new TransientError('ORTHANC_HTTP_503', 'clinical answered 503'))).toBe(
      'ORTHANC_HTTP_503: clinical answered 503',
    );
    const own = new StoreError('disk full');
    expect(coerceError(own)).toBe(own);
    expect(coerceError('a string').message).toBe('unexpected string');
  });
});
