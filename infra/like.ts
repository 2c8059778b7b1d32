// LIKE patterns from user input: %, _ and the escape character itself match literally, on SQLite and PostgreSQL alike.

/** `<column> ${LIKE_ESCAPED}` with one binding made by likePattern (SQLite has no default escape character). */
export const LIKE_ESCAPED = "like ? escape '\\'";

export function likePattern(text: string, mode: 'prefix' | 'contains'): string {
  const literal = text.replace(/[\\%_]/g, (c) => `\\${c}`);
  return mode === 'prefix' ? `${literal}%` : `%${literal}%`;
}
