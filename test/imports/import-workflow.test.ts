// The import workflow on the time-skipping server: a file with errors in some lines, the right lines refused and the
// rest registered exactly once, through a worker restart and a batch cut off after a registration; the same file
// imported twice registers nobody twice. 1,000 lines on SQLite, 200 on PostgreSQL (the store's SQL on both).
import { importWorkflowId, type ImportProgress } from '../../workflows/import-definitions';
import { getImport, submitImport, type Actor } from '../../domain';
import { registerTestUser } from '../support/lifecycle-harness';
import { startImportFixture, until, userIdOf, usersCsv, type ImportFixture, type UserLine } from './support';

const admin: Actor = { agent: 'admin-sato', role: 'admin' };

/** n users; some lines bad in a field, one repeating its predecessor, one registered before the import. */
function fileWithErrors(n: number) {
  const lines: UserLine[] = [];
  const refused = new Map<number, string[]>(); // file line → refused fields
  for (let i = 1; i <= n; i++) {
    const line = i + 1; // the header is line 1
    if (i % 100 === 7) {
      lines.push({ userId: userIdOf(i), email: 'not-an-address' });
      refused.set(line, ['email']);
    } else if (i % 100 === 33) {
      lines.push({ userId: userIdOf(i), organizationalUnits: '' });
      refused.set(line, ['organizationalUnits']);
    } else if (i % 100 === 61) {
      lines.push({ userId: `emp ${i}`, email: `emp${i}@bank.example.co.jp`, idAdminEmail: 'nobody' });
      refused.set(line, ['userId', 'idAdminEmail']);
    } else if (i === n - 10) {
      lines.push({ userId: userIdOf(i - 1) }); // the same user and profile as the line before
      refused.set(line, ['userId']);
    } else {
      lines.push({ userId: userIdOf(i) });
    }
  }
  const preRegistered = userIdOf(n - 20);
  refused.set(n - 20 + 1, ['userId']);
  return { csv: Buffer.from(usersCsv(lines)), refused, preRegistered, valid: n - refused.size };
}

