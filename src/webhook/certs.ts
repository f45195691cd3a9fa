// The webhook's TLS material without cert-manager: a self-signed CA and a serving certificate
// it signs, and the pure rule for when to renew them. Node can parse X.509 but not issue it,
// so node-forge signs; keys come from Node's own (native, fast) generator.
//
// Rotation keeps every client trusting us throughout: the bundle given to caBundle holds the new
// CA and, until it expires, the previous one; the serving certificate is signed by the newest
// CA, and the server presents it with the new CA cross-signed by the previous one. So a client
// whose trust was fixed before the rotation (an injected reporter's DPREADY_REPORT_CA, fixed at
// its pod's admission; the API server before caBundle is patched) still verifies the chain
// leaf -> new CA (cross-signed) -> previous CA, until the previous CA expires.
import { X509Certificate, generateKeyPairSync, randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import forge from 'node-forge';

export interface TlsBundle {
  /** PEM of the CA certificates to trust: newest first, then the previous CA while it is valid. */
  caBundle: string;
  /** The newest CA, which signs serving certificates. */
  caCert: string;
  caKey: string;
  /** PEM chain: the serving certificate, then (after a CA rotation) the newest CA cross-signed by the previous one. */
  tlsCert: string;
  tlsKey: string;
}

export const CA_LIFETIME_MS = 365 * 24 * 3_600_000;
export const SERVING_LIFETIME_MS = 30 * 24 * 3_600_000;
/** Renew a certificate once less than this share of its lifetime is left. */
const RENEW_AT_REMAINING = 1 / 3;
/** Backdating absorbs clock skew between the controller and the API server. */
const BACKDATE_MS = 5 * 60_000;

function keyPair(): { publicKey: string; privateKey: string } {
  return generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
}

function sign(opts: { subjectCn: string; publicKey: string; issuer?: { cert: string; key: string }; signerKey: string;
  now: number; lifetimeMs: number; ca: boolean; names?: string[]; notAfter?: number }): string {
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(opts.publicKey);
  // Positive, 16 random bytes: unique enough that two replicas racing never collide.
  cert.serialNumber = `01${randomBytes(15).toString('hex')}`;
  cert.validity.notBefore = new Date(opts.now - BACKDATE_MS);
  cert.validity.notAfter = new Date(opts.notAfter ?? opts.now + opts.lifetimeMs);
  const subject = [{ name: 'commonName', value: opts.subjectCn }, { name: 'organizationName', value: 'dpready' }];
  cert.setSubject(subject);
  cert.setIssuer(opts.issuer ? forge.pki.certificateFromPem(opts.issuer.cert).subject.attributes : subject);
  const extensions: object[] = [
    { name: 'basicConstraints', cA: opts.ca, critical: true },
    { name: 'keyUsage', critical: true, ...(opts.ca ? { keyCertSign: true, cRLSign: true, digitalSignature: true } : { digitalSignature: true, keyEncipherment: true }) },
    { name: 'subjectKeyIdentifier' },
  ];
  if (!opts.ca) {
    extensions.push({ name: 'extKeyUsage', serverAuth: true });
    extensions.push({ name: 'subjectAltName', altNames: (opts.names ?? []).map((n) => (/^[\d.]+$|:/.test(n) ? { type: 7, ip: n } : { type: 2, value: n })) });
  }
  cert.setExtensions(extensions);
  cert.sign(forge.pki.privateKeyFromPem(opts.signerKey), forge.md.sha256.create());
  return forge.pki.certificateToPem(cert).replace(/\r\n/g, '\n');
}

export function createCa(now: number): { cert: string; key: string } {
  const { publicKey, privateKey } = keyPair();
  const cert = sign({ subjectCn: `dpready-webhook-ca-${now}`, publicKey, signerKey: privateKey, now, lifetimeMs: CA_LIFETIME_MS, ca: true });
  return { cert, key: privateKey };
}

/** The new CA's name and key, signed by the previous CA: the bridge for clients that trust only the previous one. Valid as long as the previous CA. */
export function crossSign(next: { cert: string }, prev: { cert: string; key: string }, now: number): string {
  const cn = forge.pki.certificateFromPem(next.cert).subject.getField('CN').value as string;
  const publicKey = new X509Certificate(next.cert).publicKey.export({ type: 'spki', format: 'pem' }).toString();
  return sign({ subjectCn: cn, publicKey, issuer: prev, signerKey: prev.key, now, lifetimeMs: 0, ca: true, notAfter: Date.parse(new X509Certificate(prev.cert).validTo) });
}

export function issueServing(ca: { cert: string; key: string }, names: string[], now: number): { cert: string; key: string } {
  const { publicKey, privateKey } = keyPair();
  const cert = sign({ subjectCn: names[0] ?? 'dpready-webhook', publicKey, issuer: ca, signerKey: ca.key, now, lifetimeMs: SERVING_LIFETIME_MS, ca: false, names });
  return { cert, key: privateKey };
}

/** Splits a PEM bundle into its certificates. */
export function splitPem(bundle: string): string[] {
  return bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g)?.map((s) => s.trimEnd() + '\n') ?? [];
}

