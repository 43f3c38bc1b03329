/**
 * The throwaway servers Lifeboat starts (verify, demo, drills): none may be left behind by a
 * killed Lifeboat process, and none may answer a local user who has no credentials. Leftovers
 * are reaped here, as every command that starts one does.
 */
import { connect } from 'node:net';
import {
  describeReaped,
  liveInstances,
  reapLeftoverInstances,
  type InstanceRecord,
} from '../system/instance-records.js';
import { runTool } from '../system/tool.js';
import type { DoctorCheck } from './check.js';

const NAME = 'throwaway servers';

export async function checkSandboxes(): Promise<DoctorCheck[]> {
  const checks: DoctorCheck[] = [];
  const reaped = await reapLeftoverInstances();
  const stuck = reaped.filter((r) => r.stillRunning);
  if (stuck.length > 0)
    checks.push({
      name: NAME,
      ok: false,
      detail: stuck.map(describeReaped).join('; '),
      fix: 'Stop those processes as their owner (or root) and remove their directories.',
    });
  else if (reaped.length > 0)
    checks.push({
      name: NAME,
      ok: true,
      warning: true,
      detail: reaped.map(describeReaped).join('; '),
      fix: 'Nothing more to do; a Lifeboat process was killed before it could stop them.',
    });
  else checks.push({ name: NAME, ok: true, detail: 'none left behind by a killed Lifeboat process' });

  for (const record of liveInstances()) {
    if (record.port === undefined || !(await answersWithoutCredentials(record))) continue;
    checks.push({
      name: `throwaway ${record.kind} on port ${record.port}`,
      ok: false,
      detail: `answers a connection without credentials (server pid ${record.serverPid ?? '?'}, owner pid ${record.ownerPid})`,
      fix: 'Stop it (the owner pid), and run Lifeboat from this version on: its throwaway servers require a password.',
    });
  }
  return checks;
}

/** Connects as a local user would with no password: true when the server lets it in. */
async function answersWithoutCredentials(record: InstanceRecord): Promise<boolean> {
  const port = String(record.port);
  switch (record.kind) {
    case 'postgres':
    case 'pgbouncer': {
      // No password from the environment or ~/.pgpass, and never a prompt.
      const [database, sql] =
        record.kind === 'postgres' ? ['postgres', 'SELECT 1'] : ['pgbouncer', 'SHOW VERSION'];
      const args = ['-X', '-w', '-h', '127.0.0.1', '-p', port, '-U', 'postgres', '-d', database, '-c', sql];
      const env = { PGPASSWORD: '', PGPASSFILE: '/dev/null', PGCONNECT_TIMEOUT: '3' };
      const run = await runTool('psql', args, { env, timeoutMs: 5000 }).catch(() => undefined);
      return run?.code === 0;
    }
    case 'mariadb': {
      const run = await runTool(
        'mariadb',
        [
          '--no-defaults',
          '--protocol=TCP',
          '-h',
          '127.0.0.1',
          '-P',
          port,
          '-u',
          'root',
          '--connect-timeout=3',
          '-e',
          'SELECT 1',
        ],
        { env: { MYSQL_PWD: '' }, timeoutMs: 5000 },
      ).catch(() => undefined);
      return run?.code === 0;
    }
    case 'redis':
      return redisAnswersPing(record.port!);
    default:
      return false;
  }
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
