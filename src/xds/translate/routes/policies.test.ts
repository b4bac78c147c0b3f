// xds/translate/routes: unit tests for retries, timeouts, faults, CORS, mirrors and hash policies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  translateRetry, routeTimeout, translateFault, translateCors, mirrorFraction, hashPolicyOf, consistentHashFor, DEFAULT_RETRY_ON,
} from './policies.ts';
import type { MeshConfig } from '../../../model/types.ts';

const mesh = (p?: MeshConfig['defaultHttpRetryPolicy']): MeshConfig => ({ defaultHttpRetryPolicy: p } as MeshConfig);

test('default retry policy is Istio\'s; consistent hashing drops the previous-hosts predicate', () => {
  const d = translateRetry(undefined, undefined, false)!;
  assert.equal(d.retry_on, DEFAULT_RETRY_ON);
  assert.deepEqual(d.num_retries, { value: 2 });
  assert.deepEqual(d.retriable_status_codes, [503]);
  assert.equal((d.retry_host_predicate as any[]).length, 1);
  assert.equal(translateRetry(undefined, undefined, true)!.retry_host_predicate, undefined);
});

test('VirtualService retries override; numeric retryOn entries are status codes; attempts 0 disables', () => {
  const r = translateRetry({ attempts: 5, retryOn: '5xx,404', perTryTimeout: '250ms' }, undefined, false)!;
  assert.equal(r.retry_on, '5xx,retriable-status-codes');
  assert.deepEqual(r.retriable_status_codes, [404]);
  assert.deepEqual(r.per_try_timeout, { seconds: 0, nanos: 250000000 });
  assert.equal(translateRetry({ attempts: 0 }, undefined, false), undefined);
  assert.equal(translateRetry({ retryOn: '5xx' }, undefined, false), undefined, 'attempts unset counts as 0 when retries is given');
  const noCodes = translateRetry({ attempts: 1, retryOn: 'reset' }, undefined, false)!;
  assert.equal(noCodes.retriable_status_codes, undefined);
});

test('mesh defaultHttpRetryPolicy applies when the route sets none', () => {
  assert.equal(translateRetry(undefined, mesh({ attempts: 0 }), false), undefined);
  assert.deepEqual(translateRetry(undefined, mesh({ attempts: 7, retryOn: 'gateway-error' }), false)!.num_retries, { value: 7 });
  assert.deepEqual(translateRetry({ attempts: 1 }, mesh({ attempts: 7 }), false)!.num_retries, { value: 1 });
});

test('timeouts: route, else mesh default, else disabled', () => {
  assert.deepEqual(routeTimeout('3s', undefined), { seconds: 3 });
  assert.deepEqual(routeTimeout(undefined, { defaultTimeout: '10s' } as MeshConfig), { seconds: 10 });
  assert.deepEqual(routeTimeout(undefined, undefined), { seconds: 0 });
  // a bare "0" is a Go duration (0s, no timeout) and wins over the mesh default; a negative one is skipped
  assert.deepEqual(routeTimeout('0', { defaultTimeout: '10s' } as MeshConfig), { seconds: 0 });
  assert.deepEqual(routeTimeout('-1s', { defaultTimeout: '10s' } as MeshConfig), { seconds: 10 });
});

test('fault: percentages per million, integer percent per hundred, unsupported kinds dropped', () => {
  assert.equal(translateFault(undefined), undefined);
  assert.equal(translateFault({ delay: { exponentialDelay: '1s' } }), undefined);
  const f = translateFault({ delay: { fixedDelay: '2s' }, abort: { httpStatus: 503, percentage: { value: 0.1 } } })!;
  assert.deepEqual(f.delay, { fixed_delay: { seconds: 2 }, percentage: { numerator: 0, denominator: 'HUNDRED' } }, 'no percentage: no request delayed');
  assert.deepEqual(f.abort, { percentage: { numerator: 1000, denominator: 'MILLION' }, http_status: 503 });
  assert.deepEqual(translateFault({ abort: { grpcStatus: 'DEADLINE_EXCEEDED' } })!.abort, { grpc_status: 4 });
});

test('mirror percentage: explicit 0 disables, default 100%', () => {
  assert.equal(mirrorFraction({ value: 0 }), undefined);
  assert.deepEqual(mirrorFraction(undefined), { default_value: { numerator: 100, denominator: 'HUNDRED' } });
  assert.deepEqual(mirrorFraction(undefined, 30), { default_value: { numerator: 30, denominator: 'HUNDRED' } });
  assert.deepEqual(mirrorFraction({ value: 1.5 }), { default_value: { numerator: 15000, denominator: 'MILLION' } });
});

test('cors: deprecated allowOrigin as exact matches; FORWARD by default', () => {
  const c = translateCors({ allowOrigin: ['https://a'], maxAge: '90s' })!;
  assert.deepEqual(c.allow_origin_string_match, [{ exact: 'https://a' }]);
  assert.equal(c.max_age, '90');
  assert.deepEqual(c.forward_not_matching_preflights, { value: true });
  assert.deepEqual(c.filter_enabled, { default_value: { numerator: 100, denominator: 'HUNDRED' } });
});

test('hash policies and their precedence: subset port > subset > port > top level', () => {
  assert.deepEqual(hashPolicyOf({ httpHeaderName: 'x' }), { header: { header_name: 'x' } });
  assert.deepEqual(hashPolicyOf({ httpCookie: { name: 'c', ttl: '10s' } }), { cookie: { name: 'c', ttl: { seconds: 10 } } });
  assert.equal(hashPolicyOf({ ringHash: { minimumRingSize: 5 } }), undefined);
  const dr = {
    host: 'h',
    trafficPolicy: { loadBalancer: { consistentHash: { httpHeaderName: 'top' } }, portLevelSettings: [{ port: { number: 80 }, loadBalancer: { consistentHash: { httpHeaderName: 'port' } } }] },
    subsets: [{ name: 's', trafficPolicy: { loadBalancer: { consistentHash: { httpHeaderName: 'subset' } }, portLevelSettings: [{ port: { number: 80 }, loadBalancer: { consistentHash: { httpHeaderName: 'subset-port' } } }] } }],
  };
  assert.equal(consistentHashFor(dr, {}, undefined)?.httpHeaderName, 'top');
  assert.equal(consistentHashFor(dr, {}, 80)?.httpHeaderName, 'port');
  assert.equal(consistentHashFor(dr, { subset: 's' }, undefined)?.httpHeaderName, 'subset');
  assert.equal(consistentHashFor(dr, { subset: 's' }, 80)?.httpHeaderName, 'subset-port');
});
