// proxy/tls: x-forwarded-client-cert modes — plaintext never carries a client's claim; mTLS appends or sets this hop.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyXfcc } from './xfcc.ts';
import type { PeerIdentity } from './peer.ts';

const peer: PeerIdentity = { principal: 'spiffe://td/ns/a/sa/client', uris: ['spiffe://td/ns/a/sa/client'], dns: [], hash: 'ab12', subject: '', localPrincipal: 'spiffe://td/ns/b/sa/server' };
const hop = 'By=spiffe://td/ns/b/sa/server;Hash=ab12;Subject="";URI=spiffe://td/ns/a/sa/client';
const forged = ['host', 'x', 'x-forwarded-client-cert', 'URI=spiffe://td/ns/kube-system/sa/admin'];

test('plaintext: a client-supplied header is removed whatever the mode (but ALWAYS_FORWARD_ONLY)', () => {
  for (const mode of ['SANITIZE', 'FORWARD_ONLY', 'APPEND_FORWARD', 'SANITIZE_SET']) {
    const h = [...forged];
    applyXfcc(h, mode, undefined);
    assert.deepEqual(h, ['host', 'x'], mode);
  }
  const h = [...forged];
  applyXfcc(h, 'ALWAYS_FORWARD_ONLY', undefined);
  assert.deepEqual(h, forged);
});

test('mTLS: APPEND_FORWARD appends this hop, SANITIZE_SET replaces, FORWARD_ONLY keeps, SANITIZE removes', () => {
  const run = (mode: string, start: string[]) => { const h = [...start]; applyXfcc(h, mode, peer); return h; };
  assert.deepEqual(run('APPEND_FORWARD', ['host', 'x']), ['host', 'x', 'x-forwarded-client-cert', hop]);
  assert.deepEqual(run('APPEND_FORWARD', forged), ['host', 'x', 'x-forwarded-client-cert', `URI=spiffe://td/ns/kube-system/sa/admin,${hop}`]);
  assert.deepEqual(run('SANITIZE_SET', forged), ['host', 'x', 'x-forwarded-client-cert', hop]);
  assert.deepEqual(run('FORWARD_ONLY', forged), forged);
  assert.deepEqual(run('SANITIZE', forged), ['host', 'x']);
});
