/**
 * One page of a keyset listing. The query asks for `limit + 1` rows: the extra
 * row is never shown, it only says there is a next page, which starts after the
 * last row shown (`cursorOf` of that row).
 */
export function keysetPage<Row, Item>(
  rows: Row[],
  limit: number,
  view: (row: Row) => Item,
  cursorOf: (row: Row) => string,
): { items: Item[]; nextCursor?: string } {
  const shown = rows.slice(0, limit);
  const last = shown.at(-1);
  const items = shown.map((row) => view(row));
  return rows.length > limit && last !== undefined ? { items, nextCursor: cursorOf(last) } : { items };
}
