// Fails when src/api/schema.d.ts is not what openapi-typescript makes from ../docs/openapi.json now.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const web = dirname(dirname(fileURLToPath(import.meta.url)));
const committed = join(web, 'src/api/schema.d.ts');
const spec = join(web, '../docs/openapi.json');
const require = createRequire(import.meta.url);
const cli = join(dirname(require.resolve('openapi-typescript/package.json')), 'bin/cli.js');

const dir = mkdtempSync(join(tmpdir(), 'quartet-api-'));
try {
  const fresh = join(dir, 'schema.d.ts');
  const run = spawnSync(process.execPath, [cli, spec, '--output', fresh], { cwd: web, encoding: 'utf8' });
  if (run.status !== 0) {
    process.stderr.write(run.stdout + run.stderr);
    console.error('check:api: openapi-typescript failed on ../docs/openapi.json');
    process.exit(1);
  }
  let current = '';
  try {
    current = readFileSync(committed, 'utf8');
  } catch {
    // A missing file is a difference like any other.
  }
  if (readFileSync(fresh, 'utf8') !== current) {
    console.error('check:api: src/api/schema.d.ts is out of date with ../docs/openapi.json; run `npm run generate:api` and commit the result.');
    process.exit(1);
  }
  console.log('check:api: src/api/schema.d.ts matches ../docs/openapi.json');
} finally {
  rmSync(dir, { recursive: true, force: true });
}
