/** Turns a SidecarConfig into what `decide` needs, once per revision: imported keys and the policy. */
import { importServerKeys } from '../auth/keys.js';
import type { ServerVerifier } from '../auth/verify.js';
import type { SidecarConfig } from '../config/contract.js';
import { compilePolicy, type CompiledPolicy } from '../policy/compile.js';

export interface CompiledServer extends ServerVerifier {
  /** Keys that could not be used, for status and `explain`. */
  problems: string[];
}

export interface CompiledConfig {
  config: SidecarConfig;
  revision: number;
  servers: CompiledServer[];
  /** Servers by exact `issuer`; several resources may name the same issuer. */
  serversByIssuer: ReadonlyMap<string, CompiledServer[]>;
  policy: CompiledPolicy;
  /** Problems found while compiling: unusable keys, patterns that never match. */
  warnings: string[];
}

export async function compileConfig(config: SidecarConfig): Promise<CompiledConfig> {
  const warnings: string[] = [];
  const servers: CompiledServer[] = [];
  const serversByIssuer = new Map<string, CompiledServer[]>();
  for (const server of config.authorizationServers) {
    const { keys, problems } = await importServerKeys(server);
    const compiled: CompiledServer = { server, keys, problems };
    servers.push(compiled);
    serversByIssuer.set(server.issuer, [...(serversByIssuer.get(server.issuer) ?? []), compiled]);
    warnings.push(...problems.map((p) => `AuthorizationServer ${server.name}: ${p}`));
  }
  const policy = compilePolicy(config.roles);
  warnings.push(...policy.warnings);
  return { config, revision: config.revision, servers, serversByIssuer, policy, warnings };
}
