/** bridge reprocess, check-consistency: re-derive research copies after a key or profile change. */
import { formatSummary } from '../app';
import { UsageError } from '../errors';
import type { ReprocessTarget } from '../pipeline/admin';
import { orthancIdArg, withApp, type Cli } from './common';

export function registerReprocess(cli: Cli): void {
  cli.program
    .command('reprocess')
    .description('re-derive the research copy under the current key and profile and replace it')
    .option('--study <orthancStudyId>', 'one source study')
    .option('--patient <pseudonym>', 'every study of one research patient')
    .option('--all', 'every study the bridge has carried')
    .action((o: { study?: string; patient?: string; all?: boolean }) =>
      withApp(cli, async (app) => {
        const chosen = [o.study, o.patient, o.all].filter((v) => v !== undefined).length;
        if (chosen !== 1) throw new UsageError('reprocess: give exactly one of --study, --patient, --all');
        if (o.study !== undefined) orthancIdArg('--study', o.study);
        if (o.patient !== undefined && !/^[A-Z0-9]{4,64}$/.test(o.patient))
          throw new UsageError('--patient: a pseudonym is upper-case letters and digits');
        const target: ReprocessTarget = o.study
          ? { study: o.study }
          : o.patient
            ? { patient: o.patient }
            : { all: true };
        await app.service.reprocess(target);
        const summary = await app.runOnce({ poll: false });
        console.log(formatSummary(summary));
        cli.exitCode = summary.ok ? 0 : 1;
      }),
    );

  cli.program
    .command('check-consistency')
    .description(
      'research studies whose pseudonym, UIDs or content disagree with the current key and profile',
    )
    .option('--json', 'print JSON')
    .action((o: { json?: boolean }) =>
      withApp(cli, async (app) => {
        const problems = await app.service.checkConsistency();
        if (o.json) console.log(JSON.stringify(problems, null, 2));
        else {
          for (const p of problems)
            console.log(
              `${p.sourceStudyId}\t${p.researchStudyId ?? '-'}\t${p.pseudonym ?? '-'}\t${p.problems.join('; ')}`,
            );
          console.log(`${problems.length} inconsistent stud${problems.length === 1 ? 'y' : 'ies'}`);
        }
        cli.exitCode = problems.length === 0 ? 0 : 1;
      }),
    );
}