describe.each([
  ['sqlite', 1000],
  ['postgresql', 200],
] as const)('the import workflow on %s with %i lines', (database, n) => {
  let f: ImportFixture;
  const file = fileWithErrors(n);
  const count = async (table: string) => Number((await f.database.db(table).count({ n: '*' }))[0]!.n);

  beforeAll(async () => {
    f = await startImportFixture(database);
    await registerTestUser(f.database.db, file.preRegistered);
  }, 120_000);
  afterAll(async () => { await f?.stop(); });

  it('when the file has errors and the operator has not chosen to register the valid lines, then each refused line is listed by field and nothing is registered', async () => {
    const submitted = await submitImport(f.deps, admin, { kind: 'users', file: file.csv, registerValidLines: false });

    expect(submitted.started).toBe(false);
    expect(submitted.report).toMatchObject({ encoding: 'utf-8', total: n, valid: file.valid, refused: file.refused.size });
    const listed = new Map(submitted.report.refusedLines.map((l) => [l.line, l.errors.map((e) => e.field).sort()]));
    expect(listed).toEqual(new Map([...file.refused].map(([line, fields]) => [line, fields.sort()])));
    const repeat = submitted.report.refusedLines.find((l) => l.line === n - 10 + 1)!;
    expect(repeat.errors).toEqual([{ field: 'userId', message: `repeats line ${n - 10}` }]);
    const before = submitted.report.refusedLines.find((l) => l.line === n - 20 + 1)!;
    expect(before).toEqual({ line: n - 19, label: `${file.preRegistered} (kdanshinnet)`, errors: [{ field: 'userId', message: 'is already registered for profile kdanshinnet' }] });
    expect(await count('users')).toBe(1);
    expect(await count('imports')).toBe(0);
  });

  it('when the valid lines are registered through a worker restart and a batch cut off after a registration, then they all are, each once, and the refused ones not', async () => {
    const cutOff = userIdOf(Math.floor(n / 4));
    let cut = false;
    f.wrapRegistrar((real) => async (line, client) => {
      const outcome = await real(line, client);
      if (!cut && (line.payload as { userId: string }).userId === cutOff) {
        cut = true;
        throw new Error(`the worker was lost after registering ${cutOff}, before the line was recorded`);
      }
      return outcome;
    });

    const submitted = await submitImport(f.deps, admin, { kind: 'users', file: file.csv, registerValidLines: true });
    expect(submitted).toMatchObject({ started: true, existing: false, progress: { total: n, refused: file.refused.size, status: 'running' } });
    const { importId } = submitted;
    expect(importId).toMatch(/^users-[0-9a-f]{64}$/);

    // The workflow answers its progress while it runs; the database has the same or fresher counts.
    const live = await until(() => f.deps.importWorkflows.liveProgress(importId), 'the progress query');
    expect(live).toMatchObject({ importId, kind: 'users', total: n, refused: file.refused.size });

    const midway = await until(async () => {
      const p = (await f.stores.imports.progress(importId))!;
      return p.done >= n / 2 && p;
    }, 'half the lines');
    expect(midway.remaining).toBeGreaterThan(0);
    await f.restartWorker();

    const finished = await until(async () => {
      const view = await getImport(f.deps, importId);
      return view.progress.status === 'finished' && view;
    }, 'the import to finish');
    const expected: ImportProgress = { importId, kind: 'users', status: 'finished', total: n, refused: file.refused.size, done: file.valid, failed: 0, remaining: 0, percent: 100 };
    expect(finished.progress).toEqual(expected);
    expect(finished.failures.map((x) => x.line)).toEqual([...file.refused.keys()].sort((a, b) => a - b));
    expect(finished.failures.every((x) => x.status === 'refused')).toBe(true);
    expect(await f.env.client.workflow.getHandle(importWorkflowId(importId)).result()).toEqual(expected);
    expect(cut).toBe(true);

    // Registered exactly once: one user row and one certificate workflow each, none for a refused line.
    expect(await count('users')).toBe(file.valid + 1);
    expect(await count('requests')).toBe(file.valid);
    expect(f.starts.size).toBe(file.valid);
    expect([...f.starts.values()].every((starts) => starts === 1)).toBe(true);
    expect(f.starts.has(cutOff)).toBe(true);
    const lines = await f.database.db('import_lines').where({ import_id: importId, status: 'done' }).select('label', 'result', 'payload');
    expect(lines).toHaveLength(file.valid);
    expect(lines.every((l: { payload: unknown }) => l.payload === null)).toBe(true);
    const requests = await f.database.db('requests').select('request_id', 'user_id', 'workflow_id');
    expect(new Set(lines.map((l: { result: string }) => l.result))).toEqual(new Set(requests.map((r: { request_id: string }) => r.request_id)));
    for (const r of requests.slice(0, 50)) {
      expect((await f.env.client.workflow.getHandle(r.workflow_id).describe()).type).toBe('certificateWorkflow');
    }

    // The lines never entered the workflow's history: no address of the file is in it.
    const history = JSON.stringify(await f.env.client.workflow.getHandle(importWorkflowId(importId)).fetchHistory());
    expect(history).not.toContain('@bank.example.co.jp');
    expect(history).not.toContain(userIdOf(2));
  }, 900_000);

  it('when the same file is imported again, then it is the same import, its progress is returned and nobody is registered twice', async () => {
    const users = await count('users');
    const starts = [...f.starts.values()].reduce((a, b) => a + b, 0);
    const again = await submitImport(f.deps, admin, { kind: 'users', file: file.csv, registerValidLines: true });
    expect(again).toMatchObject({ started: true, existing: true, progress: { status: 'finished', done: file.valid, percent: 100 } });
    expect(again.report).toMatchObject({ total: n, valid: file.valid, refused: file.refused.size });
    expect(await count('users')).toBe(users);
    expect([...f.starts.values()].reduce((a, b) => a + b, 0)).toBe(starts);
    expect(await count('imports')).toBe(1);

    // Another file naming the same users: each line is refused as registered already.
    const other = await submitImport(f.deps, admin, { kind: 'users', file: Buffer.from(usersCsv([{ userId: userIdOf(2) }, { userId: userIdOf(3), profile: 'nissay' }])), registerValidLines: false });
    expect(other.started).toBe(false);
    expect(other.report.refusedLines).toEqual([{ line: 2, label: `${userIdOf(2)} (kdanshinnet)`, errors: [{ field: 'userId', message: 'is already registered for profile kdanshinnet' }] }]);
  });
});
