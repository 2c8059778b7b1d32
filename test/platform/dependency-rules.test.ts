// The architecture rules in .dependency-cruiser.cjs can fail: each one reports the violation planted for it in a
// throwaway tree that mimics the repo's folders, and lets the allowed imports beside it pass. Whether the real
// repository keeps the rules is checked by `npm run lint:deps`, which `npm test` runs before jest.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const repo = path.resolve(__dirname, '../..');
const configFile = path.join(repo, '.dependency-cruiser.cjs');

interface Violation {
  rule: { name: string; severity: string };
  from: string;
  to: string;
  cycle?: Array<{ name: string }>;
}

// dependency-cruiser is ESM with top-level await, which jest's CommonJS runtime cannot load: its API runs in a
// child node process (resolved from the repo, then moved into the throwaway tree, whose paths the rules match).
const runner = `
  const { cruise } = await import('dependency-cruiser');
  const { default: extractDepcruiseOptions } = await import('dependency-cruiser/config-utl/extract-depcruise-options');
  const options = await extractDepcruiseOptions(process.env.DEPCRUISE_CONFIG);
  process.chdir(process.env.DEPCRUISE_ROOT);
  const { output } = await cruise(JSON.parse(process.env.DEPCRUISE_DIRS), options);
  process.stdout.write(JSON.stringify({ violations: output.summary.violations, modules: output.modules.map((m) => m.source) }));
`;

