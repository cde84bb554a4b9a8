import { z } from 'zod';
import { DEFAULT_OCR_POLICY } from '../deid/profile';

const url = z
  .string()
  .url('must be a URL such as http://127.0.0.1:8042')
  .refine((u) => /^https?:\/\//.test(u), 'must start with http:// or https://')
  .transform((u) => u.replace(/\/+$/, ''));

/** Fields a folder-sink file name may use; every value is sanitised before use. */
const SINK_FIELDS = [
  'pseudonym',
  'researchStudyId',
  'StudyDate',
  'StudyInstanceUID',
  'SeriesInstanceUID',
  'SOPInstanceUID',
  'SeriesNumber',
  'InstanceNumber',
  'Modality',
  'ViewPosition',
  'ImageLaterality',
  'BodyPartExamined',
] as const;

const folderSink = z
  .object({
    dir: z.string().min(1),
    pattern: z
      .string()
      .min(1)
      .default('{pseudonym}/{StudyDate}/{Modality}_{ViewPosition}_{ImageLaterality}_{InstanceNumber}.dcm')
      .refine(
        (p) =>
          [...p.matchAll(/\{([^}]*)\}/g)].every((m) => (SINK_FIELDS as readonly string[]).includes(m[1]!)),
        {
          message: `may use only these fields: ${SINK_FIELDS.map((f) => `{${f}}`).join(' ')}`,
        },
      )
      .refine((p) => p.endsWith('.dcm') && !p.startsWith('/') && !p.split('/').includes('..'), {
        message: 'must be a relative path ending in .dcm, without ".."',
      }),
    /**
     * Permissions of the files written (octal, e.g. "0640" for a group that reads them); folders
     * get the matching search bits. Everything else the bridge writes is private to its user.
     */
    fileMode: z
      .string()
      .regex(/^0?[0-7]{3}$/, 'must be an octal mode such as "0600" or "0640"')
      .refine((m) => (parseInt(m, 8) & 0o002) === 0, { message: 'may not let everyone write' })
      .default('0600'),
  })
  .strict();

const orthancServer = z
  .object({
    url,
    username: z.string().min(1).optional(),
    // Passwords come from the environment or a file, never from a config file.
    passwordFile: z.string().min(1).optional(),
    timeoutMs: z.number().int().min(100).max(600_000).default(30_000),
    /** PEM file of the CA that signed this Orthanc's HTTPS certificate (besides the system CAs). */
    caFile: z.string().min(1).optional(),
    /** Where a browser reaches this Orthanc's Explorer, when not at `url` (links on the admin page). */
    explorerUrl: url.optional(),
    /** Research only: also write each de-identified file to a folder. */
    folderSink: folderSink.optional(),
  })
  .strict();

/**
 * A research destination besides `research`: an Orthanc peer (the default kind) or a DICOMweb
 * server (STOW-RS, confirmed by WADO-RS and MD5 with `confirm: "md5"`, else by QIDO-RS presence).
 */
const destination = orthancServer
  .extend({
    kind: z.enum(['orthanc', 'dicomweb']).default('orthanc'),
    /** DICOMweb: a file holding a bearer token (read again when the server answers 401). */
    tokenFile: z.string().min(1).optional(),
    /** DICOMweb: prove the stored bytes (WADO-RS + MD5; the server must return them unchanged) or presence only (QIDO-RS). */
    confirm: z.enum(['md5', 'presence']).optional(),
    /** DICOMweb: instances stored at about the same moment sent in one STOW-RS request, at most this many. */
    maxInstancesPerRequest: z.number().int().min(1).max(256).optional(),
  })
  .strict()
  .superRefine((d, ctx) => {
    if (d.kind === 'orthanc' && (d.tokenFile || d.confirm || d.maxInstancesPerRequest))
      ctx.addIssue({
        code: 'custom',
        message: 'tokenFile, confirm and maxInstancesPerRequest are settings of a dicomweb destination',
      });
    if (d.kind === 'dicomweb' && d.folderSink)
      ctx.addIssue({ code: 'custom', message: 'folderSink belongs to an Orthanc destination' });
    if (d.tokenFile && d.username)
      ctx.addIssue({
        code: 'custom',
        message: 'give either a username (Basic) or a tokenFile (Bearer), not both',
      });
  });

