import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadReferenceData } from '../../src/data/load';
import {
  knownCodesFrom,
  loadPeopleFile,
  parsePeopleCsv,
  PeopleFileError,
  PEOPLE_COLUMNS,
} from '../../src/services/registry/peopleFile';

const known = knownCodesFrom(loadReferenceData());
const HEADER = PEOPLE_COLUMNS.join(',');

describe('parsePeopleCsv', () => {
  it('loads good rows and reports each bad one by its physical line', () => {
    const csv = [
      /* 1 */ `\uFEFF${HEADER}`,
      /* 2 */ 'CNIE,AB123456,1985-03-14,2031-06-30,REGISTERED,111222333,true,,TAXI',
      /* 3 */ '',
      /* 4 */ ' CNIE , be 654-321 , 1990-07-02 , 2030-11-15 , REGISTERED , 222333444 , FALSE ,, ',
      /* 5 */ 'CNIE,CD112233,2025-02-30,2032-01-10,REGISTERED,333444555,false,,',
      /* 6 */ 'PASSEPORT,X1234,1980-01-01,2030-01-01,REGISTERED,444555666,false,,',
      /* 7 */ 'CNIE,12345678,1980-01-01,2030-01-01,REGISTERED,444555666,false,,',
      /* 8 */ 'CNIE,EF445566,1965-05-20,2029-09-01,REGISTERED,12345,false,,',
      /* 9 */ 'CNIE,EF445566,1965-05-20,2029-09-01,NOT_SUBJECT,,false,,',
      /* 10 */ 'CNIE,EF445566,1965-05-20,2029-09-01,NOT_SUBJECT,,false,SANS_RAISON,PLOMBIER',
      /* 11 */ 'CNIE,GH778899,1988-01-31,2033-04-12,NOT_SUBJECT,,,AMO_SALARIE_CNSS,',
      /* 12 */ 'CNIE,AB123456,1985-03-14,2031-06-30,REGISTERED,111222333,true,,TAXI',
      /* 13 */ 'CNIE,JK246810,1955-10-10,2034-02-28',
      /* 14 */ 'CNIE,"JK24"6810,1955-10-10,2034-02-28,NOT_SUBJECT,,false,PENSIONNE,',
      /* 15 */ 'CNIE,"LM13579,1960-01-01,2030-01-01,REGISTERED,555666777,yes,,',
      /* 16 */ 'CARTE_SEJOUR,"E1234567",1982-09-09,2029-12-31,REGISTERED,444555666,false,,AUTO_ENTREPRENEUR',
      /* 17 */ 'CNIE,MN112233,2031-01-01,2030-01-01,REGISTERED,666777888,false,,',
      /* 18 */ 'CNIE,PQ112233,1970-01-01,2030-01-01,REGISTERED,,,AMO_TADAMON,',
    ].join('\r\n');

    const { people, problems } = parsePeopleCsv(csv, known);

    expect(problems).toEqual([
      { line: 5, reason: 'birth_date is not a valid YYYY-MM-DD calendar date' },
      { line: 6, reason: 'unknown id_type "PASSEPORT" (expected CNIE or CARTE_SEJOUR)' },
      { line: 7, reason: 'id_number does not match the CNIE pattern ^[A-Z]{1,2}\\d{3,7}$' },
      { line: 8, reason: 'registration_number must be 9 digits' },
      { line: 9, reason: 'non_subject_reason is required when status is NOT_SUBJECT' },
      { line: 10, reason: 'unknown non_subject_reason "SANS_RAISON"; unknown category "PLOMBIER"' },
      { line: 12, reason: 'duplicate of line 2 (same id_type and id_number)' },
      { line: 13, reason: 'expected 9 fields, found 4' },
      { line: 14, reason: 'malformed CSV: text after a closing quote' },
      { line: 15, reason: 'malformed CSV: a quote is not closed' },
      { line: 17, reason: 'birth_date must be before id_expiry_date' },
      {
        line: 18,
        reason:
          'registration_number is required when status is REGISTERED; has_account is required when status is REGISTERED; non_subject_reason must be empty when status is REGISTERED',
      },
    ]);
    expect(people).toEqual([
      {
        idType: 'CNIE',
        idNumber: 'AB123456',
        birthDate: '1985-03-14',
        idExpiryDate: '2031-06-30',
        category: 'TAXI',
        status: 'REGISTERED',
        registrationNumber: '111222333',
        hasAccount: true,
      },
      {
        idType: 'CNIE',
        idNumber: 'BE654321',
        birthDate: '1990-07-02',
        idExpiryDate: '2030-11-15',
        status: 'REGISTERED',
        registrationNumber: '222333444',
        hasAccount: false,
      },
      {
        idType: 'CNIE',
        idNumber: 'GH778899',
        birthDate: '1988-01-31',
        idExpiryDate: '2033-04-12',
        status: 'NOT_SUBJECT',
        nonSubjectReason: 'AMO_SALARIE_CNSS',
      },
      {
        idType: 'CARTE_SEJOUR',
        idNumber: 'E1234567',
        birthDate: '1982-09-09',
        idExpiryDate: '2029-12-31',
        category: 'AUTO_ENTREPRENEUR',
        status: 'REGISTERED',
        registrationNumber: '444555666',
        hasAccount: false,
      },
    ]);
  });

  it('never repeats an id number or a date in a reason: problems are logged', () => {
    const csv = [
      HEADER,
      'CNIE,99999999,1999-13-40,2030-01-01,REGISTERED,1,x,,',
      // A shifted row: the birth date sits in the status column, the card number in has_account.
      'CNIE,,1999-01-01,2030-01-01,1988-07-07,111222333,XY987654,,',
    ].join('\n');
    const { problems } = parsePeopleCsv(csv, known);
    expect(problems.map((p) => p.line)).toEqual([2, 3]);
    for (const { reason } of problems) expect(reason).not.toMatch(/99999999|1999-13-40|1988-07-07|XY987654/);
    expect(problems[1].reason).toBe(
      'unknown status (expected REGISTERED or NOT_SUBJECT); has_account must be true or false, not this',
    );
  });

  it('accepts the columns in any order', () => {
    const csv = 'status,id_number,id_type,category,non_subject_reason,has_account,registration_number,id_expiry_date,birth_date\n'
      + 'NOT_SUBJECT,K45678,CNIE,,PENSIONNE,false,,2030-04-01,1950-04-01';
    expect(parsePeopleCsv(csv, known).people).toEqual([
      expect.objectContaining({ idNumber: 'K45678', status: 'NOT_SUBJECT', nonSubjectReason: 'PENSIONNE' }),
    ]);
  });

  it('reads the optional account_phone column: the account\'s phone in E.164, checked, never echoed in a reason', () => {
    const csv = [
      /* 1 */ `${HEADER},account_phone`,
      /* 2 */ 'CNIE,AB123456,1985-03-14,2031-06-30,REGISTERED,111222333,true,,TAXI,06 12 34 56 32',
      /* 3 */ 'CNIE,K45678,1970-04-01,2030-04-01,REGISTERED,555666777,true,,,',
      /* 4 */ 'CNIE,BE654321,1990-07-02,2030-11-15,REGISTERED,222333444,true,,,0522123456',
      /* 5 */ 'CNIE,CD112233,1978-12-25,2032-01-10,REGISTERED,333444555,false,,,+212612345678',
      /* 6 */ 'CNIE,EF445566,1965-05-20,2029-09-01,NOT_SUBJECT,,false,AMO_FONCTIONNAIRE,',
    ].join('\n');
    const { people, problems } = parsePeopleCsv(csv, known);
    expect(problems).toEqual([
      { line: 4, reason: 'account_phone is not a Moroccan mobile number' },
      { line: 5, reason: 'account_phone is for a REGISTERED person whose has_account is true' },
      { line: 6, reason: 'expected 10 fields, found 9' },
    ]);
    expect(people).toEqual([
      expect.objectContaining({ idNumber: 'AB123456', hasAccount: true, accountPhone: '+212612345632' }),
      expect.not.objectContaining({ accountPhone: expect.anything() }),
    ]);
    expect(people[1]).toMatchObject({ idNumber: 'K45678' });
    for (const { reason } of problems) expect(reason).not.toMatch(/0522123456|612345678/);
  });

  it('loads a file in DESIGN\'s nine columns, without account_phone: no account phone known', () => {
    const { people, problems } = parsePeopleCsv(`${HEADER}\nCNIE,AB123456,1985-03-14,2031-06-30,REGISTERED,111222333,true,,TAXI`, known);
    expect(problems).toEqual([]);
    expect(people).toEqual([expect.not.objectContaining({ accountPhone: expect.anything() })]);
  });

  it('loads a header-only file as an empty registry', () => {
    expect(parsePeopleCsv(`${HEADER}\n`, known)).toEqual({ people: [], problems: [] });
  });

  it('refuses a file without the header', () => {
    expect(() => parsePeopleCsv('', known)).toThrow(PeopleFileError);
    expect(() => parsePeopleCsv('CNIE,AB123456,1985-03-14,2031-06-30,REGISTERED,111222333,true,,TAXI', known)).toThrow(
      /^line 1 \(header\): the header is missing, expected id_type,id_number,/,
    );
    expect(() => parsePeopleCsv('id_type,id_number,birth_date', known)).toThrow(/missing column\(s\) id_expiry_date, status/);
  });
});

describe('loadPeopleFile', () => {
  it('reads the sample file of data/ without a problem', () => {
    const { people, problems } = loadPeopleFile(join(__dirname, '..', '..', 'data', 'sample-people.csv'));
    expect(problems).toEqual([]);
    expect(people.length).toBeGreaterThanOrEqual(7);
    // The sample person who shows a forgotten password, and the one whose account has no phone.
    expect(people.find((p) => p.idNumber === 'AB123456')).toMatchObject({ accountPhone: '+212612345632' });
    expect(people.find((p) => p.idNumber === 'K45678')).not.toHaveProperty('accountPhone');
  });

  it('names the file when its header is wrong', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tasjil-people-'));
    try {
      const path = join(dir, 'people.csv');
      writeFileSync(path, `${HEADER},name\n`);
      expect(() => loadPeopleFile(path, known)).toThrow(`${path}: line 1 (header): unknown column(s) name`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
