/**
 * For doctor: whether a throwaway server, by the kind its record names, lets in a local user
 * who brings no credentials (no password from the environment, ~/.pgpass or ~/.my.cnf).
 */
import { connect } from 'node:net';
import { runTool } from '../system/tool.js';

type Probe = (port: number) => Promise<boolean>;

export const answersWithoutCredentials: Readonly<Record<string, Probe>> = {
  postgres: (port) => psqlAnswers(port, 'postgres', 'SELECT 1'),
  pgbouncer: (port) => psqlAnswers(port, 'pgbouncer', 'SHOW VERSION'),
  mariadb: async (port) => {
    const args = ['--no-defaults', '--protocol=TCP', '-h', '127.0.0.1', '-P', String(port), '-u', 'root'];
    const run = await runTool('mariadb', [...args, '--connect-timeout=3', '-e', 'SELECT 1'], {
      env: { MYSQL_PWD: '' },
      timeoutMs: 5000,
    }).catch(() => undefined);
    return run?.code === 0;
  },
  redis: redisAnswersPing,
};

async function psqlAnswers(port: number, database: string, sql: string): Promise<boolean> {
  const args = [
    '-X',
    '-w',
    '-h',
    '127.0.0.1',
    '-p',
    String(port),
    '-U',
    'postgres',
    '-d',
    database,
    '-c',
    sql,
  ];
  const env = { PGPASSWORD: '', PGPASSFILE: '/dev/null', PGCONNECT_TIMEOUT: '3' };
  const run = await runTool('psql', args, { env, timeoutMs: 5000 }).catch(() => undefined);
  return run?.code === 0;
}

/** A raw PING: redis-cli would pick up REDISCLI_AUTH from the environment. */
function redisAnswersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let reply = '';
    const done = (answer: boolean) => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(3000, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString('utf8');
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}
