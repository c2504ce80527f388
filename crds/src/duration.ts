/** Go-style durations as the API server's CEL `duration()` accepts them, restricted to h, m, s, ms. */
export const DURATION_PATTERN = '^([0-9]+(ms|s|m|h))+$';

const UNIT_MS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };

/** Parses `1h30m`, `90s`, `500ms` into milliseconds; undefined when the text is not a duration. */
export function parseDuration(text: string): number | undefined {
  if (!new RegExp(DURATION_PATTERN).test(text)) return undefined;
  let total = 0;
  for (const [, amount, unit] of text.matchAll(/([0-9]+)(ms|s|m|h)/g)) {
    total += Number(amount) * (UNIT_MS[unit as string] as number);
  }
  return total;
}
