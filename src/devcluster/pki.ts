// Certificates and keys for a throwaway control plane: a CA, the apiserver's serving cert,
// an admin client cert in system:masters, and the service-account signing key pair.
// openssl does the X.509 work (Node can parse certificates but not issue them).
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DpreadyError } from '../errors.ts';

const run = promisify(execFile);

export interface Pki {
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  adminCert: string;
  adminKey: string;
  saPublicKey: string;
  saPrivateKey: string;
}

async function openssl(dir: string, args: string[]): Promise<void> {
  try {
    await run('openssl', args, { cwd: dir });
  } catch (err) {
    const detail = (err as { stderr?: string }).stderr ?? String(err);
    throw new DpreadyError('DPR_CONTROL_PLANE', `openssl ${args[0]} failed (is openssl installed?): ${detail.trim()}`, { cause: err });
  }
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

async function issue(dir: string, name: string, subject: string, extensions: string[]): Promise<void> {
  await openssl(dir, ['req', '-new', ...EC, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject,
    ...extensions.flatMap((e) => ['-addext', e])]);
  await openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial',
    '-days', '7', '-copy_extensions', 'copy', '-out', `${name}.crt`]);
}

/** A client certificate of the control plane's CA, e.g. `/O=system:nodes/CN=system:node:n1`; returns [cert, key]. */
export async function issueClientCert(dir: string, name: string, subject: string): Promise<[string, string]> {
  await issue(dir, name, subject, ['extendedKeyUsage=clientAuth', 'keyUsage=critical,digitalSignature,keyEncipherment']);
  return [join(dir, `${name}.crt`), join(dir, `${name}.key`)];
}

/** Writes every file into `dir` and returns their paths. */
export async function createPki(dir: string): Promise<Pki> {
  await openssl(dir, ['req', '-x509', ...EC, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '7',
    '-subj', '/CN=dpready-dev-ca', '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature']);
  // 10.244.0.1: the real node's address, where pods reach the apiserver (through 10.96.0.1).
  await issue(dir, 'server', '/CN=kube-apiserver', [
    'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,IP:10.96.0.1,IP:10.244.0.1',
    'extendedKeyUsage=serverAuth', 'keyUsage=critical,digitalSignature,keyEncipherment']);
  await issue(dir, 'admin', '/O=system:masters/CN=dpready-admin', [
    'extendedKeyUsage=clientAuth', 'keyUsage=critical,digitalSignature,keyEncipherment']);

  const sa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  await writeFile(join(dir, 'sa.pub'), sa.publicKey.export({ type: 'spki', format: 'pem' }));
  await writeFile(join(dir, 'sa.key'), sa.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });

  const p = (f: string) => join(dir, f);
  return {
    caCert: p('ca.crt'), caKey: p('ca.key'),
    serverCert: p('server.crt'), serverKey: p('server.key'),
    adminCert: p('admin.crt'), adminKey: p('admin.key'),
    saPublicKey: p('sa.pub'), saPrivateKey: p('sa.key'),
  };
}
