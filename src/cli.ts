#!/usr/bin/env -S MALLOC_MMAP_THRESHOLD_=131072 node --max-semi-space-size=2
// The `bridge` command (package.json "bin"): the command line lives in cli/, one file per command group.
// Two memory settings keep peak RSS near the bytes in flight, at the same speed (docs/PERFORMANCE.md):
// V8's young generation small (2 MB semi-spaces instead of 16 MB), so the short-lived objects of
// each instance are collected often; and glibc's mmap threshold fixed at 128 KiB, so a freed
// DICOM buffer goes back to the system instead of staying in a heap that only grows over a long run.
// Run as `node dist/cli.js`, set them yourself:
//   MALLOC_MMAP_THRESHOLD_=131072 node --max-semi-space-size=2 dist/cli.js
import './cli/index';
