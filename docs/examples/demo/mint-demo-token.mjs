#!/usr/bin/env node
// DEMO ONLY. Mints an access token for docs/examples/generic.yaml with the demo key in this folder,
// so you can try `scopegate explain` and the standalone sidecar without an identity provider.
// Usage: node docs/examples/demo/mint-demo-token.mjs [role ...] [--expires 2099-01-01T00:00:00Z]
/* global URL, console */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { importJWK, SignJWT } from 'jose';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { expires: { type: 'string', default: '2099-01-01T00:00:00Z' } },
});
const jwk = JSON.parse(await readFile(new URL('./demo-signing-key.private.jwk.json', import.meta.url), 'utf8'));
const roles = positionals.length > 0 ? positionals : ['reader'];
const token = await new SignJWT({
  scope: roles.map((role) => `demo::1234567::${role}`).join(' '),
  client_id: 'demo-client',
})
  .setProtectedHeader({ alg: 'RS256', kid: jwk.kid, typ: 'at+jwt' })
  .setIssuer('https://idp.demo.example')
  .setAudience('https://api.demo.example')
  .setSubject('demo-client')
  .setIssuedAt(new Date('2025-01-01T00:00:00Z'))
  .setExpirationTime(new Date(values.expires))
  .sign(await importJWK(jwk, 'RS256'));
console.log(token);
