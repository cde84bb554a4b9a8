#!/usr/bin/env -S MALLOC_ARENA_MAX=2 node --max-semi-space-size=2 --heap-growing-percent=50
// The `bridge` command (package.json "bin"): the command line lives in cli/, one file per command group.
// The flags bound peak RSS (docs/PERFORMANCE.md). `--max-semi-space-size=2` keeps V8's young
// generation small (2 MB semi-spaces instead of 16 MB): the short-lived objects of each instance
// are collected often (165-201 MB instead of 231-247 MB on the benchmark corpus, at the same
// speed). `--heap-growing-percent=50` lets the old generation grow by half its live size between
// full collections instead of up to four times: without it, what each instance's objects leave
// there grew the heap with the length of a run (peak RSS 208, 239, 277 MB at 1x, 4x, 16x the
// corpus; with it 211 MB at 4x and 219 MB at 16x).
// `MALLOC_ARENA_MAX=2`: glibc keeps two malloc arenas instead of up to eight per core, one per
// thread that allocates (libuv's pool, the worker threads); freed socket and transfer buffers then
// leave fewer half-empty arenas behind: peak RSS at 16x the corpus 214-235 MB over four runs
// without it, 208-219 MB over three with it (docs/PERFORMANCE.md).
// Run as `node dist/cli.js`, pass them yourself: `MALLOC_ARENA_MAX=2 node --max-semi-space-size=2 --heap-growing-percent=50 dist/cli.js`.
import './cli/index';
