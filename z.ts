import { warmUpDateRecognizer, readDate } from './src/nlu/dates';
