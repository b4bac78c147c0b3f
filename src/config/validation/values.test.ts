// config/validation: tests for value checks — addresses, host names, header values, regexes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cidrProblem, fqdnProblem, headerValueProblem, partialWildcardProblem, protocolProblem, regexProblem, wildcardDomainProblem } from './values.ts';

test('cidrProblem accepts addresses and prefixes of the right size only', () => {
  for (const ok of ['1.2.3.4', '10.0.0.0/8', '2001:db8::/32', '001:db8::', '1.1.1.1/32']) assert.equal(cidrProblem(ok), undefined, ok);
  for (const bad of ['1.2.3.4/33', '2001:db8::/129', '1.2.3/8', 'example.com', '1.2.3.4/x', '1.2.3.4/8/8']) assert.ok(cidrProblem(bad), bad);
  assert.ok(cidrProblem('1.2.3.4', false));
});

test('host names: wildcard only as (a prefix of) the first label; numeric TLDs rejected', () => {
  for (const ok of ['reviews', 'reviews.default.svc.cluster.local', '*.example.com', '*', '*x', '*-foo.example.com', 'istio.io.']) assert.equal(wildcardDomainProblem(ok), undefined, ok);
  for (const bad of ['foo.*.com', 'a..b', 'ex_ample.com', '1.2.3.4', '', '-a.com', 'a'.repeat(64) + '.com']) assert.ok(wildcardDomainProblem(bad), bad);
  assert.ok(fqdnProblem('*.example.com'));
  assert.equal(partialWildcardProblem('*x'), 'partial wildcard "*x" not allowed');
  assert.equal(partialWildcardProblem('*.x'), undefined);
});

test('header values follow Envoy formatting; regexes must be RE2-compatible', () => {
  assert.equal(headerValueProblem('%HOSTNAME%'), undefined);
  assert.equal(headerValueProblem('100%%'), undefined);
  assert.equal(headerValueProblem('a %REQ(x-foo)% b'), undefined);
  assert.ok(headerValueProblem('abc%123'));
  assert.ok(headerValueProblem('x\ny'));
  assert.equal(regexProblem('^/api/v[0-9]+/.*'), undefined);
  assert.equal(regexProblem('(?i)^abc'), undefined);
  assert.equal(regexProblem('(?P<name>a+)'), undefined);
  assert.match(regexProblem('a(?=b)')!, /look-around/);
  assert.match(regexProblem('(a)\\1')!, /back-references/);
  assert.match(regexProblem('([a-z]')!, /invalid regex/);
  assert.match(regexProblem('a'.repeat(1025))!, /too large/);
  assert.equal(protocolProblem('grpc-web'), undefined);
  assert.match(protocolProblem('SPDY')!, /unsupported protocol: SPDY/);
});
