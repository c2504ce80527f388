/** Plain-text tables and (TTY-only) colours for the demo's output. */
const color = process.stdout.isTTY === true && process.env.NO_COLOR === undefined;
const wrap = (open: number, close: number) => (s: string) => (color ? `\x1b[${open}m${s}\x1b[${close}m` : s);

export const style = {
  bold: wrap(1, 22),
  dim: wrap(2, 22),
  green: wrap(32, 39),
  red: wrap(31, 39),
};

// eslint-disable-next-line no-control-regex
const visibleLength = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '').length;

/** Columns padded to their widest cell; a dim rule under the header. */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) =>
    Math.max(visibleLength(h), ...rows.map((r) => visibleLength(r[i] ?? ''))),
  );
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c + ' '.repeat(widths[i]! - visibleLength(c))))
      .join('  ')
      .trimEnd();
  return [
    style.bold(line(header)),
    style.dim(widths.map((w) => '─'.repeat(w)).join('  ')),
    ...rows.map(line),
  ].join('\n');
}
