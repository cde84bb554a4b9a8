/** bridge quarantine list | show | release | discard: instances held back by a failed check. */
import { formatSummary } from '../app';
import { actor, quarantineIdArg, withApp, type Cli } from './common';

export function registerQuarantine(cli: Cli): void {
  const quarantine = cli.program.command('quarantine').description('instances held back by a failed check');
  quarantine
    .command('list')
    .description('open quarantine entries (reasons name the check and tag, never a value)')
    .option('--all', 'include discarded entries')
    .option('--summary', 'counts by check and reason (element and kind of value), most frequent first')
    .option('--json', 'print JSON')
    .action((o: { all?: boolean; json?: boolean; summary?: boolean }) =>
      withApp(cli, async (app) => {
        if (o.summary) {
          const summary = await app.service.quarantineSummary();
          if (o.json) return void console.log(JSON.stringify(summary, null, 2));
          for (const s of summary) console.log(`${String(s.count).padStart(7)}  ${s.reason}`);
          const total = summary.reduce((n, s) => n + s.count, 0);
          return void console.log(
            `${total} open entr${total === 1 ? 'y' : 'ies'} in ${summary.length} group(s)`,
          );
        }
        const entries = await app.service.quarantine({ includeDiscarded: o.all });
        if (o.json) return void console.log(JSON.stringify(entries, null, 2));
        for (const q of entries)
          console.log(`${q.id}\t${q.status}\t${q.studyId}\t${q.sourceId}\t${q.reason}`);
        console.log(`${entries.length} entr${entries.length === 1 ? 'y' : 'ies'}`);
      }),
    );
  quarantine
    .command('show <id>')
    .description('one entry in full')
    .action((id: string) =>
      withApp(cli, async (app) => {
        const q = await app.service.quarantineEntry(quarantineIdArg(id));
        if (!q) {
          console.error(`bridge: no quarantine entry ${id}`);
          cli.exitCode = 1;
          return;
        }
        console.log(JSON.stringify(q, null, 2));
      }),
    );
  quarantine
    .command('release <id>')
    .description('run the instance again under the current config, now')
    .action((id: string) =>
      withApp(cli, async (app) => {
        const r = await app.service.release(quarantineIdArg(id), actor());
        if (!r.released) {
          console.error(`bridge: no open quarantine entry ${id}`);
          cli.exitCode = 1;
          return;
        }
        const summary = await app.runOnce({ poll: false });
        const researchId = await app.service.instanceOnResearch(r.studyId!, r.sourceId!, r.destination!);
        const open = (await app.service.quarantine({ studyId: r.studyId })).find(
          (q) => q.sourceId === r.sourceId,
        );
        console.log(
          researchId
            ? `released: instance ${r.sourceId} is on research as ${researchId}`
            : `still quarantined: ${open?.reason ?? 'see bridge quarantine list'}`,
        );
        console.log(formatSummary(summary));
        cli.exitCode = researchId ? 0 : 1;
      }),
    );
  quarantine
    .command('discard <id>')
    .description('leave the instance out of research for good (it stays accounted for)')
    .action((id: string) =>
      withApp(cli, async (app) => {
        const r = await app.service.discard(quarantineIdArg(id), actor());
        if (!r.discarded) {
          console.error(`bridge: no open quarantine entry ${id}`);
          cli.exitCode = 1;
          return;
        }
        console.log(formatSummary(await app.runOnce({ poll: false })));
      }),
    );
}
