import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LOCALES_DIR, hasKey, isolateDigitGroups, loadCatalogue, t } from '../src/i18n';

/** The Arabic and French catalogues stay in step: same files, same keys, same placeholders. */
const ar = loadCatalogue('ar');
const fr = loadCatalogue('fr');
const placeholders = (value: string | string[]) => [...new Set((Array.isArray(value) ? value.join('\n') : value).match(/\{\w+\}/g) ?? [])].sort();

describe('locale catalogues', () => {
  it('have the same files', () => {
    expect(readdirSync(join(LOCALES_DIR, 'ar')).sort()).toEqual(readdirSync(join(LOCALES_DIR, 'fr')).sort());
  });

  it('have the same keys', () => {
    expect([...ar.keys()].sort()).toEqual([...fr.keys()].sort());
  });

  it('use the same placeholders under each key, and no empty message', () => {
    for (const [key, value] of fr) {
      expect({ key, placeholders: placeholders(ar.get(key)!) }).toEqual({ key, placeholders: placeholders(value) });
      expect({ key, empty: (Array.isArray(value) ? value.join('') : value).trim() === '' }).toEqual({ key, empty: false });
    }
  });

  // Log event names (`event: 'otp.send'`) look like keys and are not.
  it('hold every message key the code names', () => {
    // The simulator's page names its labels too (`data-i18n="simulator.send"`, `label('simulator.send')`).
    const sources = ['dialogs', 'src'].flatMap((dir) => listSources(join(__dirname, '..', dir)));
    const keyPattern = /(?<!event: )(['"])((?:prompts|errors|outcomes|common|help|commands|otp|sms|welcome|simulator|passwordReset|followUp)\.[A-Za-z0-9_.]+[A-Za-z0-9_])\1/g;
    const named = new Set(sources.flatMap((file) => [...readFileSync(file, 'utf8').matchAll(keyPattern)].map((m) => m[2]!)));
    expect(named.size).toBeGreaterThan(20);
    const missing = [...named].filter((key) => !hasKey('ar', key) || !hasKey('fr', key));
    expect(missing).toEqual([]);
  });

  it('keep the SMS short: a French SMS stays in the GSM-7 alphabet', () => {
    // One character outside GSM-7 (ç, â, ê, î, ô, û, ’) turns the whole SMS into UCS-2, 70 characters a segment.
    for (const key of ['sms.otp', 'sms.password', 'passwordReset.sms']) expect(fr.get(key)).not.toMatch(/[çâêîôûëï’«»]/);
  });
});

function listSources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? listSources(join(dir, entry.name)) : /\.(ts|js|html)$/.test(entry.name) ? [join(dir, entry.name)] : [],
  );
}

describe('numbers in Arabic text', () => {
  it('keeps the groups of a phone number left to right with an isolate; a lone number or a date is left alone', () => {
    expect(isolateDigitGroups('الرقم: 06 12 34 56 78؟')).toBe('الرقم: \u206606 12 34 56 78\u2069؟');
    expect(isolateDigitGroups('إلى 06•• •• •• 78.')).toBe('إلى \u206606•• •• •• 78\u2069.');
    expect(isolateDigitGroups('اتصل بالرقم 3939 أو 05 20 19 40 40')).toBe('اتصل بالرقم 3939 أو \u206605 20 19 40 40\u2069');
    expect(isolateDigitGroups('15 مارس 1985')).toBe('15 مارس 1985');
    // Idempotent: text filled twice is not wrapped twice.
    expect(isolateDigitGroups(isolateDigitGroups('06 12 34 56 78'))).toBe('\u206606 12 34 56 78\u2069');
  });

  it('is applied to Arabic messages only', () => {
    expect(t('ar', 'prompts.phone.askWithSuggestion', { phone: '06 12 34 56 78' })).toContain('\u206606 12 34 56 78\u2069');
    expect(t('fr', 'prompts.phone.askWithSuggestion', { phone: '06 12 34 56 78' })).not.toContain('\u2066');
  });
});
