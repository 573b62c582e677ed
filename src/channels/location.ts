import type { Activity } from 'botbuilder';

/**
 * A shared location, as a Bot Framework GeoCoordinates entity: a channel that receives a pin
 * (a WhatsApp location) adds one, and dialogs read it without knowing the channel.
 */
export interface GeoEntity {
  type: 'GeoCoordinates';
  latitude: number;
  longitude: number;
  name?: string;
}

export function locationOf(activity: Partial<Activity>): GeoEntity | undefined {
  const entity = activity.entities?.find((e) => e.type === 'GeoCoordinates') as unknown as GeoEntity | undefined;
  return entity && Number.isFinite(entity.latitude) && Number.isFinite(entity.longitude) ? entity : undefined;
}