/** An AE title (PS3.5 6.2, AE): 1 to 16 characters, no backslash or control character, not all spaces. */
const aeTitle = z
  .string()
  .regex(/^[\x20-\x5b\x5d-\x7e]{1,16}$/, 'must be 1 to 16 printable characters without a backslash')
  .refine((a) => a.trim() !== '', 'must not be blank');

/**
 * A DICOM peer over DIMSE: C-STORE, confirmed by storage commitment, by C-FIND at IMAGE level, or
 * not at all.
 */
const dimseDestination = z
  .object({
    kind: z.literal('dimse'),
    host: z.string().min(1),
    port: z.number().int().min(1).max(65535),
    calledAet: aeTitle,
    callingAet: aeTitle,
    /**
     * `commitment`: the peer takes responsibility for the study's instances (N-ACTION, then its
     * N-EVENT-REPORT to `commitment.port`); `c-find`: ask the peer at IMAGE level that it holds
     * each instance; `none`: the C-STORE status only.
     */
    confirm: z.enum(['commitment', 'c-find', 'none']).default('none'),
    /** Storage commitment: the port the peer's report comes back to, and how long to wait for it. */
    commitment: z
      .object({
        port: z.number().int().min(1).max(65535),
        reportTimeoutMs: z.number().int().min(100).max(3_600_000).default(60_000),
      })
      .strict()
      .optional(),
    /**
     * Instances stored at about the same moment sent over one association (one storescu), at most
     * this many. 1 (the default) gives each its own association, which a peer on the same network
     * ingests in parallel (docs/PERFORMANCE.md); more saves the association set-up a distant peer costs.
     */
    maxInstancesPerAssociation: z.number().int().min(1).max(256).default(1),
    timeoutMs: z.number().int().min(100).max(600_000).default(30_000),
  })
  .strict()
  .refine((d) => d.confirm !== 'commitment' || d.commitment !== undefined, {
    path: ['commitment'],
    message: 'confirm "commitment" needs commitment.port: where the peer sends its report back',
  });

/** A folder as a destination: the de-identified files under `dir`, named by `pattern`. */
const folderDestination = z
  .object({
    kind: z.literal('folder'),
    dir: z.string().min(1),
    pattern: z.string().min(1).default('{pseudonym}/{StudyInstanceUID}/{SOPInstanceUID}.dcm'),
    fileMode: z
      .string()
      .regex(/^0?[0-7]{3}$/, 'must be an octal file mode such as "0600"')
      .default('0600'),
  })
  .strict();

const profileOptions = z
  .object({
    retainSafePrivate: z.boolean().default(false),
    retainUids: z.boolean().default(false),
    retainDeviceIdentity: z.boolean().default(false),
    retainInstitutionIdentity: z.boolean().default(false),
    retainPatientCharacteristics: z.boolean().default(false),
    retainLongitudinalFullDates: z.boolean().default(false),
    retainLongitudinalModifiedDates: z.boolean().default(false),
    cleanDescriptors: z.boolean().default(false),
    cleanStructuredContent: z.boolean().default(false),
    cleanGraphics: z.boolean().default(false),
  })
  .strict()
  .refine((o) => !(o.retainLongitudinalFullDates && o.retainLongitudinalModifiedDates), {
    message: 'retainLongitudinalFullDates and retainLongitudinalModifiedDates exclude each other: choose one',
  });

const cron = z.string().min(1);

/** Rectangles to blank for one manufacturer, model and image size (Clean Pixel Data). */
const blankRule = z
  .object({
    manufacturer: z.string().min(1).max(64),
    model: z.string().min(1).max(64).optional(),
    rows: z.number().int().min(1).max(65535),
    columns: z.number().int().min(1).max(65535),
    /** [x, y, width, height] from the top-left corner, inside the image. */
    rectangles: z
      .array(
        z.tuple([
          z.number().int().min(0),
          z.number().int().min(0),
          z.number().int().min(1),
          z.number().int().min(1),
        ]),
      )
      .min(1),
  })
  .strict()
  .superRefine((r, ctx) => {
    r.rectangles.forEach(([x, y, w, h], i) => {
      if (x + w > r.columns || y + h > r.rows)
        ctx.addIssue({
          code: 'custom',
          path: ['rectangles', i],
          message: `[${x}, ${y}, ${w}, ${h}] reaches outside the ${r.columns} x ${r.rows} image`,
        });
    });
  });

