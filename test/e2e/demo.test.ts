/**
 * `make demo` works: the compiled demo, run once (`--once`) with its own control plane, goes through the
 * whole scenario, says so, exits 0 and leaves nothing running.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/fake-kubelet.js';
import { APP_POD_IP, OPERATOR_HOST } from '../support/scenario-resources.js';

/** Loopback addresses with a listening TCP socket, from /proc/net/tcp (local address in little-endian hex). */
function listeningAddresses(): Set<string> {
  const out = new Set<string>();
  for (const line of fs.readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const [, local, , state] = line.trim().split(/\s+/);
    if (state !== '0A' || local === undefined) continue;
    const hex = local.split(':')[0]!;
    out.add([6, 4, 2, 0].map((i) => parseInt(hex.slice(i, i + 2), 16)).join('.'));
  }
  return out;
}

function runDemo(): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(REPO_ROOT, 'dist/test/demo/demo.js'), '--once'], {
      cwd: REPO_ROOT,
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (b: Buffer) => (output += b.toString()));
    child.stderr.on('data', (b: Buffer) => (output += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

describe('make demo', () => {
  it('runs the scenario once, reports every call as expected and stops everything', async () => {
    const { code, output } = await runDemo();
    expect(output, output).toContain('Every call got what it should.');
    expect(code, output).toBe(0);
    for (const section of [
      'kubectl get scopegate -A',
      'acme::1234567::admin',
      'Calls through the sidecar',
      'permission_denied',
      'A role change, live',
      'A signing key rotation',
      'Audit records',
      'oauth-admin$@1234567.acme',
      'Prometheus: sum by (decision, reason)',
      'stopped: operator, sidecar',
    ]) {
      expect(output).toContain(section);
    }
    // Nothing listens on the operator's or the pod's address any more.
    const listening = listeningAddresses();
    expect(listening.has(OPERATOR_HOST)).toBe(false);
    expect(listening.has(APP_POD_IP)).toBe(false);
  }, 180_000);
});
