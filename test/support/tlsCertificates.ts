import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A private certificate authority and a server certificate it signed for 127.0.0.1, as files. */
export interface TlsFiles {
  directory: string;
  /** The CA's certificate (PEM): what REDIS_TLS_CA_FILE names. */
  caFile: string;
  /** The server's certificate and key (PEM), for redis-server's tls-cert-file and tls-key-file. */
  certFile: string;
  keyFile: string;
  /** The CA's certificate, read. */
  caPem: string;
  remove(): void;
}

/** Whether openssl is there to make them (Debian's openssl package; on every machine here). */
export function opensslInstalled(): boolean {
  return spawnSync('openssl', ['version'], { encoding: 'utf8' }).status === 0;
}

/**
 * Made with openssl in a temporary directory, valid for two days: the CA is nobody's but the
 * test's, so a client that trusts only the system's authorities refuses the server.
 */
export function makeTlsFiles(): TlsFiles {
  const directory = mkdtempSync(join(tmpdir(), 'tasjil-tls-'));
  const file = (name: string) => join(directory, name);
  const run = (args: string[]) => {
    const result = spawnSync('openssl', args, { cwd: directory, encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`openssl ${args[0]} failed: ${result.stderr}`);
  };
  writeFileSync(file('server.ext'), 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n');
  run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=Tasjil test CA']);
  run(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1']);
  run(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'server.ext']);
  return {
    directory,
    caFile: file('ca.pem'),
    certFile: file('server.pem'),
    keyFile: file('server.key'),
    caPem: readFileSync(file('ca.pem'), 'utf8'),
    remove: () => rmSync(directory, { recursive: true, force: true }),
  };
}
