// config/store: tests for FileStore on a temp directory with real file edits (bounded waits).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile, readFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeClock } from '../../common/clock.ts';
import type { ConfigEvent, ConfigObject } from '../types.ts';
import { FileStore, APPLIED_DIR } from './file.ts';

const vsYaml = (name: string, host: string, ns = 'default') => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ${name}, namespace: ${ns}}
spec:
  hosts: [${host}]
  http:
  - route:
    - destination: {host: ${host}}
`;

async function waitFor(cond: () => boolean, what: string, ms = 4000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function tempDir(): Promise<string> { return mkdtemp(join(tmpdir(), 'rig-filestore-')); }

function names(store: FileStore): string[] { return store.list().map((o) => `${o.metadata.namespace}/${o.metadata.name}`); }

test('loads a directory recursively, ignoring hidden entries and other files', async () => {
  const dir = await tempDir();
  try {
    await mkdir(join(dir, 'a', 'b'), { recursive: true });
    await mkdir(join(dir, '.git'));
    await writeFile(join(dir, 'top.yaml'), vsYaml('top', 'top'));
    await writeFile(join(dir, 'a', 'b', 'deep.yml'), vsYaml('deep', 'deep', 'prod'));
    await writeFile(join(dir, '.git', 'hidden.yaml'), vsYaml('hidden', 'hidden'));
    await writeFile(join(dir, 'README.md'), '# not config');
    const store = await FileStore.open(dir, { debounceMs: 20 });
    try {
      assert.deepEqual(names(store), ['default/top', 'prod/deep']); // sorted by kind/namespace/name
      assert.equal(store.get('VirtualService', 'prod', 'deep')?.source?.file, join(dir, 'a', 'b', 'deep.yml'));
      assert.deepEqual(store.issues().filter((i) => i.severity === 'error'), []);
    } finally { await store.close(); }
  } finally { await rm(dir, { recursive: true, force: true }); }
});

test('live edits: update, new file in a new directory, deletion — batched events', async () => {
  const dir = await tempDir();
  try {
    await writeFile(join(dir, 'one.yaml'), vsYaml('one', 'one'));
    const store = await FileStore.open(dir, { debounceMs: 20 });
    const events: ConfigEvent[] = [];
    store.watch((ev) => events.push(...ev));
    try {
      await writeFile(join(dir, 'one.yaml'), vsYaml('one', 'changed'));
      await waitFor(() => events.some((e) => e.type === 'update'), 'update event');
      assert.equal(store.get('VirtualService', 'default', 'one')?.spec.hosts[0], 'changed');

      await mkdir(join(dir, 'new', 'deeper'), { recursive: true });
      await writeFile(join(dir, 'new', 'deeper', 'two.yaml'), vsYaml('two', 'two'));
      await waitFor(() => store.get('VirtualService', 'default', 'two') !== undefined, 'file in new directory');
      // a later file in the (now watched) new directory is seen too
      await writeFile(join(dir, 'new', 'deeper', 'three.yaml'), vsYaml('three', 'three'));
      await waitFor(() => store.get('VirtualService', 'default', 'three') !== undefined, 'second file in new directory');

      await rm(join(dir, 'one.yaml'));
      await waitFor(() => events.some((e) => e.type === 'delete' && e.object.metadata.name === 'one'), 'delete event');
      await rm(join(dir, 'new'), { recursive: true });
      await waitFor(() => store.list().length === 0, 'directory removal');
      assert.deepEqual(events.filter((e) => e.type === 'delete').map((e) => e.object.metadata.name).sort(), ['one', 'three', 'two']);
    } finally { await store.close(); }
  } finally { await rm(dir, { recursive: true, force: true }); }
});

test('a file that stops parsing keeps serving its last good version and is reported', async () => {
  const dir = await tempDir();
  try {
    const f = join(dir, 'routes.yaml');
    await writeFile(f, vsYaml('r', 'good'));
    const store = await FileStore.open(dir, { debounceMs: 20 });
    const issueCalls: number[] = [];
    const events: ConfigEvent[] = [];
    store.onIssues((list) => issueCalls.push(list.length));
    store.watch((ev) => events.push(...ev));
    try {
      await writeFile(f, 'apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: r\n  spec: [\n');
      await waitFor(() => store.issues().some((i) => i.severity === 'error'), 'parse error reported');
      await waitFor(() => issueCalls.length > 0, 'onIssues called');
      assert.deepEqual(events, [], 'no object changed, so no config events');
      assert.equal(store.get('VirtualService', 'default', 'r')?.spec.hosts[0], 'good');
      const err = store.issues().find((i) => i.severity === 'error')!;
      assert.equal(err.file, f);
      assert.equal(err.code, 'RIG101');
      // an invalid document (unknown kind) is also an error, and the good version still serves
      await writeFile(f, vsYaml('r', 'bad').replace('kind: VirtualService', 'kind: VirtualServce'));
      await waitFor(() => store.issues().some((i) => i.code === 'RIG102' && i.severity === 'error'), 'invalid document reported');
      assert.equal(store.get('VirtualService', 'default', 'r')?.spec.hosts[0], 'good');
      await writeFile(f, vsYaml('r', 'fixed'));
      await waitFor(() => store.get('VirtualService', 'default', 'r')?.spec.hosts[0] === 'fixed', 'fixed version');
      assert.deepEqual(store.issues().filter((i) => i.severity !== 'notice'), []);
      assert.equal(issueCalls.at(-1), 0, 'onIssues reports the clean state');
    } finally { await store.close(); }
  } finally { await rm(dir, { recursive: true, force: true }); }
});

test('a file with an invalid document on first load serves its valid documents; rename keeps objects', async () => {
  const dir = await tempDir();
  try {
    const bad = vsYaml('bad', 'bad').replace('kind: VirtualService', 'kind: VirtualServce');
    await writeFile(join(dir, 'mixed.yaml'), `${vsYaml('ok', 'ok')}---\n${bad}`);
    const store = await FileStore.open(dir, { debounceMs: 150 });
    const events: ConfigEvent[] = [];
    store.watch((ev) => events.push(...ev));
    try {
      assert.deepEqual(names(store), ['default/ok']);
      const err = store.issues().find((i) => i.severity === 'error')!;
      assert.equal(err.document, 1);
      const { rename } = await import('node:fs/promises');
      await rename(join(dir, 'mixed.yaml'), join(dir, 'renamed.yaml'));
      await waitFor(() => store.fileOf('VirtualService', 'default', 'ok') === join(dir, 'renamed.yaml'), 'the new file name');
      assert.ok(!events.some((e) => e.type === 'delete'), 'a rename does not delete the object');
    } finally { await store.close(); }
  } finally { await rm(dir, { recursive: true, force: true }); }
});

test('two files defining the same object: conflict reported, the first kept; the other takes over when it goes', async () => {
  const dir = await tempDir();
  try {
    await writeFile(join(dir, 'a.yaml'), vsYaml('same', 'from-a'));
    await writeFile(join(dir, 'b.yaml'), vsYaml('same', 'from-b'));
    const store = await FileStore.open(dir, { debounceMs: 20 });
    try {
      assert.equal(store.get('VirtualService', 'default', 'same')?.spec.hosts[0], 'from-a');
      const c = store.issues().find((i) => i.code === 'RIG105')!;
      assert.equal(c.file, join(dir, 'b.yaml'));
      assert.match(c.message, /already defined in .*a\.yaml/);
      // editing the loser does not steal the object
      await writeFile(join(dir, 'b.yaml'), vsYaml('same', 'from-b2'));
      await store.sync();
      await new Promise((r) => setTimeout(r, 60));
      await store.sync();
      assert.equal(store.get('VirtualService', 'default', 'same')?.spec.hosts[0], 'from-a');
      await rm(join(dir, 'a.yaml'));
      await waitFor(() => store.get('VirtualService', 'default', 'same')?.spec.hosts[0] === 'from-b2', 'takeover');
      assert.equal(store.issues().filter((i) => i.code === 'RIG105').length, 0);
    } finally { await store.close(); }
  } finally { await rm(dir, { recursive: true, force: true }); }
});

test('apply writes under .applied (surviving a restart) and wins over files; delete removes it', async () => {
  const dir = await tempDir();
  try {
    await writeFile(join(dir, 'user.yaml'), vsYaml('user', 'user'));
    const store = await FileStore.open(dir, { debounceMs: 20 });
    const obj = (host: string): ConfigObject => ({
      apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'applied', namespace: 'prod' },
      spec: { hosts: [host], http: [{ route: [{ destination: { host } }] }] },
    });
    try {
      const batches: ConfigEvent[][] = [];
      store.watch((ev) => batches.push(ev));
      assert.deepEqual(await store.apply([obj('x')]), []);
      assert.equal(store.get('VirtualService', 'prod', 'applied')?.spec.hosts[0], 'x', 'in force when apply resolves');
      assert.deepEqual(batches.flat().map((e) => e.type), ['add']);
      const written = join(dir, APPLIED_DIR, 'prod', 'virtualservice-applied.yaml');
      assert.match(await readFile(written, 'utf8'), /kind: VirtualService/);
      // invalid objects write nothing
      const issues = await store.apply([{ ...obj('y'), kind: 'VirtualServce' }]);
      assert.ok(issues.some((i) => i.severity === 'error'));
      assert.deepEqual(await readdir(join(dir, APPLIED_DIR, 'prod')), ['virtualservice-applied.yaml']);
      // apply overrides a user file's object, with a notice
      await store.apply([{ ...obj('override'), metadata: { name: 'user', namespace: 'default' } }]);
      assert.equal(store.get('VirtualService', 'default', 'user')?.spec.hosts[0], 'override');
      assert.ok(store.issues().some((i) => i.severity === 'notice' && /overridden by rig apply/.test(i.message)));
    } finally { await store.close(); }

    const again = await FileStore.open(dir, { debounceMs: 20 });
    try {
      assert.equal(again.get('VirtualService', 'prod', 'applied')?.spec.hosts[0], 'x', 'survives restart');
      await again.delete([{ kind: 'VirtualService', namespace: 'prod', name: 'applied' }, { kind: 'VirtualService', namespace: 'default', name: 'user' }]);
      assert.equal(again.get('VirtualService', 'prod', 'applied'), undefined);
      assert.equal(again.get('VirtualService', 'default', 'user')?.spec.hosts[0], 'user', 'the user file version is back');
    } finally { await again.close(); }
  } finally { await rm(dir, { recursive: true, force: true }); }
});

test('edits are debounced on the injected clock and delivered as one batch', async () => {
  const dir = await tempDir();
  try {
    const clock = new FakeClock();
    const store = await FileStore.open(dir, { clock, debounceMs: 500 });
    const batches: ConfigEvent[][] = [];
    store.watch((ev) => batches.push(ev));
    try {
      await writeFile(join(dir, 'a.yaml'), vsYaml('a', 'a'));
      await writeFile(join(dir, 'b.yaml'), vsYaml('b', 'b'));
      await waitFor(() => clock.pending() > 0 && store.pendingChanges() >= 2, 'both file events and a debounce timer');
      assert.equal(batches.length, 0, 'nothing before the quiet period ends');
      clock.advance(499);
      assert.equal(batches.length, 0);
      clock.advance(1);
      await waitFor(() => batches.length > 0, 'the batch');
      await store.sync();
      assert.deepEqual(batches.flat().map((e) => `${e.type} ${e.object.metadata.name}`), ['add a', 'add b']);
      assert.equal(batches.length, 1);
    } finally { await store.close(); }
  } finally { await rm(dir, { recursive: true, force: true }); }
});

test('open fails clearly on a missing directory', async () => {
  await assert.rejects(FileStore.open(join(tmpdir(), 'rig-no-such-dir-xyz')), (e: Error & { code?: string }) => e.code === 'RIG104' && /config directory/.test(e.message));
});

test('a Kubernetes ConfigMap mount (files linked through a swapped ..data symlink) is followed', async () => {
  const dir = await tempDir();
  const { symlink, rename } = await import('node:fs/promises');
  try {
    await mkdir(join(dir, '..v1'));
    await writeFile(join(dir, '..v1', 'routes.yaml'), vsYaml('cm', 'v1'));
    await symlink('..v1', join(dir, '..data'));
    await symlink(join('..data', 'routes.yaml'), join(dir, 'routes.yaml'));
    const store = await FileStore.open(dir, { debounceMs: 20 });
    try {
      assert.equal(store.get('VirtualService', 'default', 'cm')?.spec.hosts[0], 'v1');
      await mkdir(join(dir, '..v2'));
      await writeFile(join(dir, '..v2', 'routes.yaml'), vsYaml('cm', 'v2'));
      await symlink('..v2', join(dir, '..data_tmp'));
      await rename(join(dir, '..data_tmp'), join(dir, '..data')); // what the kubelet does
      await waitFor(() => store.get('VirtualService', 'default', 'cm')?.spec.hosts[0] === 'v2', 'the swapped version');
    } finally { await store.close(); }
  } finally { await rm(dir, { recursive: true, force: true }); }
});
