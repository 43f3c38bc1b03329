/**
 * A Lifeboat-like process that runs one stream backup, for tests that kill it mid-way.
 * Argument: a JSON `BackupChildConfig`. Prints `{"progress":...}` lines, then `{"result":...}`
 * or `{"error":...}`.
 */
import { ResticRepository, type Producer } from '../repository.js';

export interface BackupChildConfig {
  url: string;
  password: string;
  lockDir: string;
  cacheDir: string;
  filename: string;
  tags: string[];
  producer: Producer;
}

const config = JSON.parse(process.argv[2] ?? '{}') as BackupChildConfig;
const repository = new ResticRepository({
  url: config.url,
  password: config.password,
  lockDir: config.lockDir,
  cacheDir: config.cacheDir,
});
const print = (value: unknown) => process.stdout.write(JSON.stringify(value) + '\n');
print({ started: process.pid });
repository
  .backupStream({
    producer: config.producer,
    filename: config.filename,
    tags: config.tags,
    onProgress: (progress) => print({ progress }),
  })
  .then(
    (result) => print({ result }),
    (error: unknown) => {
      print({ error: String(error) });
      process.exitCode = 1;
    },
  );
