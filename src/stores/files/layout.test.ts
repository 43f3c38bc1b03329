import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { commonRoot, placeIn } from './layout.js';

describe('files restored into a directory', () => {
  test('one path, or paths of one parent: DIR/<basename>', () => {
    assert.equal(placeIn('/r', commonRoot(['/home/app/data']), '/home/app/data'), '/r/data');
    const root = commonRoot(['/home/app/data', '/home/app/logs']);
    assert.deepEqual(
      ['/home/app/data', '/home/app/logs'].map((p) => placeIn('/r', root, p)),
      ['/r/data', '/r/logs'],
    );
  });

  test('one basename twice: the directories that set them apart are kept, nothing collides', () => {
    const paths = ['/srv/a/data', '/var/b/data'];
    const root = commonRoot(paths);
    assert.deepEqual(
      paths.map((p) => placeIn('/r', root, p)),
      ['/r/srv/a/data', '/r/var/b/data'],
    );
  });

  test('a path inside another stays inside it', () => {
    const paths = ['/home/app', '/home/app/data'];
    assert.deepEqual(
      paths.map((p) => placeIn('/r', commonRoot(paths), p)),
      ['/r/app', '/r/app/data'],
    );
  });
});