const modalityList = z.array(z.string().regex(/^[A-Z0-9]{1,16}$/));
const sopClassList = z.array(z.string().regex(/^[0-9.]{1,64}$/));
const OCR_DEFAULTS = {
  ...DEFAULT_OCR_POLICY,
  sopClasses: [...DEFAULT_OCR_POLICY.sopClasses],
  modalities: [...DEFAULT_OCR_POLICY.modalities],
  quarantineSopClasses: [],
  quarantineModalities: [],
};

/**
 * OCR masking of burned-in text: the SOP classes and modalities it covers (the defaults: secondary
 * capture, ultrasound, OT, XC, ES and the other risky image classes), what it masks, and which
 * SOP classes or modalities are quarantined instead.
 */
const ocrPolicy = z
  .object({
    mode: z.enum(['mask-all-text', 'mask-identifying', 'off']).default(OCR_DEFAULTS.mode),
    sopClasses: sopClassList.default(OCR_DEFAULTS.sopClasses),
    modalities: modalityList.default(OCR_DEFAULTS.modalities),
    quarantineSopClasses: sopClassList.default([]),
    quarantineModalities: modalityList.default([]),
    maxFrames: z.number().int().min(1).max(10_000).default(OCR_DEFAULTS.maxFrames),
    maxDecodedMb: z.number().int().min(1).max(16_384).default(OCR_DEFAULTS.maxDecodedMb),
    maxCompressionRatio: z.number().min(2).max(1e9).default(OCR_DEFAULTS.maxCompressionRatio),
    maxSecondsPerInstance: z.number().min(1).max(86_400).default(OCR_DEFAULTS.maxSecondsPerInstance),
    padding: z.number().int().min(0).max(64).default(OCR_DEFAULTS.padding),
    maxMaskedFraction: z.number().gt(0).max(1).default(OCR_DEFAULTS.maxMaskedFraction),
    maskValue: z.number().int().min(-32768).max(65535).optional(),
  })
  .strict()
  .default(OCR_DEFAULTS);

/**
 * Pixel data policy: instances likely to carry burned-in identifying text are quarantined unless
 * the profile allows them, or blanks configured rectangles for their manufacturer, model and size.
 */
const pixelPolicy = z
  .object({
    /** Let instances whose BurnedInAnnotation is YES through (their pixels are not cleaned). */
    allowBurnedInAnnotation: z.boolean().default(false),
    /** Modalities or SOP class UIDs, from the risky lists, to let through anyway. */
    allowModalities: z.array(z.string().regex(/^[A-Z0-9]{1,16}$/)).default([]),
    allowSopClasses: z.array(z.string().regex(/^[0-9.]{1,64}$/)).default([]),
    blank: z.array(blankRule).default([]),
    ocr: ocrPolicy,
  })
  .strict()
  .default({
    allowBurnedInAnnotation: false,
    allowModalities: [],
    allowSopClasses: [],
    blank: [],
    ocr: OCR_DEFAULTS,
  });

export const profileName = z
  .string()
  .regex(/^[A-Za-z0-9_.-]{1,40}$/, 'must be 1-40 letters, digits, dot, dash or underscore');

/** A per-tag override: the tag by keyword or as "(GGGG,EEEE)". Checked further in config/profiles.ts. */
const tagOverride = z
  .object({
    tag: z.string().min(1).max(64),
    action: z.enum(['keep', 'remove', 'empty', 'replace']),
    value: z.string().max(10240).optional(),
    allowIdentifying: z.boolean().optional(),
    /** Why the override exists, for the next admin (not used by the engine). */
    reason: z.string().max(500).optional(),
  })
  .strict();

const hexByte = z.union([
  z.number().int().min(0).max(255),
  z.string().regex(/^(0x)?[0-9A-Fa-f]{1,2}$/, 'must be the element byte in hex, such as "23" or "0x9E"'),
]);

/** A safe-private entry added by the profile: private creator, odd group and element byte. */
const safePrivateEntry = z
  .object({
    creator: z.string().min(1).max(64),
    group: z
      .string()
      .regex(/^(0x)?[0-9A-Fa-f]{3}[13579BDFbdf]$/, 'must be an odd group in hex, such as "0019"'),
    element: hexByte,
  })
  .strict();

