import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidArgumentError } from '../core/errors.js';
import { resolveUser } from './user.js';

const passwd =
  'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\napp:x:1000:1001::/app:/bin/sh\n';
const group = 'root:x:0:\nstaff:x:50:\napp:x:1001:\n';

test('names and ids resolve as Docker resolves them', () => {
  assert.deepEqual(resolveUser('nobody', passwd, group), { uid: 65534, gid: 65534 });
  assert.deepEqual(resolveUser('app', passwd, group), { uid: 1000, gid: 1001 });
  assert.deepEqual(resolveUser('app:staff', passwd, group), { uid: 1000, gid: 50 });
  assert.deepEqual(resolveUser('1000', passwd, group), { uid: 1000, gid: 1001 }); // gid from passwd
  assert.deepEqual(resolveUser('4242', passwd, group), { uid: 4242, gid: 0 }); // not listed: gid 0
  assert.deepEqual(resolveUser('4242:7', '', ''), { uid: 4242, gid: 7 });
});

test('an unknown name is one clear error naming the file', () => {
  assert.throws(
    () => resolveUser('ghost', passwd, group),
    (err: unknown) => {
      assert.ok(err instanceof InvalidArgumentError);
      assert.match(err.message, /user "ghost" is not in the image's \/etc\/passwd/);
      return true;
    },
  );
  assert.throws(
    () => resolveUser('app:ghosts', passwd, group),
    /group "ghosts" is not in the image's \/etc\/group/,
  );
});
