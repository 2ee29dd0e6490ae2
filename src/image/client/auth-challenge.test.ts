import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAuthChallenge, tokenUrl } from './auth-challenge.js';

describe('WWW-Authenticate challenges', () => {
  it('parses Bearer with quoted params, commas inside quotes included', () => {
    assert.deepEqual(
      parseAuthChallenge(
        'Bearer realm="http://127.0.0.1:5001/token",service="berth registry",scope="repository:a/b:pull,push"',
      ),
      {
        scheme: 'bearer',
        params: {
          realm: 'http://127.0.0.1:5001/token',
          service: 'berth registry',
          scope: 'repository:a/b:pull,push',
        },
      },
    );
  });

  it('parses Basic, unquoted values and odd spacing; skips schemes it does not speak', () => {
    assert.deepEqual(parseAuthChallenge('basic  Realm=reg'), { scheme: 'basic', params: { realm: 'reg' } });
    assert.deepEqual(parseAuthChallenge('Negotiate abc, Basic realm="x\\"y"'), {
      scheme: 'basic',
      params: { realm: 'x"y' },
    });
    assert.deepEqual(parseAuthChallenge(['Digest nonce="n", qop=auth', 'Bearer realm="http://h/t"']), {
      scheme: 'bearer',
      params: { realm: 'http://h/t' },
    });
    assert.equal(parseAuthChallenge('Negotiate'), undefined);
    assert.equal(parseAuthChallenge(undefined), undefined);
  });

  it('asks the token service for the challenge scope and the wanted ones, each once', () => {
    const url = tokenUrl(
      {
        scheme: 'bearer',
        params: { realm: 'http://h:1/token?x=1', service: 's', scope: 'repository:a:pull' },
      },
      ['repository:a:pull', 'repository:b:pull,push'],
    );
    assert.equal(url.origin + url.pathname, 'http://h:1/token');
    assert.equal(url.searchParams.get('x'), '1');
    assert.equal(url.searchParams.get('service'), 's');
    assert.deepEqual(url.searchParams.getAll('scope'), ['repository:a:pull', 'repository:b:pull,push']);
  });
});