/** A profile's content, inline in the config or in config/profiles/<name>.json. */
export const profileBody = z
  .object({
    description: z.string().max(500).optional(),
    options: profileOptions,
    maxDateShiftDays: z.number().int().min(1).max(3650).default(365),
    /**
     * Free text that a Retain option (Patient Characteristics, Device Identity) marks C, such as
     * Allergies or Special Needs: "empty" (default) writes it empty, a value known not to identify;
     * "clean" keeps the text minus the instance's own identifying values (a name found nowhere else
     * in the instance would pass).
     */
    retainedFreeText: z.enum(['empty', 'clean']).default('empty'),
    pixelPolicy,
    overrides: z.array(tagOverride).default([]),
    safePrivate: z.array(safePrivateEntry).default([]),
  })
  .strict();
export type ProfileBody = z.infer<typeof profileBody>;
/** An inline main profile: a body with its name. Parsed by loadConfig, which reports its own paths. */
export const inlineProfile = profileBody.extend({ name: profileName }).strict();
export type InlineProfile = z.infer<typeof inlineProfile>;
const destinationName = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,30}$/, 'must be lower-case letters, digits and dashes, starting with a letter')
  .refine((n) => n !== 'research', '"research" is the main destination; give others another name');

/** A routing rule: every criterion given must hold; the first rule that matches a study decides. */
const route = z
  .object({
    name: z.string().min(1).max(60),
    match: z
      .object({
        modalities: z
          .array(z.string().regex(/^[A-Z0-9]{1,16}$/, 'must be DICOM modality codes such as CT or MG'))
          .min(1)
          .optional(),
        studyDescription: z
          .string()
          .min(1)
          .refine((p) => {
            try {
              new RegExp(p, 'i');
              return true;
            } catch {
              return false;
            }
          }, 'must be a valid regular expression')
          .optional(),
        sourceAets: z.array(z.string().min(1).max(16)).min(1).optional(),
        minPatientAgeYears: z.number().min(0).max(150).optional(),
        maxPatientAgeYears: z.number().min(0).max(150).optional(),
        explorerRequested: z.boolean().optional(),
      })
      .strict()
      .default({}),
    profile: profileName.optional(),
    destinations: z.array(z.string().min(1)).min(1).default(['research']),
  })
  .strict();

