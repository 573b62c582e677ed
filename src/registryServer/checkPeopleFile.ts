import { loadPeopleFile, PeopleFileError, type KnownCodes } from '../services/registry/peopleFile';

export interface PeopleFileCheck {
  /** True when every row is good. */
  ok: boolean;
  /** `FILE:LINE: reason` for each bad row, in line order, then a summary line. */
  lines: string[];
}

/**
 * `npm run registry -- --check FILE.csv`: every bad row with its line number and reason (the same
 * parser and checks as the registry at start), so a liaison body's list is fixed before it is served.
 * Reasons never repeat a row's id number or dates (peopleFile.ts).
 */
export function checkPeopleFile(path: string, shownAs: string = path, known?: KnownCodes): PeopleFileCheck {
  try {
    const { people, problems } = loadPeopleFile(path, known);
    const lines = problems.map((p) => `${shownAs}:${p.line}: ${p.reason}`);
    const rows = `${people.length} ${people.length === 1 ? 'person' : 'people'}`;
    lines.push(
      problems.length === 0
        ? `${shownAs}: ${rows}, no bad rows`
        : `${shownAs}: ${problems.length} bad ${problems.length === 1 ? 'row' : 'rows'} (skipped when served), ${rows} loaded`,
    );
    return { ok: problems.length === 0, lines };
  } catch (error) {
    if (!(error instanceof PeopleFileError)) throw error;
    return { ok: false, lines: [error.message] };
  }
}
