// Reading an uploaded users file: encodings (UTF-8, BOM, Shift_JIS as Excel writes it), quoting, blank lines, the
// line each record starts on, and every error of a line named by its field.
import iconv from 'iconv-lite';
import { decodeCsvBytes, parseCsv } from '../../domain/csv-file';
import { USER_IMPORT_COLUMNS, userImportRules } from '../../domain/import-users';
import { Refusal } from '../../domain/refusal';
import { HEADER } from './support';

const japanese = `${HEADER}\r\nemp001,kdanshinnet,emp001@bank.example.co.jp,admin@bank.example.co.jp,株式会社サンプル,営業一課;営業部,加入者001\r\n`;
const refusalOf = (run: () => unknown) => {
  try {
    run();
  } catch (err) {
    if (err instanceof Refusal) return { code: err.code, field: err.detail.field, reason: err.reason };
    throw err;
  }
  throw new Error('expected a refusal');
};

describe('the encoding of a CSV file', () => {
  it.each([
    ['UTF-8', Buffer.from(japanese, 'utf8'), 'utf-8'],
    ['UTF-8 with a BOM', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(japanese, 'utf8')]), 'utf-8-bom'],
    ['Shift_JIS (Excel on Japanese Windows)', iconv.encode(japanese, 'Shift_JIS'), 'shift_jis'],
  ])('when the file is %s, then it is read as such and the Japanese text comes out the same', (_name, bytes, encoding) => {
    const csv = parseCsv(bytes, USER_IMPORT_COLUMNS);
    expect(csv.encoding).toBe(encoding);
    expect(csv.columns).toEqual([...USER_IMPORT_COLUMNS]);
    expect(csv.records).toEqual([
      {
        line: 2,
        fieldCount: 7,
        fields: {
          userId: 'emp001',
          profile: 'kdanshinnet',
          email: 'emp001@bank.example.co.jp',
          idAdminEmail: 'admin@bank.example.co.jp',
          organization: '株式会社サンプル',
          organizationalUnits: '営業一課;営業部',
          subscriberId: '加入者001',
        },
      },
    ]);
  });

  it('when Shift_JIS uses the Windows extensions (①, ㈱, NEC specials), then they decode too', () => {
    expect(decodeCsvBytes(iconv.encode('㈱サンプル①髙', 'cp932'))).toEqual({ text: '㈱サンプル①髙', encoding: 'shift_jis' });
  });

  it('when the bytes are neither UTF-8 nor Shift_JIS, then the file is refused', () => {
    expect(refusalOf(() => decodeCsvBytes(Buffer.from([0x82, 0xa0, 0xff, 0xfe, 0x80])))).toMatchObject({ code: 'invalid', field: 'file' });
  });
});

describe('the records of a CSV file', () => {
  it('when fields are quoted (commas, doubled quotes, line breaks) and blank or empty lines are between, then each record is whole and numbered by the line it starts on', () => {
    const text = [
      HEADER,
      'emp001,kdanshinnet,a@b.example,c@d.example,"Sample, Inc.",div1,"S""1"""',
      '',
      ',,,,,,',
      'emp002,nissay,a@b.example,c@d.example,"two',
      'lines",div1,S2',
      '   ',
      'emp003,nissay,a@b.example,c@d.example,Org,div1',
    ].join('\r\n');
    const { records } = parseCsv(Buffer.from(text), USER_IMPORT_COLUMNS);
    expect(records.map((r) => [r.line, r.fieldCount, r.fields.userId, r.fields.organization, r.fields.subscriberId])).toEqual([
      [2, 7, 'emp001', 'Sample, Inc.', 'S"1"'],
      [5, 7, 'emp002', 'two\nlines', 'S2'],
      [8, 6, 'emp003', 'Org', undefined],
    ]);
  });

  it.each([
    ['an empty file', '', 'file', /empty/],
    ['a header that misses and adds columns', 'userId,profile,mail\nx,y,z\n', 'header', /missing email, idAdminEmail, organization, organizationalUnits, subscriberId; unknown mail/],
    ['a repeated column', `${HEADER},email\n`, 'header', /repeated email/],
    ['a quote never closed', `${HEADER}\nemp001,"kdanshinnet\n`, 'file', /not valid CSV at line 2/],
  ])('when the file is %s, then it is refused naming the problem', (_name, text, field, reason) => {
    const refusal = refusalOf(() => parseCsv(Buffer.from(text), USER_IMPORT_COLUMNS));
    expect(refusal).toMatchObject({ code: 'invalid', field });
    expect(refusal.reason).toMatch(reason);
  });
});

describe('a users line checked by the registration rules', () => {
  const fields = {
    userId: 'emp001',
    profile: 'kdanshinnet',
    email: 'emp001@bank.example.co.jp',
    idAdminEmail: 'admin@bank.example.co.jp',
    organization: 'sampleCompany',
    organizationalUnits: 'div1-1-1;div1-1;div1',
    subscriberId: 'S-001',
  };

  it('when every field is good, then the line is the registration, units split on ";"', () => {
    expect(userImportRules.readLine(fields)).toEqual({
      label: 'emp001 (kdanshinnet)',
      line: { ...fields, organizationalUnits: ['div1-1-1', 'div1-1', 'div1'] },
    });
  });

  it('when several fields are bad, then each is named with its reason, as the API would name it', () => {
    const read = userImportRules.readLine({ ...fields, profile: 'other', email: 'nope', organization: 'x'.repeat(65), organizationalUnits: 'div1;;div3' });
    expect(read).toEqual({
      label: 'emp001 (other)',
      errors: [
        { field: 'profile', message: expect.stringContaining('kdanshinnet') },
        { field: 'email', message: 'must be an ASCII e-mail address' },
        { field: 'organization', message: 'must be at most 64 characters, without control characters or a space at either end' },
        { field: 'organizationalUnits[1]', message: 'must not be empty' },
      ],
    });
  });

  it('when a value would make a certificate subject the CA refuses (a leading space), then the line names the field', () => {
    // The registration schema holds the PKI engine's own subject rules, so it names the field before the CA would.
    expect(userImportRules.readLine({ ...fields, organization: ' sampleCompany' })).toEqual({
      label: 'emp001 (kdanshinnet)',
      errors: [{ field: 'organization', message: 'must be at most 64 characters, without control characters or a space at either end' }],
    });
  });
});
