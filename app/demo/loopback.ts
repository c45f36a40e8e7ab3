import type { RequestHandler } from "express";

/**
 * Every demo server listens on 127.0.0.1 only. This also refuses requests whose Host is not a loopback name for the
 * server's port, so a web page elsewhere cannot reach the demo through DNS rebinding.
 */
export function loopbackHosts(port: number): string[] {
  return [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`];
}

export function loopbackOnly(allowedHosts: string[]): RequestHandler {
  const allowed = new Set(allowedHosts.map((h) => h.toLowerCase()));
  return (req, res, next) => {
    const remote = req.socket.remoteAddress ?? "";
    const host = (req.headers.host ?? "").toLowerCase();
    if (!allowed.has(host) || !(remote === "127.0.0.1" || remote === "::1" || remote === "::ffff:127.0.0.1")) {
      res.status(403).type("text/plain").send("The Reclaim demo only answers on this machine's loopback address.");
      return;
    }
    next();
  };
}
