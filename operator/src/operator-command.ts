/**
 * `scopegate operator`: parses flags and environment (read here, once), starts the operator, and
 * resolves with the exit code after SIGTERM/SIGINT (0) or after losing leadership (1, so the
 * Deployment restarts a clean process rather than one with a leader's half-finished state).
 */
import { operatorUsage, parseOperatorOptions } from './options.js';
import { startOperator } from './main.js';

export async function runOperatorCommand(argv: string[]): Promise<number> {
  const parsed = parseOperatorOptions(argv, process.env);
  if (!parsed.ok) {
    if (parsed.help) {
      console.log(operatorUsage());
      return 0;
    }
    console.error(
      `scopegate operator: invalid configuration:\n${parsed.errors.map((e) => `  - ${e}`).join('\n')}\n\nRun 'scopegate operator --help' for the options.`,
    );
    return 2;
  }
  const operator = await startOperator(parsed.options);
  const signals: NodeJS.Signals[] = ['SIGTERM', 'SIGINT'];
  const onSignal = () => void operator.stop();
  for (const s of signals) process.once(s, onSignal);
  const why = await operator.done;
  for (const s of signals) process.off(s, onSignal);
  if (why === 'lost-leadership') {
    await operator.stop();
    return 1;
  }
  return 0;
}
