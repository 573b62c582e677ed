import type { Next, Request, Response } from 'restify';

/**
 * Reads a small form body as text, for routes that must see the exact bytes (Twilio signs the
 * form it posts). restify's own bodyReader does the same through a deprecated Buffer constructor
 * and zlib plumbing these routes never need; this is a measurable share of a turn's CPU.
 * A body over `maxBytes` is answered 413 without reading the rest (`onTooLarge` counts it).
 */
export function readRawBody(maxBytes: number, onTooLarge?: () => void) {
  return (req: Request, res: Response, next: Next): void => {
    const refuse = () => {
      onTooLarge?.();
      res.send(413, { error: 'payload too large' });
      next(false);
    };
    if (Number(req.headers['content-length'] ?? 0) > maxBytes) return refuse();
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    req.on('data', (chunk: Buffer) => {
      if (settled) return;
      size += chunk.length;
      if (size > maxBytes) {
        settled = true;
        refuse();
        return;
      }
      chunks.push(chunk);
    });
    req.once('end', () => {
      if (settled) return;
      settled = true;
      req.body = Buffer.concat(chunks, size).toString('utf8');
      next();
    });
    req.once('error', (error) => {
      if (settled) return;
      settled = true;
      next(error);
    });
  };
}
