// demo-jwt.mjs - a JWT from the demo issuer of conf/policy.yaml
// (https://demo.issuer.local/, RS256, kid demo-rs256, signed with
// conf/demo-jwt-private.pem, a public demo key: never trust it outside the demo).
//
//   node scripts/demo-jwt.mjs [SUBJECT] [AUDIENCE] [SECONDS]
//     prints the token: SUBJECT default demo-app, AUDIENCE default
//     https://127.0.0.1:8443 (the make-run Key Vault API; "sasgw" for the issuing API),
//     valid SECONDS (default 3600)
//   import { demoJwt } from './scripts/demo-jwt.mjs'   the same as a function
import { createSign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export function demoJwt(sub = 'demo-app', aud = 'https://127.0.0.1:8443', seconds = 3600) {
    const now = Math.floor(Date.now() / 1000);
    const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const input = `${b64({ alg: 'RS256', typ: 'JWT', kid: 'demo-rs256' })}.${b64({
        iss: 'https://demo.issuer.local/', sub, aud, iat: now, nbf: now - 60, exp: now + seconds,
    })}`;
    const key = readFileSync(path.join(ROOT, 'conf', 'demo-jwt-private.pem'));
    return `${input}.${createSign('sha256').update(input).sign(key).toString('base64url')}`;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
    const [sub, aud, secs] = process.argv.slice(2);
    console.log(demoJwt(sub || undefined, aud || undefined, secs ? Number(secs) : undefined));
}
