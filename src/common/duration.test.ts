// common: tests of the Go duration parser (time.ParseDuration syntax, as Istio reads durations) and its protobuf form.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDurationNs, nsToDuration, parseGoDuration } from './duration.ts';

test('parseGoDuration: the edge cases the three old parsers disagreed on', () => {
  const cases: Array<[string, number | undefined]> = [
    ['0', 0], ['+0', 0], ['-0', 0], ['0s', 0], ['-0s', 0],
    ['-1s', -1e9], ['+1s', 1e9],
    ['1.5s', 1.5e9], ['.5s', 5e8], ['1.s', 1e9],
    ['1h2m', 3_720e9], ['1h30m', 5_400e9], ['2m3.5s', 123.5e9], ['300ms', 3e8],
    ['1us', 1e3], ['1µs', 1e3], ['1μs', 1e3], ['7ns', 7],
    [' 1s', undefined], ['1s ', undefined], ['1 s', undefined],
    ['1', undefined], ['5', undefined], ['00', undefined],
    ['', undefined], ['-', undefined], ['+', undefined], ['--1s', undefined],
    ['1e3s', undefined], ['1x', undefined], ['s', undefined], ['.s', undefined], ['1s.', undefined], ['1hm', undefined],
    ['apple', undefined],
  ];
  for (const [input, want] of cases) assert.equal(parseGoDuration(input), want, JSON.stringify(input));
  assert.ok(!Object.is(parseGoDuration('-0s'), -0), 'never -0');
});

test('parseGoDuration: exact fractions, truncation below 1 ns, int64 range, non-strings', () => {
  assert.equal(parseGoDuration('0.1s'), 100_000_000); // no float error
  assert.equal(parseGoDuration('0.3333333333s'), 333_333_333); // truncates like Go
  assert.equal(parseGoDuration('1.0000000001s'), 1e9);
  assert.equal(parseGoDuration('2562047h'), 2_562_047 * 3_600e9); // within int64 ns
  assert.equal(parseGoDuration('2562048h'), undefined); // beyond int64 ns
  for (const v of [undefined, null, 5, {}, ['1s']]) assert.equal(parseGoDuration(v), undefined);
});

test('nsToDuration and formatDurationNs', () => {
  assert.deepEqual(nsToDuration(1.5e9), { seconds: 1, nanos: 500_000_000 });
  assert.deepEqual(nsToDuration(0), { seconds: 0, nanos: 0 });
  assert.deepEqual(nsToDuration(7), { seconds: 0, nanos: 7 });
  assert.deepEqual(nsToDuration(-1.5e9), { seconds: -1, nanos: -500_000_000 });
  assert.equal(formatDurationNs(2e9), '2s');
  assert.equal(formatDurationNs(1.5e6), '1500000ns');
  assert.equal(formatDurationNs(3e6), '3ms');
});
