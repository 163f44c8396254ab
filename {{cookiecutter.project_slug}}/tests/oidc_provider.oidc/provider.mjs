// A real OpenID provider (npm `oidc-provider` 8.x) on loopback, for the login tests.
// Usage: node provider.mjs CONFIG.json   (tests/upstream.py writes the config)
// Prints one JSON line {"issuer": ...} on stdout once it listens; logs errors on stderr.
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';

import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const issuer = `http://${config.host}:${config.port}`;

// A fresh key per algorithm at every start: a restart is a key rotation.
function signingKey(alg) {
  const [type, options] = {
    RS256: ['rsa', { modulusLength: 2048 }],
    PS256: ['rsa', { modulusLength: 2048 }],
    ES256: ['ec', { namedCurve: 'P-256' }],
    EdDSA: ['ed25519', {}],
  }[alg];
  const { privateKey } = generateKeyPairSync(type, options);
  return { ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), alg, use: 'sig' };
}

const users = config.users ?? {};
const keys = config.algs.map(signingKey);
// The tests sign ID tokens of their own with these keys, to check what the service refuses.
writeFileSync(config.keys_file, JSON.stringify({ keys }));
const provider = new Provider(issuer, {
  clients: config.clients,
  jwks: { keys },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  clientDefaults: { id_token_signed_response_alg: config.algs[0] },
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  // Put email and name in the ID token, as Google and Entra ID do, not only behind userinfo.
  conformIdTokenClaims: false,
  pkce: { required: () => true },
  findAccount: async (ctx, id) => ({
    accountId: id,
    claims: async () => ({ sub: id, email: `${id}@example.test`, email_verified: true, name: id, ...users[id] }),
  }),
  features: {
    devInteractions: { enabled: true }, // its own login page: any login, any password
  },
});

for (const event of ['server_error', 'authorization.error', 'grant.error']) {
  provider.on(event, (ctx, err) => console.error(`${event}: ${err?.message} ${err?.error_description ?? ''}`));
}

const server = provider.listen(config.port, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ issuer })}\n`);
});
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
}
