// local: tests for the overlay store — applied objects on top of the directory's, deletes that hide, and events.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStore } from '../config/store/memory.ts';
import type { ConfigEvent, ConfigObject } from '../config/types.ts';
import { OverlayStore } from './overlay-store.ts';

const vs = (name: string, host: string): ConfigObject => ({
  apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name, namespace: 'default' },
  spec: { hosts: [host], http: [{ route: [{ destination: { host } }] }] },
});

test('applied objects override the base, deletes hide base objects, and watchers see each change', async () => {
  const base = new MemoryStore([vs('reviews', 'reviews'), vs('ratings', 'ratings')]);
  const store = new OverlayStore(base);
  const events: ConfigEvent[][] = [];
  store.watch((e) => events.push(e));

  assert.deepEqual(store.list('VirtualService').map((o) => o.metadata.name).sort(), ['ratings', 'reviews']);
  const changed = { ...vs('reviews', 'reviews'), spec: { hosts: ['reviews'], http: [{ route: [{ destination: { host: 'reviews', subset: 'v2' } }] }] } };
  assert.deepEqual(await store.apply([changed]), []);
  assert.equal(store.get('VirtualService', 'default', 'reviews')?.spec.http[0].route[0].destination.subset, 'v2');
  assert.equal(events.at(-1)?.[0].type, 'update');

  await store.delete([{ kind: 'VirtualService', namespace: 'default', name: 'ratings' }]);
  assert.equal(store.get('VirtualService', 'default', 'ratings'), undefined);
  assert.deepEqual(store.list('VirtualService').map((o) => o.metadata.name), ['reviews']);
  assert.equal(events.at(-1)?.[0].type, 'delete');
  assert.equal(store.has({ kind: 'VirtualService', namespace: 'default', name: 'ratings' }), false);

  // applying again brings it back
  await store.apply([vs('ratings', 'ratings')]);
  assert.ok(store.get('VirtualService', 'default', 'ratings'));
  await store.close();
});

test('an invalid object is refused with its field path and nothing is applied', async () => {
  const store = new OverlayStore(new MemoryStore([]));
  const bad: ConfigObject = { ...vs('bad', 'x'), spec: { hosts: ['x'], http: [{ route: [{ destination: { host: 'x' }, weight: -5 }] }] } };
  const issues = await store.apply([vs('good', 'y'), bad]);
  assert.ok(issues.length > 0);
  assert.ok(issues.some((i) => i.path.includes('weight')), JSON.stringify(issues));
  assert.equal(store.list().length, 0);
  await store.close();
});
