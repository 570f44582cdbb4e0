import { BlockList, isIP } from 'node:net';
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';

/** Which header a trusted proxy writes the addresses it forwarded for into. */
export type ForwardedHeader = 'x-forwarded-for' | 'forwarded';

export interface ClientAddressSettings {
  /** Addresses and CIDR ranges of the reverse proxies in front of Perch; empty: none is trusted. */
  trustedProxies: readonly string[];
  header: ForwardedHeader;
}

/** An IPv4 address as IPv4 whether the socket reports it plain or IPv4-mapped (`::ffff:10.0.0.1`). */
function plainAddress(address: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  return mapped ? mapped[1]! : address;
}

/** One hop as a proxy wrote it (`1.2.3.4`, `1.2.3.4:567`, `[2001:db8::1]:567`, `"[::1]"`), or null when it is no IP address. */
export function hopAddress(text: string): string | null {
  let hop = text.trim();
  if (hop.startsWith('"') && hop.endsWith('"') && hop.length >= 2) hop = hop.slice(1, -1);
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(hop);
  if (bracketed) hop = bracketed[1]!;
  else if (/^\d{1,3}(?:\.\d{1,3}){3}:\d+$/.test(hop)) hop = hop.slice(0, hop.lastIndexOf(':'));
  return isIP(hop) ? plainAddress(hop) : null;
}

/** The hops a `Forwarded` header (RFC 7239) lists, left to right: each element's `for=` (null when it has none). */
function forwardedHops(header: string): Array<string | null> {
  return header.split(',').map((element) => {
    for (const pair of element.split(';')) {
      const eq = pair.indexOf('=');
      if (eq > 0 && pair.slice(0, eq).trim().toLowerCase() === 'for') return pair.slice(eq + 1);
    }
    return null;
  });
}

/** Whether an address (plain IPv4 or IPv6) is one of `trustedProxies` (addresses and CIDR ranges). */
export function trustedProxyCheck(trustedProxies: readonly string[]): (address: string) => boolean {
  const trusted = new BlockList();
  for (const entry of trustedProxies) {
    const [address, bits] = entry.split('/');
    const family = isIP(address!) === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) trusted.addAddress(address!, family);
    else trusted.addSubnet(address!, Number(bits), family);
  }
  return (address) => trusted.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4');
}

/** The socket's peer as a plain address (IPv4-mapped IPv6 unwrapped), or null once the socket is gone. */
export function peerAddress(req: IncomingMessage): string | null {
  const address = req.socket?.remoteAddress;
  return address ? plainAddress(address) : null;
}

/**
 * Who is calling, one answer per request for the audit log, the sign-in throttle, the lockout and
 * every rate limit: the socket's address, unless that is a trusted proxy; then the forwarding header
 * is read from the right, hop by hop, and the first address that is not a trusted proxy is the
 * client (what a caller writes into the header sits left of it and is never reached). A hop that is
 * no IP address (`unknown`, an obfuscated name, garbage) stops the walk at the proxy that wrote it.
 */
export function clientAddressReader(settings: ClientAddressSettings): (req: IncomingMessage) => string | null {
  const isTrusted = trustedProxyCheck(settings.trustedProxies);
  const none = settings.trustedProxies.length === 0;

  return (req) => {
    let client = peerAddress(req);
    if (client === null) return null;
    if (none || !isTrusted(client)) return client;
    const header = req.headers[settings.header];
    if (typeof header !== 'string') return client;
    const hops = settings.header === 'forwarded' ? forwardedHops(header) : header.split(',');
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = hops[i] === null ? null : hopAddress(hops[i]!);
      if (hop === null) return client;
      client = hop;
      if (!isTrusted(hop)) return client;
    }
    return client;
  };
}

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * The client's address (see {@link clientAddressReader}), read once as the request arrives:
     * Node drops `req.socket` once a streamed body was consumed, so `request.ip` is undefined by the
     * time a proxied write (a KV entry, a namespace file) is audited. Null only before that.
     */
    clientAddress: string | null;
  }
}

/** Gives every request its `clientAddress`, taken as the request arrives (a plain field: no getter, no promise). */
export function installClientAddress(app: FastifyInstance, settings: ClientAddressSettings): void {
  const read = clientAddressReader(settings);
  app.decorateRequest('clientAddress', null);
  app.addHook('onRequest', (request, _reply, done) => {
    request.clientAddress = read(request.raw);
    done();
  });
}
