import { clientConfig } from '../../src/store/postgres';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig, redactedConfig, tokenBits } from '../../src/config';
import { TAG, tagOf, formatTag } from '../../src/dicom/tags';
import { SOP_CLASS } from '../../src/dicom/sopClasses';

const SECRET = 'a-secret-that-is-long-enough';
const tmp = mkdtempSync(path.join(os.tmpdir(), 'bridge-config-'));

function file(name: string, content: unknown): string {
  const p = path.join(tmp, name);
  writeFileSync(p, typeof content === 'string' ? content : JSON.stringify(content));
  return p;
}

function load(env: Record<string, string>, configPath?: string) {
  return loadConfig({ env: { BRIDGE_SECRET: SECRET, ...env }, configPath, cwd: tmp });
}

describe('loadConfig', () => {
  it('resolves defaults, then the config file, then the environment', () => {
    const cfgFile = file('over.json', {
      pipeline: { concurrency: 7 },
      research: { url: 'http://127.0.0.1:9000' },
    });
    const cfg = load(
      { BRIDGE_SOURCE_URL: 'http://127.0.0.1:1234/', BRIDGE_API_PORT: '9999', BRIDGE_DATA_DIR: 'state' },
      cfgFile,
    );
    expect(cfg.source.url).toBe('http://127.0.0.1:1234');
    expect(cfg.research.url).toBe('http://127.0.0.1:9000');
    expect(cfg.pipeline.concurrency).toBe(7);
    expect(cfg.api.port).toBe(9999);
    expect(cfg.dataDir).toBe(path.join(tmp, 'state'));
    expect(Object.isFrozen(cfg) && Object.isFrozen(cfg.pipeline)).toBe(true);
  });

  it('reads BRIDGE_CONFIG when no --config is given', () => {
    const cfgFile = file('env.json', { pipeline: { concurrency: 3 } });
    expect(load({ BRIDGE_CONFIG: cfgFile }).pipeline.concurrency).toBe(3);
  });

  it('refuses to start without a secret', () => {
    expect(() => loadConfig({ env: {}, cwd: tmp })).toThrow(
      /BRIDGE_SECRET or BRIDGE_SECRET_FILE is required/,
    );
  });

  it('reads the secret and passwords from files', () => {
    const cfg = loadConfig({
      env: {
        BRIDGE_SECRET_FILE: file('secret', `${SECRET}\n`),
        BRIDGE_SOURCE_USERNAME: 'bridge',
        BRIDGE_SOURCE_PASSWORD_FILE: file('pw', 'pw-from-file\n'),
      },
      cwd: tmp,
    });
    expect(cfg.secret).toBe(SECRET);
    expect(cfg.source.password).toBe('pw-from-file');
    expect(JSON.stringify(redactedConfig(cfg))).not.toMatch(/pw-from-file|a-secret-that/);
  });

  it('names the setting and the variable when a value is wrong', () => {
    expect(() => load({ BRIDGE_SOURCE_URL: 'not a url' })).toThrow(
      /source\.url: .*\(from BRIDGE_SOURCE_URL\)/,
    );
    expect(() => load({ BRIDGE_API_PORT: 'eighty' })).toThrow(/api\.port: .*\(from BRIDGE_API_PORT\)/);
    expect(() => load({ BRIDGE_LOG_LEVEL: 'loud' })).toThrow(/log\.level/);
  });

  it('rejects unknown settings, secrets in config files and bad cron expressions', () => {
    expect(() => load({}, file('typo.json', { pipline: {} }))).toThrow(/pipline/);
    expect(() => load({}, file('secret.json', { secret: 'x' }))).toThrow(
      /"secret" may not be set in a config file/,
    );
    expect(() => load({}, file('pw.json', { source: { url: 'http://127.0.0.1:1', password: 'x' } }))).toThrow(
      /"password" may not be set/,
    );
    expect(() => load({}, file('cron.json', { schedules: { reconcile: 'every tuesday' } }))).toThrow(
      /schedules\.reconcile: .* not a valid cron/,
    );
  });

  it('rejects profile options that cannot be honoured', () => {
    expect(() =>
      load(
        {},
        file('dates.json', {
          profile: {
            name: 'x',
            options: { retainLongitudinalFullDates: true, retainLongitudinalModifiedDates: true },
          },
        }),
      ),
    ).toThrow(/exclude each other/);
    expect(() =>
      load({}, file('unknown.json', { profile: { name: 'x', options: { retainEverything: true } } })),
    ).toThrow(ConfigError);
  });

  it('selects a profile file by name, the admin folder before the built-in profiles', () => {
    const dir = path.join(tmp, 'profiles');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      path.join(dir, 'site.json'),
      JSON.stringify({
        options: { cleanDescriptors: true },
        overrides: [
          { tag: 'SeriesDescription', action: 'replace', value: 'RESEARCH SERIES' },
          {
            tag: formatTag(TAG.StudyDescription),
            action: 'keep',
            allowIdentifying: true,
            reason: 'checked by the site',
          },
        ],
        safePrivate: [{ creator: 'ACME 1.0', group: '0029', element: '0x10' }],
      }),
    );
    const cfg = load({}, file('site-main.json', { profile: 'site', profilesDir: 'profiles' }));
    expect(cfg.profile).toBe('site');
    const site = cfg.profiles.site!;
    expect(site.source).toBe(path.join(dir, 'site.json'));
    expect(site.options.cleanDescriptors).toBe(true);
    expect(site.overrides[TAG.SeriesDescription]).toMatchObject({
      action: 'replace',
      value: 'RESEARCH SERIES',
    });
    expect(site.overrides[TAG.StudyDescription]).toMatchObject({
      action: 'keep',
      keyword: 'StudyDescription',
    });
    expect(site.safePrivate).toEqual([{ creator: 'ACME 1.0', group: 0x29, element: 0x10 }]);
    // Built-in profiles resolve without a folder of one's own.
    expect(load({}, file('basic-main.json', { profile: 'basic' })).profiles.basic!.options.retainUids).toBe(
      false,
    );
    expect(() => load({}, file('missing-main.json', { profile: 'nowhere' }))).toThrow(
      /profile: no profile named "nowhere"/,
    );
  });

  it('refuses profile overrides that are unknown, malformed or keep identity without saying so', () => {
    const withOverride = (o: unknown, i = Math.random()) =>
      file(`ov-${i}.json`, { profile: { name: 'x', options: {}, overrides: [o] } });
    expect(() => load({}, withOverride({ tag: 'PatientNickname', action: 'remove' }))).toThrow(
      /overrides\.0: "PatientNickname" is not a DICOM keyword/,
    );
    expect(() => load({}, withOverride({ tag: formatTag(tagOf(0x0009, 0x1001)), action: 'remove' }))).toThrow(
      /is private/,
    );
    expect(() => load({}, withOverride({ tag: 'InstitutionName', action: 'keep' }))).toThrow(
      /keeping InstitutionName .* set "allowIdentifying": true/,
    );
    expect(() =>
      load({}, withOverride({ tag: 'InstitutionName', action: 'keep', allowIdentifying: true })),
    ).not.toThrow();
    expect(() =>
      load({}, withOverride({ tag: 'PatientID', action: 'keep', allowIdentifying: true })),
    ).toThrow(/PatientID cannot be overridden/);
    expect(() =>
      load({}, withOverride({ tag: 'StudyDate', action: 'replace', value: '2023-05-07' })),
    ).toThrow(/"2023-05-07" is not a valid DA value/);
    expect(() => load({}, withOverride({ tag: 'StudyDate', action: 'replace' }))).toThrow(
      /replace needs a "value"/,
    );
    expect(() =>
      load({}, withOverride({ tag: 'SeriesInstanceUID', action: 'replace', value: '1.2.3' })),
    ).toThrow(/a UID cannot be replaced/);
    expect(() => load({}, withOverride({ tag: 'Modality', action: 'drop' }))).toThrow(/overrides\.0\.action/);
    const twice = file('twice.json', {
      profile: {
        name: 'x',
        options: {},
        overrides: [
          { tag: 'StudyID', action: 'remove' },
          { tag: formatTag(TAG.StudyID), action: 'empty' },
        ],
      },
    });
    expect(() => load({}, twice)).toThrow(/StudyID is overridden twice/);
  });

  it('refuses a blanking rectangle that reaches outside the image, naming it', () => {
    const cfg = file('blank.json', {
      profile: {
        name: 'x',
        options: {},
        pixelPolicy: {
          blank: [{ manufacturer: 'Synth', rows: 480, columns: 640, rectangles: [[600, 0, 80, 40]] }],
        },
      },
    });
    expect(() => load({}, cfg)).toThrow(
      /profile\.pixelPolicy\.blank\.0\.rectangles\.0: \[600, 0, 80, 40\] reaches outside the 640 x 480 image/,
    );
  });

  it("defaults OCR masking to mask-all-text over SC, US, OT, XC and ES, and takes an admin's quarantine list", () => {
    const plain = load({}, file('ocr-default.json', { profile: { name: 'x', options: {} } }));
    const ocr = plain.profiles.x!.pixelPolicy.ocr;
    expect(ocr.mode).toBe('mask-all-text');
    expect(ocr.modalities).toEqual(['US', 'IVUS', 'OT', 'XC', 'ES']);
    expect(ocr.sopClasses).toContain(SOP_CLASS.SecondaryCaptureImageStorage);
    expect(ocr.sopClasses).not.toContain(SOP_CLASS.EncapsulatedPDFStorage); // PDF: a document, not an image
    const chosen = load(
      {},
      file('ocr-chosen.json', {
        profile: {
          name: 'x',
          options: {},
          pixelPolicy: { ocr: { mode: 'mask-identifying', quarantineModalities: ['XC'] } },
        },
      }),
    );
    expect(chosen.profiles.x!.pixelPolicy.ocr).toMatchObject({
      mode: 'mask-identifying',
      quarantineModalities: ['XC'],
    });
    const bad = file('ocr-bad.json', {
      profile: { name: 'x', options: {}, pixelPolicy: { ocr: { mode: 'mask-some' } } },
    });
    expect(() => load({}, bad)).toThrow(/profile\.pixelPolicy\.ocr\.mode/);
  });

  it('says which file is not valid JSON', () => {
    expect(() => load({}, file('broken.json', '{ "api": '))).toThrow(/broken\.json is not valid JSON/);
  });

  it('takes a DICOM peer confirmed by storage commitment, and names a commitment without the port its report comes back to', () => {
    const pacs = { kind: 'dimse', host: '127.0.0.1', port: 11112, calledAet: 'PACS', callingAet: 'BRIDGE' };
    const cfg = load(
      {},
      file('commit.json', {
        destinations: { pacs: { ...pacs, confirm: 'commitment', commitment: { port: 11113 } } },
      }),
    );
    expect(cfg.destinations.pacs).toMatchObject({
      kind: 'dimse',
      confirm: 'commitment',
      dimse: { callingAet: 'BRIDGE', commitment: { port: 11113, reportTimeoutMs: 60_000 } },
    });
    expect(() =>
      load({}, file('commit-no-port.json', { destinations: { pacs: { ...pacs, confirm: 'commitment' } } })),
    ).toThrow(/destinations\.pacs\.commitment: confirm "commitment" needs commitment\.port/);
  });

  it('checks routing rules against the destinations and profiles that exist', () => {
    const routes = (r: unknown[]) => file(`routes-${Math.random()}.json`, { routes: r });
    expect(() => load({}, routes([{ name: 'a', destinations: ['nowhere'] }]))).toThrow(
      /routes\.0\.destinations: no destination named "nowhere"/,
    );
    expect(() => load({}, routes([{ name: 'a', profile: 'strict' }]))).toThrow(
      /routes\.0\.profile: no profile named "strict"/,
    );
    expect(() => load({}, routes([{ name: 'a' }, { name: 'a' }]))).toThrow(/two rules are named "a"/);
    expect(() =>
      load({}, routes([{ name: 'a', match: { minPatientAgeYears: 60, maxPatientAgeYears: 40 } }])),
    ).toThrow(/minPatientAgeYears is above maxPatientAgeYears/);
    expect(() => load({}, routes([{ name: 'a', match: { studyDescription: '(' } }]))).toThrow(
      /valid regular expression/,
    );
    const ok = load(
      {},
      file('routes-ok.json', {
        destinations: { archive: { url: 'http://127.0.0.1:9' } },
        profiles: { basic: { options: {} } },
        routes: [
          {
            name: 'a',
            match: { modalities: ['MG'] },
            profile: 'basic',
            destinations: ['research', 'archive'],
          },
        ],
      }),
    );
    expect(ok.routes).toEqual([
      { name: 'a', match: { modalities: ['MG'] }, profile: 'basic', destinations: ['research', 'archive'] },
    ]);
    expect(Object.keys(ok.destinations)).toEqual(['research', 'archive']);
  });

  it('sends every study to research when no rule is configured', () => {
    expect(load({}).routes).toEqual([
      { name: 'default', match: {}, profile: 'default', destinations: ['research'] },
    ]);
  });

  it('reads API tokens from the environment or files and refuses short ones', () => {
    const cfg = load({
      BRIDGE_API_TOKEN: 'operator-token-long-enough',
      BRIDGE_ADMIN_TOKEN_FILE: file('admin-token', 'admin-token-long-enough\n'),
    });
    expect(cfg.credentials).toEqual({
      operatorToken: 'operator-token-long-enough',
      adminToken: 'admin-token-long-enough',
    });
    expect(() => load({ BRIDGE_API_TOKEN: 'short' })).toThrow(
      /BRIDGE_API_TOKEN: an API token must be at least 16 bytes/,
    );
    expect(() => load({}, file('retry.json', { schedules: { retry: '61 * * * *' } }))).toThrow(
      /schedules\.retry/,
    );
  });

  it('warns of guessable tokens and of secret files other accounts can read', () => {
    const weak = load({ BRIDGE_API_TOKEN: 'aaaaaaaaaaaaaaaa', BRIDGE_ADMIN_TOKEN: 'b'.repeat(16) });
    expect(weak.warnings.join('\n')).toMatch(/BRIDGE_API_TOKEN: the token looks guessable \(about 0 bits\)/);
    const strong = load({ BRIDGE_API_TOKEN: randomBytes(32).toString('hex') });
    expect(strong.warnings).toEqual([]);
    expect(tokenBits('aaaaaaaaaaaaaaaa')).toBe(0);
    expect(tokenBits(randomBytes(32).toString('hex'))).toBeGreaterThan(200);
    const readable = file('secret-readable', 'a-secret-that-is-long-enough');
    chmodSync(readable, 0o644);
    const cfg = loadConfig({ env: { BRIDGE_SECRET_FILE: readable }, cwd: tmp });
    expect(cfg.warnings.join('\n')).toMatch(
      /BRIDGE_SECRET_FILE: .* can be read by other accounts \(mode 644\)/,
    );
  });

  it('refuses a URL with a user name or password in it, naming the setting and not the password', () => {
    expect(() => load({ BRIDGE_SOURCE_URL: 'http://u:pw-123456@127.0.0.1:8042' })).toThrow(
      /^BRIDGE_SOURCE_URL: a URL may not hold a user name or password; use BRIDGE_SOURCE_USERNAME/,
    );
    try {
      load({ BRIDGE_SOURCE_URL: 'http://u:pw-123456@127.0.0.1:8042' });
    } catch (err) {
      expect((err as Error).message).not.toContain('pw-123456');
    }
  });

  it('refuses the same token for the operator and the admin', () => {
    expect(() =>
      load({ BRIDGE_API_TOKEN: 'same-token-for-both-0123', BRIDGE_ADMIN_TOKEN: 'same-token-for-both-0123' }),
    ).toThrow(/BRIDGE_API_TOKEN and BRIDGE_ADMIN_TOKEN are the same/);
  });
});

