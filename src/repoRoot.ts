import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The folder holding package.json: where data/, locales/ and the simulator's page live. The code
 * runs from src/ (npm start, tsx) and from dist/src/ (npm run start:prod, compiled), so a fixed
 * number of `..` from __dirname would be right for one and wrong for the other; the assets stay
 * where they are edited instead of being copied into dist/ (no copy to go stale).
 */
function findRepoRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${from}: Tasjil must run from its repository folder`);
  }
}

export const REPO_ROOT = findRepoRoot(__dirname);

/** A path inside the repository, e.g. `repoPath('locales')`. */
export function repoPath(...segments: string[]): string {
  return join(REPO_ROOT, ...segments);
}
