/**
 * Platform limits that shape what a channel may send. Each one is a fact of the platform with its
 * source; the renderers test against these names, never against bare numbers.
 */

/** In-session quick replies without template approval allow 3 buttons (Twilio, twilio/quick-reply: https://twilio.com/docs/content/twilio-quick-reply). */
export const WHATSAPP_MAX_BUTTONS = 3;

/** A reply button's title is at most 20 characters (Twilio twilio/quick-reply; Meta reply button object). */
export const WHATSAPP_BUTTON_LABEL_MAX = 20;

/** A list picker holds at most 10 items (Twilio, twilio/list-picker: https://www.twilio.com/docs/content/twiliolist-picker). */
export const WHATSAPP_LIST_MAX_ITEMS = 10;

/** Twilio refuses a message Body over 1,600 characters on every channel (error 21617: https://twilio.com/docs/api/errors/21617). */
export const WHATSAPP_MESSAGE_MAX = 1600;

/** The body of a twilio/quick-reply content is at most 1,024 characters (Twilio, twilio/quick-reply). */
export const WHATSAPP_QUICK_REPLY_BODY_MAX = 1024;

/** A content variable's value is at most 256 characters (Twilio error 50541: https://twilio.com/docs/api/errors/50541). */
export const CONTENT_VARIABLE_MAX = 256;

// SMS limits are channel-neutral (an SMPP gateway shares them): they live with the SMS encoding.
export { GSM7_PART, GSM7_SINGLE, SMS_BODY_MAX, UCS2_PART, UCS2_SINGLE } from '../sms/encoding';
