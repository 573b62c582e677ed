import type { Activity } from 'botbuilder';
import { chatActivity } from '../../pipeline/messagePipeline';
import type { GeoEntity } from '../location';
import { bareAddress, channelOf, type TwilioInbound } from './inbound';


/**
 * One Twilio message → one Activity. The conversation is the sender's number on that channel.
 * Media is described (type and URL) but never downloaded: the bot asks for typed answers.
 */
export function twilioToActivity(inbound: TwilioInbound, receivedAt: Date): Partial<Activity> {
  const name = firstName(inbound.ProfileName);
  const activity = chatActivity(
    {
      id: inbound.MessageSid,
      channel: channelOf(inbound.From),
      contact: bareAddress(inbound.From),
      ourAddress: bareAddress(inbound.To),
      // A quick-reply tap carries our payload (the choice number); its text is only the label.
      text: inbound.ButtonPayload ?? inbound.ButtonText ?? inbound.Body,
    },
    receivedAt,
  );
  activity.from = { id: activity.from!.id, name: name ?? '' };
  // Channel-neutral hints for the dialogs: a first name to greet with, nothing else of the form.
  activity.channelData = { greetingName: name };
  if (inbound.NumMedia > 0) {
    activity.attachments = [{ contentType: inbound.MediaContentType0 ?? 'application/octet-stream', contentUrl: inbound.MediaUrl0 }];
  }
  if (inbound.Latitude !== undefined && inbound.Longitude !== undefined) {
    const geo: GeoEntity = { type: 'GeoCoordinates', latitude: inbound.Latitude, longitude: inbound.Longitude, name: inbound.Label ?? inbound.Address };
    activity.entities = [geo];
  }
  return activity;
}

/**
 * The first word of a WhatsApp profile name, for a greeting. The name is whatever the user typed
 * in WhatsApp: keep letters only, short, so it can neither format nor flood a message.
 */
export function firstName(profileName: string | undefined): string | undefined {
  const first = profileName?.normalize('NFC').trim().split(/\s+/)[0] ?? '';
  const clean = first.replace(/[^\p{L}\p{M}'-]/gu, '').slice(0, 30);
  return clean.length >= 2 ? clean : undefined;
}