function cruise(root: string, dirs: string[]): { violations: Violation[]; modules: string[] } {
  const stdout = execFileSync(process.execPath, ['--input-type=module', '--eval', runner], {
    cwd: repo,
    env: { ...process.env, DEPCRUISE_CONFIG: configFile, DEPCRUISE_ROOT: root, DEPCRUISE_DIRS: JSON.stringify(dirs) },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  return JSON.parse(stdout);
}

/** `node_modules/@types/express/index.d.ts` → `npm:@types/express`, `node:fs` → `fs`, project paths unchanged. */
function short(to: string): string {
  const npm = /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(to);
  if (npm) return `npm:${npm[1]}`;
  return to.replace(/^node:/, '');
}

// Leaves import nothing: every violation points at one, so the only cycles in the tree are the two planted ones.
const leaves = ['api', 'worker', 'activities', 'domain', 'stores', 'engines/pki', 'engines/mail', 'infra', 'workflows', 'migrations', 'test', 'bench'];

const tree: Record<string, string> = {
  ...Object.fromEntries(leaves.map((dir) => [`${dir}/leaf.ts`, `export const leaf = '${dir}';\n`])),
  'workflows/definitions.ts': `export const vocabulary = 'shared';\n`,
  'workflows/time-rules.ts': `export const tokyoDay = (d: Date): Date => d;\n`,
  'workflows/flow.ts': [
    `import { proxyActivities } from '@temporalio/workflow';`, // allowed
    `import type { Payload } from '@temporalio/common';`, // allowed
    `import { vocabulary } from './definitions';`, // allowed
    `import { leaf } from './leaf';`, // allowed
    `import fs from 'node:fs';`, // a node built-in
    `import { z } from 'zod';`, // another npm package
    `import type { leaf as row } from '../stores/leaf';`, // outside workflows/, type-only
    `export const flow = [proxyActivities, vocabulary, leaf, fs, z];`,
    `export type P = Payload | typeof row;`,
  ].join('\n'),
  'domain/x.ts': [
    `import type { Request } from 'express';`, // type-only, still the HTTP framework
    `import { leaf as api } from '../api/leaf';`,
    `import { leaf as activity } from '../activities/leaf';`,
    `import { vocabulary } from '../workflows/definitions';`, // allowed
    `import { leaf as store } from '../stores/leaf';`, // allowed
    `import { leaf as engine } from '../engines/pki/leaf';`, // allowed
    `import { leaf as infra } from '../infra/leaf';`, // allowed
    `export const x = (r: Request) => [r, api, activity, vocabulary, store, engine, infra];`,
  ].join('\n'),
  'api/y.ts': [
    `import { leaf as worker } from '../worker/leaf';`,
    `import { leaf as domain } from '../domain/leaf';`, // allowed
    `import { vocabulary } from '../workflows/definitions';`, // allowed
    `export const y = [worker, domain, vocabulary];`,
  ].join('\n'),
  // the composition root may import every layer, but not workflow code (the worker bundles it by path)
  'worker/runtime.ts': [
    `import { x } from '../domain/x';`,
    `import { y } from '../api/y';`,
    `import { act } from '../activities/act';`,
    `import { flow } from '../workflows/flow';`,
    `import { ca } from '../engines/pki/p';`,
    `import { db } from '../infra/db';`,
    `export const runtime = [x, y, act, flow, ca, db];`,
  ].join('\n'),
  'activities/act.ts': [
    `import type { leaf as domain } from '../domain/leaf';`, // type-only
    `import { leaf as store } from '../stores/leaf';`, // allowed
    `import { leaf as mail } from '../engines/mail/leaf';`, // allowed
    `import { vocabulary } from '../workflows/definitions';`, // allowed
    `export const act = (d: typeof domain) => [d, store, mail, vocabulary];`,
  ].join('\n'),
  'engines/pki/p.ts': [
    `import { leaf as mail } from '../mail/leaf';`,
    `import type { leaf as domain } from '../../domain/leaf';`, // type-only
    `import { leaf } from './leaf';`, // allowed
    `import { leaf as infra } from '../../infra/leaf';`, // allowed
    `import { tokyoDay } from '../../workflows/time-rules';`, // allowed
    `export const ca = (d: typeof domain) => [d, mail, leaf, infra, tokyoDay];`,
  ].join('\n'),
  'engines/mail/m.ts': `import type { leaf as pki } from '../pki/leaf';\nexport const m = (p: typeof pki) => p;\n`,
  'stores/s.ts': [
    `import { leaf as activity } from '../activities/leaf';`,
    `import { leaf as pki } from '../engines/pki/leaf';`, // allowed: same layer
    `import { leaf as infra } from '../infra/leaf';`, // allowed
    `export const s = [activity, pki, infra];`,
  ].join('\n'),
  'infra/i.ts': [
    `import { leaf as store } from '../stores/leaf';`,
    `import { leaf as workflow } from '../workflows/leaf';`,
    `import { vocabulary } from '../workflows/definitions';`, // allowed: the shared vocabulary
    `import { leaf } from './leaf';`, // allowed
    `export const i = [store, workflow, vocabulary, leaf];`,
  ].join('\n'),
  'infra/db.ts': `import { migrations } from '../migrations/index';\nexport const db = migrations;\n`, // allowed
  'migrations/index.ts': [
    `import type { Knex } from 'knex';`, // allowed
    `import { leaf } from './leaf';`, // allowed
    `import { leaf as infra } from '../infra/leaf';`,
    `export const migrations = [leaf, infra] as unknown as Knex[];`,
  ].join('\n'),
  'scripts/tool.ts': [
    `import { leaf as test } from '../test/leaf';`,
    `import { leaf as bench } from '../bench/leaf';`,
    `import { leaf as migration } from '../migrations/leaf';`,
    `import { x } from '../domain/x';`, // allowed
    `export const tool = [test, bench, migration, x];`,
  ].join('\n'),
  'bench/b.ts': `import { leaf } from '../test/leaf';\nimport { runtime } from '../worker/runtime';\nexport const b = [leaf, runtime];\n`, // allowed
  // test/ may import anything
  'test/t.ts': [
    `import { x } from '../domain/x';`,
    `import { runtime } from '../worker/runtime';`,
    `import { migrations } from '../migrations/index';`,
    `import { leaf } from '../bench/leaf';`,
    `export const t = [x, runtime, migrations, leaf];`,
  ].join('\n'),
  // the planted cycles: plain imports, and a loop closed by a type-only import
  'domain/c1.ts': `import { c2 } from './c2';\nexport const c1 = () => c2;\n`,
  'domain/c2.ts': `import { c1 } from './c1';\nexport const c2 = () => c1;\n`,
  'stores/a.ts': `import { b } from './b';\nexport interface Row { id: string }\nexport const a = (id: string): Row => ({ id: id + b });\n`,
  'stores/b.ts': `import type { Row } from './a';\nexport const b = '';\nexport type R = Row;\n`,
};

const expected: Record<string, string[]> = {
  // one report per cycle, on its first edge
  'no-circular': ['domain/c1.ts → domain/c2.ts', 'stores/a.ts → stores/b.ts'],
  'workflows-sandbox-only': ['workflows/flow.ts → fs', 'workflows/flow.ts → npm:zod', 'workflows/flow.ts → stores/leaf.ts'],
  'domain-no-http-framework': ['domain/x.ts → npm:express'],
  'domain-not-entry-points': ['domain/x.ts → api/leaf.ts', 'domain/x.ts → activities/leaf.ts'],
  'engines-stores-not-up': ['engines/pki/p.ts → domain/leaf.ts', 'stores/s.ts → activities/leaf.ts'],
  'infra-is-the-bottom': ['infra/i.ts → stores/leaf.ts', 'infra/i.ts → workflows/leaf.ts'],
  'activities-not-up': ['activities/act.ts → domain/leaf.ts'],
  'workflow-code-private': ['infra/i.ts → workflows/leaf.ts', 'worker/runtime.ts → workflows/flow.ts'],
  'api-not-worker': ['api/y.ts → worker/leaf.ts'],
  'production-not-test-or-bench': ['scripts/tool.ts → test/leaf.ts', 'scripts/tool.ts → bench/leaf.ts'],
  'engines-independent': ['engines/pki/p.ts → engines/mail/leaf.ts', 'engines/mail/m.ts → engines/pki/leaf.ts'],
  'migrations-standalone': ['migrations/index.ts → infra/leaf.ts'],
  'migrations-via-db': ['scripts/tool.ts → migrations/leaf.ts'],
};

let root: string;
let result: { violations: Violation[]; modules: string[] };

beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'certflow-depcruise-'));
  for (const [file, source] of Object.entries(tree)) {
    fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    fs.writeFileSync(path.join(root, file), source);
  }
  // npm imports resolve as they do in the repo (whose node_modules may itself be a symlink).
  fs.symlinkSync(path.join(repo, 'node_modules'), path.join(root, 'node_modules'), 'dir');
  result = cruise(root, ['api', 'worker', 'scripts', 'bench', 'domain', 'activities', 'engines', 'stores', 'infra', 'workflows', 'migrations', 'test']);
}, 60_000);

