// Probe targets: the forms PROBE_TARGET accepts, parsed once into a closed union so the
// probes never see a string. The existing reporter treated a bare `10.0.0.1:80` as a URL
// and never succeeded; here every accepted form is explicit and everything else is an error.
import { isIP } from 'node:net';
import { DpreadyError } from '../errors.ts';

export type Target =
  | { kind: 'tcp'; raw: string; host: string; port: number }
  | { kind: 'http' | 'https'; raw: string; url: URL; host: string; port: number }
  | { kind: 'dns'; raw: string; name: string };

/** The variable the entries came from, named in every error (PROBE_TARGET or PROBE_DENY_TARGET). */
type Variable = 'PROBE_TARGET' | 'PROBE_DENY_TARGET';
const FORMS = 'http://host[:port]/path, https://…, tcp://host:port, host:port, [ipv6]:port or dns://name';
// RFC 1123 host names (DNS labels, dots, optional trailing dot for an absolute name).
const HOSTNAME = /^(?=.{1,253}\.?$)[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9])?)*\.?$/i;

let VARIABLE: Variable = 'PROBE_TARGET';

function fail(entry: string, why: string): never {
  throw new DpreadyError('DPR_BAD_TARGET',
    `${VARIABLE} entry ${JSON.stringify(entry)}: ${why}; expected ${FORMS}`);
}

function parsePort(entry: string, text: string): number {
  if (!/^\d{1,5}$/.test(text)) fail(entry, `port ${JSON.stringify(text)} is not a number`);
  const port = Number(text);
  if (port < 1 || port > 65535) fail(entry, `port ${port} is outside 1-65535`);
  return port;
}

function checkHost(entry: string, host: string): string {
  if (host === '') fail(entry, 'host is empty');
  if (isIP(host) === 4 || HOSTNAME.test(host)) return host;
  if (isIP(host) === 6) fail(entry, 'an IPv6 address needs brackets, as in [::1]:80');
  return fail(entry, `host ${JSON.stringify(host)} is neither an IP address nor a DNS name`);
}

/** `host:port` or `[v6]:port`, as in tcp:// and bare entries. */
function parseHostPort(entry: string, text: string): { host: string; port: number } {
  const v6 = /^\[([^\]]*)\]:(.*)$/.exec(text);
  if (v6) {
    if (isIP(v6[1]!) !== 6) fail(entry, `${JSON.stringify(v6[1])} in brackets is not an IPv6 address`);
    return { host: v6[1]!, port: parsePort(entry, v6[2]!) };
  }
  const colon = text.lastIndexOf(':');
  if (colon < 0) fail(entry, 'no port');
  const host = text.slice(0, colon);
  if (host.includes(':')) fail(entry, 'an IPv6 address needs brackets, as in [::1]:80');
  return { host: checkHost(entry, host), port: parsePort(entry, text.slice(colon + 1)) };
}

export function parseTarget(entry: string): Target {
  return parseTargetOf(entry, 'PROBE_TARGET');
}

function parseTargetOf(entry: string, variable: Variable): Target {
  // Parsing is synchronous, so the variable named in errors can be set for its duration.
  const outer = VARIABLE;
  VARIABLE = variable;
  try {
    return parseOne(entry);
  } finally {
    VARIABLE = outer;
  }
}

function parseOne(entry: string): Target {
  const raw = entry.trim();
  if (raw === '') fail(entry, 'empty entry (check for doubled or trailing commas)');
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(raw)?.[1]?.toLowerCase();
  if (scheme === 'http' || scheme === 'https') {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      return fail(raw, 'not a valid URL');
    }
    // URL keeps IPv6 hosts bracketed; sockets want them bare.
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    if (host === '') fail(raw, 'host is empty');
    if (url.username || url.password) fail(raw, 'credentials in the URL are not supported');
    const port = url.port ? Number(url.port) : scheme === 'https' ? 443 : 80;
    return { kind: scheme, raw, url, host, port };
  }
  if (scheme === 'tcp') {
    const rest = raw.slice('tcp://'.length).replace(/\/$/, '');
    return { kind: 'tcp', raw, ...parseHostPort(raw, rest) };
  }
  if (scheme === 'dns') {
    const name = raw.slice('dns://'.length).replace(/\/$/, '');
    if (name === '') fail(raw, 'name is empty');
    if (!HOSTNAME.test(name)) fail(raw, `${JSON.stringify(name)} is not a DNS name`);
    return { kind: 'dns', raw, name };
  }
  if (scheme !== undefined) fail(raw, `unknown scheme ${JSON.stringify(scheme + '://')}`);
  if (raw.includes('/')) fail(raw, 'a bare entry has no path; use http:// for URLs');
  return { kind: 'tcp', raw, ...parseHostPort(raw, raw) };
}

/** Comma-separated list; the datapath is ready when every entry has succeeded once. */
export function parseTargets(text: string, variable: Variable = 'PROBE_TARGET'): Target[] {
  if (text.trim() === '') {
    throw new DpreadyError('DPR_BAD_TARGET', `${variable}=${JSON.stringify(text)}: empty; expected one or more of ${FORMS}, comma-separated`);
  }
  return text.split(',').map((entry) => parseTargetOf(entry, variable));
}

/**
 * PROBE_DENY_TARGET: the same forms as PROBE_TARGET except dns://, since a name that does or does
 * not resolve says nothing about a NetworkPolicy (which acts on connections, not on lookups).
 */
export function parseDenyTargets(text: string): Target[] {
  const targets = parseTargets(text, 'PROBE_DENY_TARGET');
  for (const t of targets) {
    if (t.kind === 'dns') {
      throw new DpreadyError('DPR_BAD_TARGET', `PROBE_DENY_TARGET entry ${JSON.stringify(t.raw)}: a dns:// entry cannot be denied by a NetworkPolicy; expected tcp://host:port, host:port, http://… or https://…`);
    }
  }
  return targets;
}