describe('the state store and the replica', () => {
  it('keeps the embedded SQLite without a state URL, with a replica ID of host and process', () => {
    const cfg = load({});
    expect(cfg.state).toBeUndefined();
    expect(cfg.replica).toEqual({
      id: `${os.hostname()}-${process.pid}`,
      leaseMs: 30_000,
      heartbeatMs: 5_000,
    });
    expect(cfg.reportsDir).toBe(cfg.dataDir);
  });

  it('takes PostgreSQL from BRIDGE_STATE_URL with the password from its own variable or file', () => {
    const pw = file('state-password', 'state-pw-from-file');
    const cfg = load({
      BRIDGE_STATE_URL: 'postgres://bridge@db.example:5433/bridge',
      BRIDGE_STATE_PASSWORD_FILE: pw,
      BRIDGE_REPLICA_ID: 'site-a-1',
      BRIDGE_REPORTS_DIR: 'shared-reports',
    });
    expect(cfg.state).toMatchObject({
      url: 'postgres://bridge@db.example:5433/bridge',
      password: 'state-pw-from-file',
    });
    expect(cfg.replica.id).toBe('site-a-1');
    expect(cfg.reportsDir).toBe(path.join(tmp, 'shared-reports'));
    expect(JSON.stringify(redactedConfig(cfg))).not.toContain('state-pw-from-file');
  });

  it('refuses a password in the state URL, a password without a URL, and a URL without a database', () => {
    expect(() => load({ BRIDGE_STATE_URL: 'postgres://bridge:secret@db.example/bridge' })).toThrow(
      /BRIDGE_STATE_URL: the address may not hold a password/,
    );
    expect(() => load({ BRIDGE_STATE_PASSWORD: 'x' })).toThrow(/a password is set but no BRIDGE_STATE_URL/);
    expect(() => load({ BRIDGE_STATE_URL: 'postgres://bridge@db.example' })).toThrow(
      /name the host and the database/,
    );
    expect(() => load({ BRIDGE_STATE_URL: 'mysql://db.example/bridge' })).toThrow(/state.url/);
  });

  it('honours sslmode in the state URL, refuses other parameters, and warns of a database over the network without TLS', () => {
    const pw = { BRIDGE_STATE_PASSWORD: 'state-pw' };
    const parts = (url: string) => clientConfig(load({ ...pw, BRIDGE_STATE_URL: url }).state!);
    expect(parts('postgres://bridge@db.example/bridge?sslmode=require').ssl).toEqual({
      rejectUnauthorized: false,
    });
    expect(parts('postgres://bridge@db.example/bridge?sslmode=verify-full').ssl).toEqual({
      rejectUnauthorized: true,
    });
    expect(parts('postgres://bridge@127.0.0.1/bridge').ssl).toBeUndefined();
    expect(() =>
      load({ ...pw, BRIDGE_STATE_URL: 'postgres://bridge@db.example/bridge?sslmode=maybe' }),
    ).toThrow(/sslmode must be disable, prefer, require, verify-ca or verify-full/);
    expect(() => load({ ...pw, BRIDGE_STATE_URL: 'postgres://bridge@db.example/bridge?host=evil' })).toThrow(
      /the parameter "host" is not supported/,
    );
    expect(
      load({ ...pw, BRIDGE_STATE_URL: 'postgres://bridge@db.example/bridge' }).warnings.join('\n'),
    ).toMatch(/reached without TLS over the network/);
    expect(
      load({ ...pw, BRIDGE_STATE_URL: 'postgres://bridge@127.0.0.1/bridge' }).warnings.join('\n'),
    ).not.toMatch(/without TLS/);
  });

  it('refuses a heartbeat that renews a lease fewer than three times, and a replica ID with spaces', () => {
    expect(() => load({ BRIDGE_REPLICA_LEASE_MS: '3000', BRIDGE_REPLICA_HEARTBEAT_MS: '1500' })).toThrow(
      /replica.heartbeatMs: 1500 ms leaves too little of the 3000 ms lease/,
    );
    expect(() => load({ BRIDGE_REPLICA_ID: 'two words' })).toThrow(/replica.id/);
  });
});
