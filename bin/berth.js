#!/usr/bin/env node
// `berth run …` goes to a small fast path first (no commander, no other command loaded), which hands back
// what it does not handle; every other command goes straight to the full CLI.
try {
  const fast = process.argv[2] === 'run' ? await import('../dist/src/cli/fast-run.js') : undefined;
  const code = await fast?.fastRun(process.argv);
  process.exitCode = code ?? (await (await import('../dist/src/cli/main.js')).main(process.argv));
} catch (err) {
  process.stderr.write(`berth: internal error: ${err?.stack ?? err}\n`);
  process.exitCode = 70;
}
