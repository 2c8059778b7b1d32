// Reading an uploaded CSV file: its encoding (UTF-8 with or without BOM, else Shift_JIS as Excel on Japanese Windows
// writes it), then its records with the line each starts on.
import { parse } from 'csv-parse/sync';
import iconv from 'iconv-lite';
import { Refusal } from './refusal';

export type CsvEncoding = 'utf-8' | 'utf-8-bom' | 'shift_jis';

export interface CsvRecord {
  /** The file's line the record starts on (1 is the header). */
  line: number;
  /** The record's fields by column name; a field missing from a short record is absent. */
  fields: Record<string, string>;
  /** How many fields the record had, to name a line with too few or too many. */
  fieldCount: number;
}

export interface CsvFile {
  encoding: CsvEncoding;
  columns: string[];
  records: CsvRecord[];
}

const UTF8_BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/** BOM → UTF-8; bytes that are valid UTF-8 → UTF-8; otherwise Shift_JIS (Windows-31J, Excel's), or a refusal. */
export function decodeCsvBytes(bytes: Buffer): { text: string; encoding: CsvEncoding } {
  if (bytes.subarray(0, 3).equals(UTF8_BOM)) return { text: bytes.subarray(3).toString('utf8'), encoding: 'utf-8-bom' };
  try {
    return { text: new TextDecoder('utf-8', { fatal: true }).decode(bytes), encoding: 'utf-8' };
  } catch {
    // Not UTF-8: the other encoding Japanese offices export in.
  }
  const text = iconv.decode(bytes, 'cp932');
  if (text.includes('\uFFFD')) throw Refusal.invalid('the file is neither UTF-8 nor Shift_JIS text', 'file');
  return { text, encoding: 'shift_jis' };
}

/**
 * The records under the header line. Blank lines and lines of empty fields only (Excel's blank rows) are skipped;
 * a quoted field may hold commas, quotes ("") and line breaks. A malformed file is refused naming its line.
 */
export function parseCsv(bytes: Buffer, expectedColumns: readonly string[]): CsvFile {
  const decoded = decodeCsvBytes(bytes);
  // One kind of line break: csv-parse counts a CRLF inside a quoted field as two lines.
  const text = decoded.text.replace(/\r\n?/g, '\n');
  let rows: Array<{ record: string[]; info: { lines: number; empty_lines: number } }>;
  try {
    rows = parse(text, { info: true, relax_column_count: true, skip_empty_lines: true }) as unknown as typeof rows;
  } catch (err) {
    const e = err as Error & { lines?: number };
    throw Refusal.invalid(`the file is not valid CSV${e.lines ? ` at line ${e.lines}` : ''}: ${e.message.replace(/^[^:]*: /, '')}`, 'file');
  }
  const [header, ...body] = rows;
  if (!header) throw Refusal.invalid('the file is empty: a header line and one line per user are expected', 'file');
  const columns = header.record.map((c) => c.trim());
  const missing = expectedColumns.filter((c) => !columns.includes(c));
  const unknown = columns.filter((c) => !expectedColumns.includes(c));
  const repeated = columns.filter((c, i) => columns.indexOf(c) !== i);
  if (missing.length || unknown.length || repeated.length) {
    const problems = [
      missing.length ? `missing ${missing.join(', ')}` : '',
      unknown.length ? `unknown ${unknown.join(', ')}` : '',
      repeated.length ? `repeated ${repeated.join(', ')}` : '',
    ].filter(Boolean);
    throw Refusal.invalid(`the header line must name the columns ${expectedColumns.join(',')}: ${problems.join('; ')}`, 'header');
  }

  const records: CsvRecord[] = [];
  let previous = header.info;
  for (const { record, info } of body) {
    // csv-parse counts the line a record ends on; it starts after the previous one and the blank lines between.
    const line = previous.lines + 1 + (info.empty_lines - previous.empty_lines);
    previous = info;
    if (record.every((field) => field.trim() === '')) continue;
    const fields: Record<string, string> = {};
    columns.forEach((column, i) => {
      if (i < record.length) fields[column] = record[i]!;
    });
    records.push({ line, fields, fieldCount: record.length });
  }
  return { encoding: decoded.encoding, columns, records };
}
