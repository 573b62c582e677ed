import { createTestBot } from './support/harness';
import { loadTranscript, playTranscript, transcriptFiles } from './support/transcriptPlayer';
import { warmUpDateRecognizer } from '../src/nlu/dates';

beforeAll(() => warmUpDateRecognizer(), 30000);

describe.each(transcriptFiles())('conversation %s', (file) => {
  const transcript = loadTranscript(file);
  it(transcript.title, async () => {
    const bot = createTestBot({ channel: transcript.channel, from: transcript.from, name: transcript.name, transport: transcript.transport });
    await playTranscript(transcript, bot);
  });
});
