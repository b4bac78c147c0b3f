// config/store: tests for MemoryStore (validation on apply, batched events, delete, unsubscribe).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ConfigEvent, ConfigObject } from '../types.ts';
import { MemoryStore } from './memory.ts';

const vs = (name: string, host: string, namespace?: string): ConfigObject => ({
  apiVersion: 'networking.istio.io/v1', kind: 'VirtualService',
  metadata: { name, ...(namespace ? { namespace } : {}) } as ConfigObject['metadata'],
  spec: { hosts: [host], http: [{ route: [{ destination: { host } }] }] },
});

test('apply validates, stores and emits one batch per call', async () => {
  const store = new MemoryStore();
  const batches: ConfigEvent[][] = [];
  const off = store.watch((ev) => batches.push(ev));
  assert.deepEqual(await store.apply([vs('a', 'a'), vs('b', 'b', 'prod')]), []);
  assert.equal(batches.length, 1);
  assert.deepEqual(batches[0]!.map((e) => `${e.type} ${e.object.metadata.namespace}/${e.object.metadata.name}`), ['add default/a', 'add prod/b']);
  assert.equal(store.get('VirtualService', 'default', 'a')?.spec.hosts[0], 'a');
  assert.deepEqual(store.list('VirtualService', 'prod').map((o) => o.metadata.name), ['b']);

  await store.apply([vs('a', 'a')]); // unchanged: no event
  assert.equal(batches.length, 1);
  await store.apply([vs('a', 'a2')]);
  assert.deepEqual(batches[1]!.map((e) => e.type), ['update']);

  const bad = { ...vs('c', 'c'), kind: 'VirtualServce' };
  const issues = await store.apply([vs('d', 'd'), bad]);
  assert.ok(issues.length > 0 && issues.every((i) => i.severity === 'error'));
  assert.equal(store.get('VirtualService', 'default', 'd'), undefined, 'all or nothing');
  assert.equal(batches.length, 2);
  assert.ok(store.issues().length > 0);

  await store.delete([{ kind: 'VirtualService', namespace: 'default', name: 'a' }]);
  assert.deepEqual(batches[2]!.map((e) => `${e.type} ${e.object.metadata.name}`), ['delete a']);
  off();
  await store.delete([{ kind: 'VirtualService', namespace: 'prod', name: 'b' }]);
  assert.equal(batches.length, 3);
  assert.deepEqual(store.list(), []);
  await store.close();
  await assert.rejects(store.apply([vs('x', 'x')]), /closed/);
});

test('replaceAll emits the difference as one batch; a throwing watcher does not stop others', () => {
  const store = new MemoryStore([vs('a', 'a'), vs('b', 'b')]);
  const seen: string[] = [];
  store.watch(() => { throw new Error('boom'); });
  store.watch((ev) => seen.push(...ev.map((e) => `${e.type} ${e.object.metadata.name}`)));
  store.replaceAll([vs('b', 'b'), vs('c', 'c')]);
  assert.deepEqual(seen, ['delete a', 'add c']);
});
