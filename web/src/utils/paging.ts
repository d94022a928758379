// Every page of a List call, following next_page_token.

/** Calls `page` with each page token in turn until the last page or `limit` items. */
export async function listAll<T>(
  page: (pageToken: string) => Promise<{ items: T[]; nextPageToken: string }>,
  limit = Infinity,
): Promise<{ items: T[]; complete: boolean }> {
  const items: T[] = [];
  let token = "";
  do {
    const answer = await page(token);
    items.push(...answer.items);
    token = answer.nextPageToken;
  } while (token !== "" && items.length < limit);
  return { items: items.slice(0, limit), complete: token === "" && items.length <= limit };
}
