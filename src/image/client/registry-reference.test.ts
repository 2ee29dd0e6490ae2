import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  hasRegistryHost,
  manifestReference,
  parseRegistryHost,
  parseRegistryReference,
  registryHostOf,
} from './registry-reference.js';

const DIGEST = `sha256:${'ab'.repeat(32)}`;

describe('registry references', () => {
  it('splits host with port, repository path, tag and digest', () => {
    assert.deepEqual(parseRegistryReference('127.0.0.1:5000/app:1'), {
      host: '127.0.0.1:5000',
      name: 'app',
      tag: '1',
      local: '127.0.0.1:5000/app:1',
    });
    assert.deepEqual(parseRegistryReference(`localhost/team/app@${DIGEST}`), {
      host: 'localhost',
      name: 'team/app',
      digest: DIGEST,
      local: `localhost/team/app@${DIGEST}`,
    });
    assert.equal(
      parseRegistryReference('registry.internal:5000/team/app').local,
      'registry.internal:5000/team/app:latest',
    );
  });

  it('asks the registry for the digest when there is one, else the tag', () => {
    assert.equal(manifestReference(parseRegistryReference(`h.local/a:1@${DIGEST}`)), DIGEST);
    assert.equal(manifestReference(parseRegistryReference('h.local/a')), 'latest');
  });

  it('has no default registry: a name without a host is local-only', () => {
    assert.equal(registryHostOf('busybox'), undefined);
    assert.equal(registryHostOf('team/app'), undefined);
    assert.equal(registryHostOf('localhost'), undefined);
    assert.equal(hasRegistryHost('busybox:latest'), false);
    assert.equal(hasRegistryHost('127.0.0.1:5000/busybox'), true);
    assert.equal(hasRegistryHost('Not A Reference'), false);
    assert.throws(() => parseRegistryReference('team/app:1', 'push'), {
      code: 'ERR_INVALID_REGISTRY_REFERENCE',
      message:
        'cannot push "team/app:1": it names no registry (berth has no default one); name the registry host, e.g. 127.0.0.1:5000/team/app:1',
    });
    assert.throws(() => parseRegistryReference('127.0.0.1:5000/App'), { code: 'ERR_INVALID_REFERENCE' });
  });

  it('checks bare hosts for login', () => {
    assert.equal(parseRegistryHost('127.0.0.1:5000'), '127.0.0.1:5000');
    assert.equal(parseRegistryHost('http://localhost:5000/'), 'localhost:5000');
    assert.throws(() => parseRegistryHost('a/b'), { code: 'ERR_INVALID_REGISTRY_HOST' });
    assert.throws(() => parseRegistryHost(''), { code: 'ERR_INVALID_REGISTRY_HOST' });
  });
});
