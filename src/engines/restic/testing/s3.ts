/**
 * A throwaway S3 server for tests: s3rver on a free loopback port, over HTTPS with a
 * self-signed certificate made at start with the openssl CLI (restic does not talk to
 * s3rver over plain HTTP). Everything lives in one temp dir, removed by `stop()`.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import S3rver from 's3rver';

const execFileAsync = promisify(execFile);

export interface S3TestServer {
  /** `https://127.0.0.1:PORT` */
  endpoint: string;
  port: number;
  /** The PEM file that signs the server's certificate: give it to restic as `cacert`. */
  cacert: string;
  /** The credentials s3rver accepts, as restic reads them from its environment. */
  env: Record<string, string>;
  /** A restic repository URL inside a bucket of this server. */
  repositoryUrl(bucket: string, path: string): string;
  stop(): Promise<void>;
}

export async function startS3Server(options: { buckets?: string[] } = {}): Promise<S3TestServer> {
  const dir = await mkdtemp(join(tmpdir(), 'lifeboat-s3-'));
  try {
    const key = join(dir, 'key.pem');
    const cert = join(dir, 'cert.pem');
    await execFileAsync('openssl', [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ]);
    const server = new S3rver({
      address: '127.0.0.1',
      port: 0,
      silent: true,
      directory: join(dir, 'data'),
      key: await readFile(key),
      cert: await readFile(cert),
      configureBuckets: (options.buckets ?? ['lifeboat']).map((name) => ({ name })),
    });
    const { port } = await server.run();
    const endpoint = `https://127.0.0.1:${port}`;
    let stopped = false;
    return {
      endpoint,
      port,
      cacert: cert,
      env: { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' },
      repositoryUrl: (bucket, path) => `s3:${endpoint}/${bucket}/${path}`,
      async stop() {
        if (stopped) return;
        stopped = true;
        await server.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}
