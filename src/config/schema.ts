import { z } from 'zod';

const url = z
  .string()
  .url('must be a URL such as http://127.0.0.1:8042')
  .refine((u) => /^https?:\/\//.test(u), 'must start with http:// or https://')
  .transform((u) => u.replace(/\/+$/, ''));

/** Fields a folder-sink file name may use; every value is sanitised before use. */
export const SINK_FIELDS = [
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
  })
  .strict();

const orthancServer = z
  .object({
    url,
    username: z.string().min(1).optional(),
    // Passwords come from the environment or a file, never from a config file.
    passwordFile: z.string().min(1).optional(),
    timeoutMs: z.number().int().min(100).max(600_000).default(30_000),
    /** Research only: also write each de-identified file to a folder. */
    folderSink: folderSink.optional(),
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
    cleanDescriptors: z
      .literal(false, {
        message:
          'automatic cleaning of descriptors is not available yet; leave it false (descriptors are then removed as the basic profile says)',
      })
      .default(false),
    cleanStructuredContent: z
      .literal(false, {
        message: 'automatic cleaning of structured content is not available yet; leave it false',
      })
      .default(false),
    cleanGraphics: z
      .literal(false, { message: 'automatic cleaning of graphics is not available yet; leave it false' })
      .default(false),
  })
  .strict()
  .refine((o) => !(o.retainLongitudinalFullDates && o.retainLongitudinalModifiedDates), {
    message: 'retainLongitudinalFullDates and retainLongitudinalModifiedDates exclude each other: choose one',
  });

const cron = z.string().min(1);

export const fileConfigSchema = z
  .object({
    source: orthancServer,
    research: orthancServer,
    dataDir: z.string().min(1),
    api: z
      .object({
        host: z.string().min(1).default('127.0.0.1'),
        port: z.number().int().min(0).max(65535).default(8099),
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
        maxAttempts: z.number().int().min(1).max(100).default(5),
        retryBaseMs: z.number().int().min(1).max(3_600_000).default(1000),
        retryMaxMs: z.number().int().min(1).max(86_400_000).default(60_000),
      })
      .strict(),
    profile: z
      .object({
        name: z
          .string()
          .regex(/^[A-Za-z0-9_.-]{1,40}$/, 'must be 1-40 letters, digits, dot, dash or underscore'),
        options: profileOptions,
        maxDateShiftDays: z.number().int().min(1).max(3650).default(365),
      })
      .strict(),
    schedules: z.object({ reconcile: cron.nullable().default(null) }).strict(),
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
