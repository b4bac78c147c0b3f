// test: every authz-* golden input is valid Istio configuration (as `rig validate` sees it), so the goldens describe
// config users can actually apply (and YAML quirks such as an unquoted "[...]" key in a flow mapping show up here).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfigText } from '../../../src/config/load.ts';
import { GOLDEN_ROOT } from '../../helpers/golden.ts';

for (const dir of readdirSync(GOLDEN_ROOT).filter((d) => d.startsWith('authz-') && existsSync(join(GOLDEN_ROOT, d, 'input.yaml'))).sort()) {
  test(`${dir}/input.yaml is valid config`, () => {
    const file = join(GOLDEN_ROOT, dir, 'input.yaml');
    const { objects, issues } = parseConfigText(readFileSync(file, 'utf8'), file);
    assert.deepEqual(issues.filter((i) => i.severity === 'error').map((i) => `${i.kind} ${i.name} ${i.path}: ${i.message}`), []);
    assert.ok(objects.some((o) => o.kind === 'AuthorizationPolicy'));
  });
}
