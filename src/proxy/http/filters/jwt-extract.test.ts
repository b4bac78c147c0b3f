// proxy/http/filters: tests for jwt_authn token extraction — every prefix occurrence, in any case, is a token to verify.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Extractor } from './jwt-extract.ts';
import type { JwtProviderConfig } from '../../config/authz-types.ts';

const provider = (over: Partial<JwtProviderConfig> = {}): JwtProviderConfig => ({
  name: 'p', issuer: 'iss', audiences: [], requireExpiration: false, jwks: '{"keys":[]}',
  locations: [{ kind: 'header', name: 'authorization', prefix: 'Bearer ' }], forward: true, padForwardPayloadHeader: false,
  clockSkewSeconds: 60, claimToHeaders: [], spaceDelimitedClaims: [], ...over,
});

const tokens = (headers: string[]) => new Extractor([provider()]).extract({ path: '/', headers }).map((f) => f.token);

test('every occurrence of the header prefix is extracted, whatever its case', () => {
  assert.deepEqual(tokens(['authorization', 'Bearer a.b.c']), ['a.b.c']);
  assert.deepEqual(tokens(['authorization', 'bearer a.b.c']), ['a.b.c']);
  // a second token spelled with another case must be verified too, not forwarded unchecked beside a good one
  assert.deepEqual(tokens(['authorization', 'Bearer a.b.c, bearer x.y.z']), ['a.b.c', 'x.y.z']);
  assert.deepEqual(tokens(['authorization', 'BEARER x.y.z', 'authorization', 'Bearer a.b.c']), ['x.y.z', 'a.b.c']);
  assert.deepEqual(tokens(['authorization', 'Basic dXNlcg==']), []);
});
