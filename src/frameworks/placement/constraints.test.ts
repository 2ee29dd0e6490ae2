import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidArgumentError } from '../../core/errors.js';
import { constraintText, parseConstraint, parseConstraints, readField } from './constraints.js';

test('the array form and the object form parse to the same constraint', () => {
  assert.deepEqual(parseConstraint(['hostname', 'UNIQUE'], 'c'), { field: 'hostname', operator: 'UNIQUE' });
  assert.deepEqual(parseConstraint(['rack', 'GROUP_BY', '3'], 'c'), {
    field: 'rack',
    operator: 'GROUP_BY',
    value: '3',
  });
  assert.deepEqual(parseConstraint({ field: 'zone', operator: 'LIKE', value: 'a|b' }, 'c'), {
    field: 'zone',
    operator: 'LIKE',
    value: 'a|b',
  });
  assert.deepEqual(parseConstraint(['rack', 'max_per', 2], 'c'), {
    field: 'rack',
    operator: 'MAX_PER',
    value: '2',
  });
  assert.deepEqual(parseConstraint(['rack', 'CLUSTER'], 'c'), { field: 'rack', operator: 'CLUSTER' });
  assert.deepEqual(parseConstraint(['rack', 'GROUP_BY', ''], 'c'), { field: 'rack', operator: 'GROUP_BY' });
});

test('bad constraints throw one line naming the path', () => {
  const cases: Array<[unknown, RegExp]> = [
    [
      ['hostname', 'UNIQUX'],
      /^constraints\[1\]: unknown operator "UNIQUX" \(one of UNIQUE, CLUSTER, GROUP_BY/,
    ],
    [['zone', 'LIKE', 'a(b'], /^constraints\[1\]: bad regular expression "a\(b" for LIKE$/],
    [['zone', 'UNLIKE'], /^constraints\[1\]: UNLIKE needs a regular expression/],
    [['rack', 'MAX_PER'], /^constraints\[1\]: MAX_PER needs a count/],
    [['rack', 'MAX_PER', 'two'], /^constraints\[1\]: MAX_PER needs a positive whole count, got "two"$/],
    [['rack', 'GROUP_BY', '0'], /^constraints\[1\]: GROUP_BY needs a positive whole count, got "0"$/],
    [['rack', 'GROUP_BY', '1.5'], /GROUP_BY needs a positive whole count/],
    [['zone', 'IS'], /^constraints\[1\]: IS needs a value/],
    [['hostname', 'UNIQUE', 'x'], /^constraints\[1\]: UNIQUE takes no value$/],
    [['', 'UNIQUE'], /^constraints\[1\]: the field must be a non-empty string/],
    [['hostname'], /^constraints\[1\]: expected \[field, operator\]/],
    [['a', 'IS', 'b', 'c'], /got 4 items/],
    ['hostname:UNIQUE', /^constraints\[1\]: expected \["field", "OPERATOR", "value"\]/],
    [{ field: 'rack', operator: 3 }, /^constraints\[1\]: the operator must be a string/],
    [{ field: 'rack', operator: 'IS', value: {} }, /^constraints\[1\]: the value must be a string$/],
  ];
  for (const [input, message] of cases)
    assert.throws(
      () => parseConstraint(input, 'constraints[1]'),
      (err: unknown) => err instanceof InvalidArgumentError && message.test(err.message),
      `for ${JSON.stringify(input)}`,
    );
});

test('parseConstraints names the index of the bad entry and accepts absence', () => {
  assert.deepEqual(parseConstraints(undefined), []);
  assert.equal(parseConstraints([['hostname', 'UNIQUE']]).length, 1);
  assert.throws(
    () =>
      parseConstraints(
        [
          ['hostname', 'UNIQUE'],
          ['rack', 'NOPE'],
        ],
        'spec.constraints',
      ),
    /^InvalidArgumentError: spec\.constraints\[1\]: unknown operator "NOPE"/,
  );
  assert.throws(() => parseConstraints('hostname:UNIQUE'), /constraints: expected a list of constraints/);
});

test('readField reads the hostname or an attribute, never an inherited property', () => {
  const src = { hostname: 'h1', attributes: { rack: 'r1' } };
  assert.equal(readField('hostname', src), 'h1');
  assert.equal(readField('rack', src), 'r1');
  assert.equal(readField('zone', src), undefined);
  assert.equal(readField('toString', src), undefined);
});

test('constraintText is the text used in reasons', () => {
  assert.equal(constraintText({ field: 'hostname', operator: 'UNIQUE' }), 'UNIQUE hostname');
  assert.equal(constraintText({ field: 'zone', operator: 'LIKE', value: 'a|b' }), 'LIKE zone ~ a|b');
  assert.equal(constraintText({ field: 'zone', operator: 'IS', value: 'a' }), 'IS zone = a');
  assert.equal(constraintText({ field: 'rack', operator: 'MAX_PER', value: '2' }), 'MAX_PER rack 2');
  assert.equal(constraintText({ field: 'rack', operator: 'GROUP_BY' }), 'GROUP_BY rack');
});