export const fileConfigSchema = z
  .object({
    source: orthancServer,
    research: orthancServer,
    dataDir: z.string().min(1),
    api: z
      .object({
        host: z.string().min(1).default('127.0.0.1'),
        port: z.number().int().min(0).max(65535).default(8099),
        /** /healthz without a credential (load balancers, Docker health checks). */
        openHealth: z.boolean().default(true),
        /** /metrics without a credential (a Prometheus on a trusted network). */
        openMetrics: z.boolean().default(false),
        /**
         * After a failed attempt, the address (an IPv6 /64) is answered 429 for this long, doubling
         * per failure up to the max.
         */
        failureDelayMs: z.number().int().min(0).max(60_000).default(200),
        failureDelayMaxMs: z.number().int().min(0).max(600_000).default(5000),
        /** Failed attempts per minute from all addresses together; beyond, every credential waits for the next minute. */
        globalFailuresPerMinute: z.number().int().min(1).max(1_000_000).default(300),
        /** Rows per page of /api/reports and /api/metadata when the request sets no limit. */
        pageSize: z.number().int().min(1).max(100_000).default(1000),
        /** A client must send its request headers within this time, and the whole request within the next. */
        headersTimeoutMs: z.number().int().min(100).max(600_000).default(10_000),
        requestTimeoutMs: z.number().int().min(100).max(3_600_000).default(30_000),
        /** An idle keep-alive connection is closed after this time. */
        keepAliveTimeoutMs: z.number().int().min(100).max(600_000).default(5_000),
      })
      .strict(),
    log: z
      .object({
        level: z.enum(['error', 'warn', 'info', 'debug']).default('info'),
        file: z.boolean().default(true),
      })
      .strict(),
    feed: z
      .object({
        pollIntervalMs: z.number().int().min(50).max(3_600_000).default(2000),
        batchSize: z.number().int().min(1).max(10_000).default(100),
      })
      .strict(),
    pipeline: z
      .object({
        concurrency: z.number().int().min(1).max(64).default(4),
        /** Studies worked on at once; their instances share the `concurrency` slots. */
        studyConcurrency: z.number().int().min(1).max(16).default(2),
        maxAttempts: z.number().int().min(1).max(100).default(5),
        retryBaseMs: z.number().int().min(1).max(3_600_000).default(1000),
        retryMaxMs: z.number().int().min(1).max(86_400_000).default(60_000),
        /**
         * DICOM bytes in flight at once (pulled, not yet pushed); an instance larger than this runs
         * alone, but pixels whose decoding and masking need more are quarantined (never fit).
         */
        memoryBudgetMb: z.number().int().min(16).max(65_536).default(512),
        /** A deflated dataset may inflate to this much at most; above, it is quarantined (a deflate bomb). */
        maxInflatedMb: z.number().int().min(1).max(65_536).default(256),
      })
      .strict(),
    /** The main profile: a name (a file in profilesDir or the built-in profiles) or inline. */
    profile: z.custom<string | InlineProfile>((v) => v !== undefined && v !== null, 'is required'),
    /** Where admins keep profile files (<name>.json); the built-in config/profiles is searched after it. */
    profilesDir: z.string().min(1).optional(),
    /** Reversible pseudonyms: the PEM file of the X25519 public key identities are sealed to. */
    reidentification: z
      .object({ publicKeyFile: z.string().min(1).optional() })
      .strict()
      .default({}),
    /** More inline profiles, by name, for routing rules (files in profilesDir need no entry here). */
    profiles: z.record(profileName, profileBody).default({}),
    /** More research destinations besides `research`, by name. */
    destinations: z
      .record(destinationName, z.union([dimseDestination, folderDestination, destination]))
      .default({}),
    routes: z.array(route).default([]),
    schedules: z
      .object({
        reconcile: cron.nullable().default(null),
        retry: cron.nullable().default(null),
        report: cron.nullable().default(null),
      })
      .strict(),
    /**
     * Where the bridge keeps its state: without a URL, the embedded SQLite in dataDir (one
     * machine); with one, PostgreSQL shared by every replica (the password comes from
     * BRIDGE_STATE_PASSWORD(_FILE), never from here).
     */
    state: z
      .object({
        url: z
          .string()
          .regex(/^postgres(ql)?:\/\//, 'must be a postgres://USER@HOST:PORT/DB address')
          .optional(),
        /** PEM certificates the server's must chain to; set to require TLS. */
        caFile: z.string().min(1).optional(),
        /** How long a lost connection (a restart, a failover) is waited out before the bridge stops. */
        retryForMs: z.number().int().min(1000).max(3_600_000).default(60_000),
        poolSize: z.number().int().min(2).max(100).default(8),
      })
      .strict()
      .default({ retryForMs: 60_000, poolSize: 8 }),
    /** This process among the replicas sharing one state database. */
    replica: z
      .object({
        /** Its name on claims, in status and logs; host name and process ID by default. */
        id: z
          .string()
          .regex(/^[A-Za-z0-9._:@-]{1,100}$/, 'must be 1-100 letters, digits or . _ : @ -')
          .optional(),
        /** A claim not renewed for this long is taken over by another replica. */
        leaseMs: z.number().int().min(1000).max(600_000).default(30_000),
        /** How often claims are renewed, the leader lock checked and the replica shown alive. */
        heartbeatMs: z.number().int().min(200).max(120_000).default(5_000),
      })
      .strict()
      .default({ leaseMs: 30_000, heartbeatMs: 5_000 }),
    /**
     * Where per-study reports, exports and daily reports are written: dataDir by default. With
     * several replicas, a folder they all mount (each replica writes the studies it ran).
     */
    reportsDir: z.string().min(1).optional(),
    explorerMetadataKey: z.number().int().min(1024).max(65535).default(1025),
    processedMetadataKey: z.number().int().min(1024).max(65535).default(1024),
    export: z
      .object({
        metadataTags: z
          .array(z.string().regex(/^[A-Za-z][A-Za-z0-9]*$/, 'must be DICOM keywords such as ImageLaterality'))
          .min(1),
      })
      .strict()
      .default({
        metadataTags: [
          'Modality',
          'ImageLaterality',
          'ViewPosition',
          'StudyDate',
          'BodyPartExamined',
          'Manufacturer',
          'SeriesDescription',
          'InstanceNumber',
          'Rows',
          'Columns',
        ],
      }),
  })
  .strict();

export type FileConfig = z.infer<typeof fileConfigSchema>;
