// A real OpenID provider (npm `oidc-provider` 8.x) on 127.0.0.1, for the tests.
// Usage: node provider.mjs CONFIG.json   (tests/upstream.py writes the config)
// Prints one JSON line {"issuer": ...} on stdout once it listens; logs each request and errors on stderr.
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';

import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const issuer = `http://127.0.0.1:${config.port}`;

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

const keys = config.algs.map(signingKey);
// Tests that must sign tokens of their own with the provider's key (to see them refused) read it here.
writeFileSync(config.keys_file, JSON.stringify({ keys }));
const users = config.users ?? {};
const resource = config.resource;
const provider = new Provider(issuer, {
  clients: config.clients,
  jwks: { keys },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  clientDefaults: { id_token_signed_response_alg: config.algs[0] },
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  // Put email and name in the ID token, as Google and Entra ID do, not only behind userinfo.
  conformIdTokenClaims: false,
  pkce: { required: () => true },
  // Swagger UI exchanges the code from the browser, so the token endpoint needs CORS: allowed, as
  // Keycloak's "+" web origin does, for the origins of the client's redirect URIs and no others.
  clientBasedCORS: (ctx, origin, client) => client.redirectUris.some((uri) => new URL(uri).origin === origin),
  findAccount: async (ctx, id) => ({
    accountId: id,
    claims: async () => ({ sub: id, email: `${id}@example.test`, email_verified: true, name: id, ...users[id] }),
  }),
  features: {
    devInteractions: { enabled: true }, // its own login page: any login, any password
    // A client that sends a DPoP proof with its token request gets a token bound to its key (RFC 9449).
    dPoP: { enabled: true },
    // With a resource (our API's audience), access tokens are JWTs for it, as a jwks-mode service expects.
    resourceIndicators: {
      enabled: Boolean(resource),
      defaultResource: () => resource, // clients need not send `resource`
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({
        scope: config.scopes,
        audience: config.audience,
        accessTokenFormat: 'jwt',
        accessTokenTTL: config.access_token_ttl ?? 600,
        jwt: { sign: { alg: config.access_token_alg ?? config.algs[0] } },
      }),
    },
  },
});

// One line per request on stderr (the tests' log file), so that tests can count what the service asked for.
provider.use(async (ctx, next) => {
  console.error(`request ${ctx.method} ${ctx.path}`);
  await next();
});

for (const event of ['server_error', 'authorization.error', 'grant.error', 'introspection.error']) {
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
