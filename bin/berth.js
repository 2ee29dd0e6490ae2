#!/usr/bin/env node
// `berth run …` goes to a small fast path first (no commander, no other command loaded), which hands back
// what it does not handle; every other command goes straight to the full CLI.
// A reader that went away (`berth ps | head -1`) ends the command quietly, as SIGPIPE ends a C program.
process.stdout.on('error', (err) => {
  if (err.code !== 'EPIPE') throw err;
  process.exit(141);
});
try {
  const fast = process.argv[2] === 'run' ? await import('../dist/src/cli/fast-run.js') : undefined;
  const code = await fast?.fastRun(process.argv);
  process.exitCode = code ?? (await (await import('../dist/src/cli/main.js')).main(process.argv));
} catch (err) {
  process.stderr.write(`berth: internal error: ${err?.stack ?? err}\n`);
  process.exitCode = 70;
}
