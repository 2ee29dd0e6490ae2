import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseDockerfile, parseJsonForm } from './parse.js';

describe('parseDockerfile', () => {
  it('reads instructions, keywords in any case, comments and blank lines', () => {
    const out = parseDockerfile('# a comment\n\nfrom busybox\n  run echo hi   \nCMD ["sh", "-c", "echo"]\n');
    assert.deepEqual(
      out.map((i) => [i.keyword, i.args, i.line]),
      [
        ['FROM', 'busybox', 3],
        ['RUN', 'echo hi', 4],
        ['CMD', '["sh", "-c", "echo"]', 5],
      ],
    );
    assert.deepEqual(out[2]?.json, ['sh', '-c', 'echo']);
    assert.equal(out[1]?.json, undefined);
  });

  it('joins continuation lines and drops comments inside them', () => {
    const out = parseDockerfile('RUN echo a \\\n# inner comment\n    && echo b \\\n\n    && echo c\nENV A=1');
    assert.equal(out.length, 2);
    assert.equal(out[0]?.args, 'echo a && echo b && echo c');
    assert.equal(out[0]?.line, 1);
    assert.equal(out[1]?.line, 6);
  });

  it('honors the escape directive', () => {
    const out = parseDockerfile('# escape=`\nRUN dir c:\\ `\n  && echo x');
    assert.equal(out[0]?.args, 'dir c:\\ && echo x');
  });

  it('reads COPY flags', () => {
    const [copy] = parseDockerfile('COPY --chown=1:2 --chmod=0755 a b /dst/');
    assert.deepEqual(copy?.flags, { chown: '1:2', chmod: '0755' });
    assert.equal(copy?.args, 'a b /dst/');
  });

  it('treats a malformed JSON array as the shell form', () => {
    assert.equal(parseJsonForm('[not json'), undefined);
    assert.equal(parseJsonForm('["a", 1]'), undefined);
    assert.deepEqual(parseJsonForm('[]'), []);
  });

  it('refuses garbage keywords with the line number', () => {
    assert.throws(() => parseDockerfile('FROM x\n{{{ oops'), /line 2/);
  });

  it('property: any list of simple instructions round-trips through text with continuations', () => {
    // A leading "--" would be an instruction flag (RUN --mount=…), which the text form does not round-trip.
    const word = fc.stringMatching(/^[a-z0-9_./][a-z0-9_./-]{0,7}$/);
    const instr = fc.record({
      keyword: fc.constantFrom('RUN', 'ENV', 'LABEL', 'WORKDIR', 'EXPOSE'),
      words: fc.array(word, { minLength: 1, maxLength: 5 }),
      split: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(instr, { maxLength: 8 }), (list) => {
        const text = list
          .map((i) => `${i.keyword} ${i.split ? i.words.join(' \\\n  ') : i.words.join(' ')}`)
          .join('\n# c\n\n');
        const parsed = parseDockerfile(text);
        assert.deepEqual(
          parsed.map((p) => [p.keyword, p.args]),
          list.map((i) => [i.keyword, i.words.join(' ')]),
        );
      }),
    );
  });
});
