/** The few parts of the `smpp` package (no published types) the SMSC played by the tests uses. */
declare module 'smpp' {
  import type { EventEmitter } from 'node:events';

  export interface Pdu {
    command: string;
    command_status: number;
    sequence_number: number;
    [field: string]: unknown;
    response(fields?: Record<string, unknown>): Pdu;
  }

  export interface Session extends EventEmitter {
    send(pdu: Pdu, callback?: (response: Pdu) => void): boolean;
    deliver_sm(fields: Record<string, unknown>, callback?: (response: Pdu) => void): boolean;
    close(callback?: () => void): void;
    destroy(callback?: () => void): void;
    pause(): void;
    resume(): void;
  }

  export interface Server extends EventEmitter {
    listen(port: number, host: string, callback?: () => void): this;
    address(): { port: number } | string | null;
    close(callback?: (error?: Error) => void): void;
  }

  export function createServer(options: Record<string, unknown>, listener: (session: Session) => void): Server;
  export const ESM_CLASS: { DATAGRAM: number; DELIVERY_ACKNOWLEDGEMENT: number; MC_DELIVERY_RECEIPT: number; UDH_INDICATOR: number };
  export const ENCODING: { SMSC_DEFAULT: number; ASCII: number; LATIN1: number; UCS2: number };
}