export type Renewal = 'none' | 'serving' | 'ca';

/**
 * What to renew, given the stored bundle (or nothing) and the names the serving certificate
 * must carry. Pure: the clock is a parameter, and parsing failures mean "renew".
 */
export function renewalNeeded(b: TlsBundle | undefined, names: string[], now: number): Renewal {
  if (!b) return 'ca';
  let ca: X509Certificate, serving: X509Certificate;
  try {
    ca = new X509Certificate(b.caCert);
    serving = new X509Certificate(splitPem(b.tlsCert)[0] ?? '');
  } catch {
    return 'ca';
  }
  if (nearEnd(ca, now)) return 'ca';
  if (nearEnd(serving, now) || !serving.checkIssued(ca) || !serving.verify(ca.publicKey)) return 'serving';
  const sans = (serving.subjectAltName ?? '').split(', ').map((s) => canonicalName(s.replace(/^(DNS|IP Address):/, '')));
  if (!names.every((n) => sans.includes(canonicalName(n)))) return 'serving';
  return 'none';
}

/** IPs in one spelling (the certificate prints 0:0:0:0:0:0:0:1 for ::1): otherwise renewal would run at every sync. */
function canonicalName(n: string): string {
  if (isIP(n) !== 6) return n.toLowerCase();
  return new URL(`http://[${n}]/`).hostname.slice(1, -1);
}

function nearEnd(c: X509Certificate, now: number): boolean {
  const from = Date.parse(c.validFrom), to = Date.parse(c.validTo);
  return !(now >= from - BACKDATE_MS) || to - now < (to - from) * RENEW_AT_REMAINING;
}

/** The next bundle: a new CA (keeping the previous one trusted while it is valid) or a new serving certificate. */
export function renew(prev: TlsBundle | undefined, what: Exclude<Renewal, 'none'>, names: string[], now: number): TlsBundle {
  const ca = what === 'ca' || !prev ? createCa(now) : { cert: prev.caCert, key: prev.caKey };
  const serving = issueServing(ca, names, now);
  const valid = (pem: string) => { try { return Date.parse(new X509Certificate(pem).validTo) > now; } catch { return false; } };
  const trusted = [ca.cert];
  let bridge: string[] = [];
  if (what === 'ca' && prev) {
    trusted.push(...splitPem(prev.caBundle).slice(0, 1).filter(valid));
    // Only a previous CA we can still read and sign with; an unreadable one is simply replaced.
    try { if (valid(prev.caCert)) bridge = [crossSign(ca, { cert: prev.caCert, key: prev.caKey }, now)]; } catch { bridge = []; }
  } else if (prev) {
    // A new serving certificate from the same CA keeps the bridge while it is valid.
    bridge = splitPem(prev.tlsCert).slice(1).filter(valid);
  }
  return { caBundle: trusted.join(''), caCert: ca.cert, caKey: ca.key, tlsCert: [serving.cert, ...bridge].join(''), tlsKey: serving.key };
}