afterAll(() => {
  if (root) fs.rmSync(root, { recursive: true, force: true });
});

function reported(rule: string): string[] {
  return result.violations
    .filter((v) => v.rule.name === rule)
    .map((v) => `${v.from} → ${short(v.to)}`)
    .sort();
}

test('when the throwaway tree is cruised, then every file in it is read and every configured rule has a planted violation', () => {
  expect(result.modules.filter((m) => m.endsWith('.ts') && !m.includes('node_modules')).sort()).toEqual(Object.keys(tree).sort());
  // a rule added to .dependency-cruiser.cjs needs its planted violation here
  const configured: string[] = require(configFile).forbidden.map((r: { name: string }) => r.name);
  expect(configured.sort()).toEqual(Object.keys(expected).sort());
  expect([...new Set(result.violations.map((v) => v.rule.severity))]).toEqual(['error']);
});

test.each(Object.keys(expected))('when the tree breaks %s, then exactly the planted imports are reported', (rule) => {
  expect(reported(rule)).toEqual([...expected[rule]].sort());
});

test('when the only link back is an `import type`, then the cycle is still found (type-only imports are cruised)', () => {
  const cycle = result.violations.find((v) => v.rule.name === 'no-circular' && v.from === 'stores/a.ts');
  expect(cycle?.cycle?.map((c) => c.name)).toEqual(['stores/b.ts', 'stores/a.ts']);
});
