/** "token" or "tokens", for a count shown apart from its number (a big figure over a caption). */
export function tokenWord(count: number): string {
  return Math.abs(count) === 1 ? "token" : "tokens";
}

/** "1 token", "3 tokens": every count of tokens a user reads goes through here. */
export function tokenCount(count: number): string {
  return `${count} ${tokenWord(count)}`;
}
