import { isAbsolute, join, relative } from 'node:path';
import { systemClock } from '../clock';
import { ConfigError } from '../config';
import { loadReferenceData } from '../data/load';
import { createLogger } from '../log';
import { checkPeopleFile } from '../registryServer/checkPeopleFile';
import { loadRegistryServerConfig } from '../registryServer/config';
import { createRegistryServer } from '../registryServer/server';
import { EmbeddedRegistry } from '../services/registry/embeddedRegistry';
import { knownCodesFrom, PeopleFileError } from '../services/registry/peopleFile';

/**
 * `npm run registry`: the reference registry (contract/registry.openapi.yaml) on REGISTRY_PORT,
 * serving REGISTRY_PEOPLE_FILE and data/.
 * `npm run registry -- --check FILE.csv`: checks a people file; exit 1 if any row is bad.
 */

const USAGE = 'usage: npm run registry [-- --check FILE.csv]';

/** npm runs scripts from the package root; a path typed by the user is relative to where they typed it. */
function userPath(file: string): string {
  return isAbsolute(file) ? file : join(process.env.INIT_CWD ?? process.cwd(), file);
}

function check(file: string): never {
  const path = userPath(file);
  const shownAs = relative(process.cwd(), path).startsWith('..') ? path : relative(process.cwd(), path);
  const result = checkPeopleFile(path, shownAs, knownCodesFrom(loadReferenceData()));
  for (const line of result.lines) console.log(line);
  process.exit(result.ok ? 0 : 1);
}

function serve(): void {
  let config;
  try {
    config = loadRegistryServerConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`The registry cannot start: ${error.message}`);
      process.exit(1);
    }
    throw error;
  }
  const log = createLogger(config.logLevel).child({ component: 'registry' });
  const data = loadReferenceData();
  let loaded;
  try {
    loaded = EmbeddedRegistry.fromFile(config.peopleFile, systemClock, knownCodesFrom(data));
  } catch (error) {
    if (error instanceof PeopleFileError) {
      console.error(`The registry cannot start: ${error.message}`);
      process.exit(1);
    }
    throw error;
  }
  // A bad row is skipped: its line and reason are logged, never its content.
  for (const problem of loaded.problems) {
    log.warn({ event: 'registry.people_file.bad_row', line: problem.line, reason: problem.reason }, 'people file row skipped');
  }
  const server = createRegistryServer({ registry: loaded.registry, data, apiKey: config.apiKey, log });
  server.listen(config.port, () => {
    log.info(
      { event: 'registry.listening', port: config.port, people: loaded.registry.size, skipped: loaded.problems.length, apiKey: Boolean(config.apiKey) },
      `reference registry on http://localhost:${config.port}/v1`,
    );
    if (!config.apiKey) log.warn({ event: 'registry.no_api_key' }, 'no REGISTRY_API_KEY: every caller is accepted (development only)');
  });
  const stop = () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

const args = process.argv.slice(2);
if (args.length === 0) serve();
else if (args[0] === '--check' && args.length === 2) check(args[1]!);
else {
  console.error(USAGE);
  process.exit(2);
}
