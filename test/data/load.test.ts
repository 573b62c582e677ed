import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DATA_DIR, loadReferenceData } from '../../src/data/load';
import { SHORT_LABEL_MAX } from '../../src/data/schemas';

describe('reference data of data/', () => {
  const data = loadReferenceData();

  it('loads every file', () => {
    expect(data.idTypes.map((t) => t.code)).toEqual(['CNIE', 'CARTE_SEJOUR']);
    expect(data.categories.length).toBeGreaterThanOrEqual(25);
    expect(data.nonSubjectReasons.map((r) => r.code).sort()).toEqual(
      [
        'AMO_SALARIE_CNSS',
        'AMO_FONCTIONNAIRE',
        'PENSIONNE',
        'AMO_ETUDIANT',
        'ANCIEN_RESISTANT',
        'AMO_TADAMON',
        'MILITAIRE_FAR',
        'AUTRE_REGIME_AMO',
      ].sort(),
    );
    expect(data.offices.length).toBeGreaterThan(0);
    expect(data.cities.length).toBeGreaterThan(0);
  });

  it('keeps the registry codes of the domain data', () => {
    const codes = data.categories.map((c) => c.code);
    for (const code of ['CPU', 'TAXI', 'CONDUCTEUR_PRO', 'ARTISAN_NON_FISCALISE', 'AUTO_ENTREPRENEUR', 'MEDECIN']) {
      expect(codes).toContain(code);
    }
  });

  it('gives every category a short label, documents in both languages and a source per document', () => {
    for (const category of data.categories) {
      expect(category.shortFr.length).toBeLessThanOrEqual(SHORT_LABEL_MAX);
      expect(category.shortAr.length).toBeLessThanOrEqual(SHORT_LABEL_MAX);
      expect(category.documents.ar).toHaveLength(category.documents.fr.length);
      expect(category.documentSources).toHaveLength(category.documents.fr.length);
      // Form 328-1-01 is the TNS registration request: every in-person file starts with it.
      expect(category.documents.fr[0]).toContain('328-1-01');
    }
  });

  it('never presents a planned office as verified or as a sample', () => {
    const planned = data.offices.filter((o) => o.status !== 'open');
    expect(planned.length).toBeGreaterThan(0);
    for (const office of planned) expect(office).toMatchObject({ verified: false, sample: false });
    for (const office of data.offices.filter((o) => o.sample)) expect(office.name.fr).toContain('(exemple)');
  });
});

describe('a broken data folder', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tasjil-data-'));
    cpSync(DATA_DIR, dir, { recursive: true });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function edit(file: string, change: (json: Record<string, unknown[]>) => void): void {
    const path = join(dir, file);
    const json = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown[]>;
    change(json);
    writeFileSync(path, JSON.stringify(json));
  }

  it('names the file and the place when a category lacks an Arabic document', () => {
    edit('categories.json', (json) => {
      (json.categories[0] as { documents: { ar: string[] } }).documents.ar.pop();
    });
    expect(() => loadReferenceData(dir)).toThrow(/categories\.json: categories\[0\]\.documents\.ar: has 2 documents/);
  });

  it('names the file and the field when a value has the wrong type', () => {
    edit('offices.json', (json) => {
      (json.offices[1] as { lat: unknown }).lat = 'north';
    });
    expect(() => loadReferenceData(dir)).toThrow(/offices\.json: offices\[1\]\.lat: /);
  });

  it('rejects an office in a city that cities.json does not know', () => {
    edit('offices.json', (json) => {
      (json.offices[0] as { cityCode: string }).cityCode = 'atlantis';
    });
    expect(() => loadReferenceData(dir)).toThrow(/offices\.json: offices\[0\]\.cityCode: unknown city "atlantis"/);
  });

  it('rejects a repeated code', () => {
    edit('non-subject-reasons.json', (json) => {
      json.reasons.push(json.reasons[0]);
    });
    expect(() => loadReferenceData(dir)).toThrow(/non-subject-reasons\.json: reasons\[8\]\.code: "AMO_SALARIE_CNSS" already used/);
  });

  it('rejects a misspelt key', () => {
    edit('id-types.json', (json) => {
      (json.idTypes[0] as Record<string, unknown>).exemple = 'A1';
    });
    expect(() => loadReferenceData(dir)).toThrow(/id-types\.json: idTypes\[0\]: Unrecognized key/);
  });

  it('names a file that is not JSON', () => {
    writeFileSync(join(dir, 'cities.json'), '{ "cities": [');
    expect(() => loadReferenceData(dir)).toThrow(/cities\.json: cannot read JSON/);
  });
});
