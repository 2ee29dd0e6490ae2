import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { isBerthError } from '../core/errors.js';
import {
  computeOverlayOptions,
  isMountPoint,
  MOUNT_OPTIONS_MAX,
  mountOverlay,
  unmountOverlay,
} from './overlay.js';
import { makeTempDir } from './test-support.js';

const rootSkip = process.getuid?.() === 0 ? false : 'needs root to mount overlays';

test('options list lower dirs top first, with absolute paths', () => {
  const { options, cwd } = computeOverlayOptions({
    lowerDirs: ['/l/top', '/l/bottom'],
    upperDir: '/u',
    workDir: '/w',
    target: '/t',
  });
  assert.equal(options, 'lowerdir=/l/top:/l/bottom,upperdir=/u,workdir=/w');
  assert.equal(cwd, undefined);
});

test('too long for a page: lower dirs become relative to their common parent', () => {
  const parent = '/var/lib/berth/agent/work/layers';
  const lowerDirs = Array.from({ length: 45 }, (_, i) => `${parent}/sha256-${String(i).padStart(64, '0')}`);
  assert.ok(`lowerdir=${lowerDirs.join(':')}`.length > MOUNT_OPTIONS_MAX);
  const { options, cwd } = computeOverlayOptions({ lowerDirs, upperDir: '/u', workDir: '/w', target: '/t' });
  assert.equal(cwd, parent);
  assert.ok(options.length <= MOUNT_OPTIONS_MAX);
  assert.ok(options.startsWith(`lowerdir=sha256-${'0'.repeat(64)}:`));
});

test('still too long: refuses with a clear error', () => {
  const lowerDirs = Array.from({ length: 200 }, (_, i) => `/layers/${String(i).padStart(40, 'x')}`);
  assert.throws(
    () => computeOverlayOptions({ lowerDirs, upperDir: '/u', workDir: '/w', target: '/t' }),
    (err: unknown) =>
      isBerthError(err) && err.code === 'ERR_OVERLAY_MOUNT_FAILED' && /200 layers.*limit/.test(err.message),
  );
});

test('paths with "," or ":" are refused', () => {
  assert.throws(
    () => computeOverlayOptions({ lowerDirs: ['/a:b'], upperDir: '/u', workDir: '/w', target: '/t' }),
    (err: unknown) => isBerthError(err) && err.code === 'ERR_OVERLAY_MOUNT_FAILED',
  );
});

test('mount, write through the upper dir, unmount twice', { skip: rootSkip }, async (t) => {
  const base = makeTempDir('ovl');
  const target = join(base, 'merged');
  t.after(async () => {
    await unmountOverlay(target);
    rmSync(base, { recursive: true, force: true });
  });
  mkdirSync(join(base, 'low1'));
  mkdirSync(join(base, 'low2'));
  writeFileSync(join(base, 'low1/a'), 'top');
  writeFileSync(join(base, 'low2/a'), 'bottom');
  writeFileSync(join(base, 'low2/b'), 'only-bottom');
  const dirs = {
    lowerDirs: [join(base, 'low1'), join(base, 'low2')],
    upperDir: join(base, 'up'),
    workDir: join(base, 'wk'),
    target,
  };
  await mountOverlay(dirs);
  assert.ok(isMountPoint(target));
  assert.equal(readFileSync(join(target, 'a'), 'utf8'), 'top');
  assert.equal(readFileSync(join(target, 'b'), 'utf8'), 'only-bottom');
  writeFileSync(join(target, 'c'), 'new');
  assert.equal(readFileSync(join(base, 'up/c'), 'utf8'), 'new');
  await unmountOverlay(target);
  assert.ok(!isMountPoint(target));
  assert.ok(!existsSync(join(target, 'a')));
  await unmountOverlay(target); // not mounted: no error
});

test('mount with relative lower dirs (long option string) works', { skip: rootSkip }, async (t) => {
  const base = makeTempDir('ovl-long');
  const target = join(base, 'merged');
  t.after(async () => {
    await unmountOverlay(target);
    rmSync(base, { recursive: true, force: true });
  });
  const lowerDirs = Array.from({ length: 30 }, (_, i) =>
    join(base, 'layers', `layer-${String(i).padStart(100, '0')}`),
  );
  lowerDirs.forEach((dir, i) => {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `f${i}`), String(i));
  });
  assert.ok(
    computeOverlayOptions({ lowerDirs, upperDir: join(base, 'u'), workDir: join(base, 'w'), target }).cwd,
  );
  await mountOverlay({ lowerDirs, upperDir: join(base, 'u'), workDir: join(base, 'w'), target });
  assert.equal(readFileSync(join(target, 'f0'), 'utf8'), '0');
  assert.equal(readFileSync(join(target, 'f29'), 'utf8'), '29');
});

test("a failed mount is ERR_OVERLAY_MOUNT_FAILED with mount's reason", { skip: rootSkip }, async (t) => {
  const base = makeTempDir('ovl-bad');
  t.after(() => rmSync(base, { recursive: true, force: true }));
  await assert.rejects(
    mountOverlay({
      lowerDirs: [join(base, 'missing')],
      upperDir: join(base, 'u'),
      workDir: join(base, 'w'),
      target: join(base, 't'),
    }),
    (err: unknown) => isBerthError(err) && err.code === 'ERR_OVERLAY_MOUNT_FAILED' && err.message.length > 30,
  );
});
