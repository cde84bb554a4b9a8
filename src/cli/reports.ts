/** bridge report, export-metadata: the audit records and the metadata export. */
import { writeFileSync } from 'node:fs';
import { UsageError } from '../errors';
import { auditCsv, metadataCsv, metadataJson } from '../reports/format';
import { formatOption, orthancIdArg, withApp, type Cli } from './common';

export function registerReports(cli: Cli): void {
  cli.program
    .command('report')
    .description('audit records: one per study and job')
    .option('--since <date>', 'only records finished at or after this date (e.g. 2026-01-31)')
    .addOption(formatOption())
    .action((o: { since?: string; format: 'json' | 'csv' }) =>
      withApp(cli, async (app) => {
        if (o.since !== undefined && Number.isNaN(Date.parse(o.since)))
          throw new UsageError(`--since: "${o.since}" is not a date`);
        const records = await app.service.auditRecords({
          since: o.since ? new Date(o.since).toISOString() : undefined,
        });
        process.stdout.write(
          o.format === 'csv' ? auditCsv(records) : JSON.stringify(records, null, 2) + '\n',
        );
      }),
    );

  cli.program
    .command('export-metadata')
    .description('the configured tags of every de-identified instance on research')
    .option('--study <orthancStudyId>', 'one source study only')
    .option('--out <file>', 'write to a file instead of stdout')
    .addOption(formatOption())
    .action((o: { study?: string; out?: string; format: 'json' | 'csv' }) =>
      withApp(cli, async (app) => {
        if (o.study !== undefined) orthancIdArg('--study', o.study);
        const rows = await app.service.metadata({ sourceStudyId: o.study });
        const keywords = app.cfg.export.metadataTags.map((t) => t.keyword);
        const text =
          o.format === 'csv'
            ? metadataCsv(rows, keywords)
            : JSON.stringify(metadataJson(rows, keywords), null, 2) + '\n';
        if (o.out) {
          writeFileSync(o.out, text);
          console.log(`bridge: ${rows.length} instance(s) written to ${o.out}`);
        } else process.stdout.write(text);
      }),
    );
}
