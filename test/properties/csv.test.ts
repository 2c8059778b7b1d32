// A bulk import's file (domain/csv-file.ts) and its lines (the users and certificates kinds): whatever bytes are
// uploaded give records or a Refusal naming the file or the header, and each record a registration or errors naming
// its fields — never another exception; a file made of well-formed lines reads back what was written.
import fc from 'fast-check';
import iconv from 'iconv-lite';
import { parseCsv } from '../../domain/csv-file';
import { IMPORT_KIND_RULES } from '../../domain/import-kinds';
import { USER_IMPORT_COLUMNS } from '../../domain/import-users';
import { Refusal } from '../../domain/refusal';
import { hostileString, valueOrRefusal } from './arbitraries';

const refusesFileOrHeader = (err: unknown) => err instanceof Refusal && err.code === 'invalid' && ['file', 'header'].includes(err.detail.field ?? '');
const HEADER = USER_IMPORT_COLUMNS.join(',');
const quoted = (field: string) => `"${field.replace(/"/g, '""')}"`;

/** A file as someone might upload it: raw bytes, or the right header over hostile lines, in UTF-8 (BOM or not) or Shift_JIS. */
const uploaded = fc.oneof(
  fc.uint8Array({ maxLength: 600 }).map((bytes) => Buffer.from(bytes)),
  fc
    .tuple(
      fc.array(fc.array(hostileString, { maxLength: 9 }), { maxLength: 8 }),
      fc.constantFrom('\n', '\r\n', '\r'),
      fc.constantFrom('utf-8', 'utf-8-bom', 'shift_jis'),
      fc.boolean(),
    )
    .map(([rows, eol, encoding, quote]) => {
      const text = [HEADER, ...rows.map((fields) => fields.map((f) => (quote ? quoted(f) : f)).join(','))].join(eol);
      if (encoding === 'shift_jis') return iconv.encode(text, 'cp932');
      return Buffer.concat([encoding === 'utf-8-bom' ? Buffer.from([0xef, 0xbb, 0xbf]) : Buffer.alloc(0), Buffer.from(text, 'utf8')]);
    }),
);

describe('an uploaded import file on any input', () => {
  test('when any bytes are uploaded, then the file reads as records or is refused naming the file or its header', () => {
    fc.assert(
      fc.property(uploaded, (bytes) => {
        const file = valueOrRefusal(() => parseCsv(bytes, USER_IMPORT_COLUMNS), refusesFileOrHeader);
        if (!file) return;
        let last = 1;
        for (const record of file.records) {
          // Lines are numbered as the file counts them, in order, after the header.
          expect(record.line).toBeGreaterThan(last);
          last = record.line;
          for (const key of Object.keys(record.fields)) expect(USER_IMPORT_COLUMNS).toContain(key);
        }
      }),
      { numRuns: 800 },
    );
  });

  test("when any record of a readable file is read by either kind, then it gives a line or errors that name the kind's fields", () => {
    fc.assert(
      fc.property(uploaded, (bytes) => {
        const file = valueOrRefusal(() => parseCsv(bytes, USER_IMPORT_COLUMNS), refusesFileOrHeader);
        for (const record of file?.records ?? []) {
          for (const rules of Object.values(IMPORT_KIND_RULES)) {
            const read = rules.readLine(record.fields);
            if ('errors' in read) {
              expect(read.errors.length).toBeGreaterThan(0);
              for (const e of read.errors) expect(typeof e.field === 'string' && e.field.length > 0 && e.message.length > 0).toBe(true);
            } else {
              expect(read.line).toBeDefined();
            }
          }
        }
      }),
      { numRuns: 400 },
    );
  });

  test('when well-formed lines are written in any of the three encodings, then they read back field for field', () => {
    const field = fc.string({ unit: fc.constantFrom(...'abcXYZ019-_.あ第一営業部 ,"'.split('')), minLength: 1, maxLength: 20 });
    fc.assert(
      fc.property(fc.array(fc.array(field, { minLength: 7, maxLength: 7 }), { minLength: 1, maxLength: 6 }), fc.constantFrom('utf-8', 'shift_jis'), (rows, encoding) => {
        const text = [HEADER, ...rows.map((fields) => fields.map(quoted).join(','))].join('\r\n') + '\r\n';
        const bytes = encoding === 'shift_jis' ? iconv.encode(text, 'cp932') : Buffer.from(text, 'utf8');
        const file = parseCsv(bytes, USER_IMPORT_COLUMNS);
        const kept = rows.filter((fields) => fields.some((f) => f.trim() !== ''));
        expect(file.records.map((r) => USER_IMPORT_COLUMNS.map((c) => r.fields[c]))).toEqual(kept);
      }),
      { numRuns: 200 },
    );
  });
});
