import type { RequestHandler } from "express";
import { MAX_BODY_BYTES } from "../app/security/request-limits.server";

/**
 * Defence in depth in front of every route: a request whose declared Content-Length is over the limit is answered 413
 * before any handler reads a byte. Bodies without a length (chunked) are capped by the endpoints themselves
 * (readBodyWithLimit / readFormWithLimit stop reading at the limit).
 */
export function refuseOversizedBodies(maxBytes = MAX_BODY_BYTES): RequestHandler {
  return (req, res, next) => {
    const declared = Number(req.headers["content-length"] ?? "");
    if (Number.isFinite(declared) && declared > maxBytes) {
      // Close the connection after answering: the client may still be sending the body we refuse to read.
      res.status(413).set({ connection: "close", "content-type": "text/plain; charset=utf-8" }).end(`Request body too large (limit ${maxBytes} bytes)`);
      return;
    }
    next();
  };
}
