import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * `npm run registry -- --check FILE.csv`, run as an operator runs it: a separate process, its
 * output and its exit code.
 */

const ROOT = join(__dirname, '..', '..');
const HEADER = 'id_type,id_number,birth_date,id_expiry_date,status,registration_number,has_account,non_subject_reason,category';

function check(file: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), join(ROOT, 'src', 'cli', 'registry.ts'), '--check', file],
      { cwd: ROOT, env: { ...process.env, INIT_CWD: ROOT } },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
    );
  });
}

describe('npm run registry -- --check', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tasjil-check-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reports every bad row with its line number and reason, and exits 1', async () => {
    const file = join(dir, 'people.csv');
    writeFileSync(
      file,
      [
        HEADER,
        'CNIE,AB123456,1985-03-14,2031-06-30,REGISTERED,111222333,true,,TAXI',
        'CNIE,ZZ111111,1985-02-31,2031-06-30,REGISTERED,123456789,true,,TAXI',
        'PASSEPORT,ZZ222222,1985-03-14,2031-06-30,REGISTERED,123456780,false,,TAXI',
        'CNIE,ZZ333333,1985-03-14,2031-06-30,REGISTERED,12345,true,,TAXI',
        'CNIE,AB123456,1985-03-14,2031-06-30,REGISTERED,111222333,true,,TAXI',
        'CNIE,ZZ444444,1985-03-14',
        '',
      ].join('\n'),
    );
    const result = await check(file);
    expect(result.code).toBe(1);
    expect(result.stdout.trim().split('\n')).toEqual([
      `${file}:3: birth_date is not a valid YYYY-MM-DD calendar date`,
      `${file}:4: unknown id_type "PASSEPORT" (expected CNIE or CARTE_SEJOUR)`,
      `${file}:5: registration_number must be 9 digits`,
      `${file}:6: duplicate of line 2 (same id_type and id_number)`,
      `${file}:7: expected 9 fields, found 3`,
      `${file}: 5 bad rows (skipped when served), 1 person loaded`,
    ]);
    // The reasons name fields, never a row's id number or dates.
    expect(result.stdout).not.toMatch(/ZZ\d{6}|1985-02-31/);
  }, 30000);

  it('says a good file is good, and exits 0', async () => {
    const result = await check(join(ROOT, 'data', 'sample-people.csv'));
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/\d+ people, no bad rows\n$/);
  }, 30000);

  it('a file that is not there: a clear message, exit 1', async () => {
    const result = await check(join(dir, 'missing.csv'));
    expect(result.code).toBe(1);
    expect(result.stdout + result.stderr).toContain('missing.csv');
  }, 30000);
});
