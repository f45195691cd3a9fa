// The webhook's TLS material without cert-manager: a self-signed CA and a serving certificate
// it signs, and the pure rule for when to renew them. Node can parse X.509 but not issue it,
// so node-forge signs; keys come from Node's own (native, fast) generator.
//
// Rotation keeps the API server trusting us throughout: the bundle given to caBundle holds
// the new CA and, until it expires, the previous one, and the serving certificate is always
// signed by the newest CA.
import { X509Certificate, generateKeyPairSync, randomBytes } from 'node:crypto';
import forge from 'node-forge';

export interface TlsBundle {
  /** PEM of the CA certificates to trust: newest first, then the previous CA while it is valid. */
  caBundle: string;
  /** The newest CA, which signs serving certificates. */
  caCert: string;
  caKey: string;
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
  now: number; lifetimeMs: number; ca: boolean; names?: string[] }): string {
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(opts.publicKey);
  // Positive, 16 random bytes: unique enough that two replicas racing never collide.
  cert.serialNumber = `01${randomBytes(15).toString('hex')}`;
  cert.validity.notBefore = new Date(opts.now - BACKDATE_MS);
  cert.validity.notAfter = new Date(opts.now + opts.lifetimeMs);
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
    serving = new X509Certificate(b.tlsCert);
  } catch {
    return 'ca';
  }
  if (nearEnd(ca, now)) return 'ca';
  if (nearEnd(serving, now) || !serving.checkIssued(ca) || !serving.verify(ca.publicKey)) return 'serving';
  const sans = (serving.subjectAltName ?? '').split(', ').map((s) => s.replace(/^(DNS|IP Address):/, ''));
  if (!names.every((n) => sans.includes(n))) return 'serving';
  return 'none';
}

function nearEnd(c: X509Certificate, now: number): boolean {
  const from = Date.parse(c.validFrom), to = Date.parse(c.validTo);
  return !(now >= from - BACKDATE_MS) || to - now < (to - from) * RENEW_AT_REMAINING;
}

/** The next bundle: a new CA (keeping the previous one trusted while it is valid) or a new serving certificate. */
export function renew(prev: TlsBundle | undefined, what: Exclude<Renewal, 'none'>, names: string[], now: number): TlsBundle {
  const ca = what === 'ca' || !prev ? createCa(now) : { cert: prev.caCert, key: prev.caKey };
  const serving = issueServing(ca, names, now);
  const trusted = [ca.cert];
  if (what === 'ca' && prev) {
    for (const pem of splitPem(prev.caBundle).slice(0, 1)) {
      try { if (Date.parse(new X509Certificate(pem).validTo) > now) trusted.push(pem); } catch { /* unreadable: drop */ }
    }
  }
  return { caBundle: trusted.join(''), caCert: ca.cert, caKey: ca.key, tlsCert: serving.cert, tlsKey: serving.key };
}
