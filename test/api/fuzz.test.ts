// schemathesis, a fuzzer no one here wrote, against the support API's OpenAPI document on a whole stack (per
// database): every check it has, a fixed seed and a bounded number of examples per operation, so a run is
// reproducible and takes a few minutes. Any failure, error or server error it reports fails the test with its report.
// What test/api/schemathesis.toml widens, and why, is written there; test/api/schemathesis_hooks.py makes a fresh
// Idempotency-Key per request, as a client does, and gives the CRL's media types bytes.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DATABASE_KINDS } from '../support/databases';
import { startApiStack, type ApiStack } from './stack';

const ROOT = path.resolve(__dirname, '../..');
const SCHEMATHESIS = path.join(ROOT, '.tools/schemathesis/bin/st');
const CONFIG = path.join(__dirname, 'schemathesis.toml');
const HOOKS = path.join(__dirname, 'schemathesis_hooks.py');
// Another seed or more examples explore further (CERTFLOW_FUZZ_SEED, CERTFLOW_FUZZ_EXAMPLES); CI runs these.
const SEED = process.env.CERTFLOW_FUZZ_SEED ?? '20261126';
const EXAMPLES = process.env.CERTFLOW_FUZZ_EXAMPLES ?? '30';

/** Runs the command to its end, with its output (stdout and stderr together) and exit code. */
function run(command: string, args: string[], timeoutMs: number): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: os.tmpdir(), env: { ...process.env, NO_COLOR: '1', SCHEMATHESIS_HOOKS: HOOKS } });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe.each(DATABASE_KINDS)('schemathesis against the support API on %s', (database) => {
  let stack: ApiStack;
  let reportDir: string;

  beforeAll(async () => {
    if (!fs.existsSync(SCHEMATHESIS)) throw new Error(`${SCHEMATHESIS} is missing: run scripts/install-schemathesis.sh (npm test's set-up does)`);
    reportDir = fs.mkdtempSync(path.join(os.tmpdir(), 'certflow-schemathesis-'));
    stack = await startApiStack(`fuzz-${database}`, { database });
  });

  afterAll(async () => {
    await stack?.close();
    fs.rmSync(reportDir, { recursive: true, force: true });
  });

  test('when it runs all its checks on every operation, then it reports no failure, no error and no server error', async () => {
    const { code, output } = await run(
      SCHEMATHESIS,
      [
        '--no-color',
        '--config-file', CONFIG,
        'run', `${stack.baseUrl}/api/v1/openapi.json`,
        '--checks', 'all',
        '--header', `Authorization: Bearer ${stack.tokens.admin}`,
        '--max-examples', EXAMPLES,
        '--seed', SEED,
        '--workers', '1',
        // Examples it found in earlier runs would make this run depend on them.
        '--generation-database', 'none',
        '--report', 'junit', '--report-dir', reportDir,
      ],
      12 * 60_000,
    );
    if (code !== 0) throw new Error(`schemathesis exited with ${code}:\n${output}`);
    // The junit report has a test case per operation it tried, and says that none failed.
    const junit = fs.readFileSync(path.join(reportDir, fs.readdirSync(reportDir).find((f) => f.endsWith('.xml'))!), 'utf8');
    expect(junit).not.toMatch(/<(failure|error)\b/);
    const tried = [...junit.matchAll(/<testcase\b[^>]*\bname="([^"]+)"/g)].map((m) => m[1]).sort();
    const document = (await (await fetch(`${stack.baseUrl}/api/v1/openapi.json`)).json()) as { paths: Record<string, object> };
    const operations = Object.entries(document.paths).flatMap(([p, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${p}`));
    // All but the one it read the document from, and the stateful phase (sequences of calls along inferred links).
    expect(tried).toEqual([...operations.filter((o) => o !== 'GET /api/v1/openapi.json'), 'Stateful tests'].sort());
    const errors = stack.logs.join('').split('\n').filter(Boolean).map((line) => JSON.parse(line) as { level: number }).filter((entry) => entry.level >= 50);
    expect(errors).toEqual([]);
  }, 15 * 60_000);
});
