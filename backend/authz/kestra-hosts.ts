/**
 * Kestra's own addresses, compared canonically (issue 16.2): a flow that calls Kestra's API directly
 * (an HTTP task, the `http()` Pebble function, a script's curl) bypasses Perch, its rights and its
 * audit trail. Hosts are read the way a WHATWG URL parser reads them (lower case, IDNA, percent-
 * decoding, every IPv4 spelling: 127.1, 2130706433, 0x7f.1, 0177.0.0.1; compressed IPv6), then
 * stripped of a trailing dot and of IPv4-mapped IPv6 (::ffff:127.0.0.1). Whatever a resolver
 * could read as the same address compares equal; DNS names that resolve to it cannot be known.
 */
export class KestraHosts {
  private readonly hosts: ReadonlySet<string>;

  private constructor(hosts: Iterable<string>) {
    this.hosts = new Set(hosts);
  }

  /** `entries`: URLs (the upstream `kestra.url`) or bare host names / addresses (`kestra.internalHosts`). */
  static of(entries: readonly string[]): KestraHosts {
    const hosts: string[] = [];
    for (const entry of entries) {
      const host = hostOfEntry(entry);
      if (host === null) throw new Error(`Not a host name or address: ${entry}`);
      hosts.push(host);
    }
    return new KestraHosts(hosts);
  }

  /** Loopback, `localhost`, the unspecified address (a local listener answers it) and the configured hosts. */
  isKestra(host: string): boolean {
    return this.hosts.has(host) || isLoopback(host);
  }
}

/** The canonical host of a URL, a host name, an IPv4 or an IPv6 address (bracketed or not); null if none. */
export function hostOfEntry(entry: string): string | null {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(entry)) return canonicalHost(entry);
  if (/[\s/?#@]/.test(entry)) return null;
  return canonicalHost(`http://${entry.includes(':') && !entry.startsWith('[') ? `[${entry}]` : entry}/`);
}

/** Loopback and local names only: what every Kestra reaches as itself, with no configuration. */
export const LOOPBACK_ONLY = KestraHosts.of([]);

function isLoopback(host: string): boolean {
  return host === 'localhost' || host.endsWith('.localhost') || /^127\.\d+\.\d+\.\d+$/.test(host)
    || host === '0.0.0.0' || host === '::1' || host === '::';
}

/**
 * The canonical host of an absolute URL, or null when it has none a parser agrees on. IPv6 comes
 * without brackets; an IPv4-mapped IPv6 address comes as its IPv4 form.
 */
export function canonicalHost(url: string): string | null {
  let hostname: string;
  try {
    hostname = new URL(url).hostname;
  } catch {
    return null;
  }
  if (hostname === '') return null;
  let host = hostname.replace(/\.+$/, '');
  if (host.startsWith('[')) {
    host = host.slice(1, -1);
    const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(host);
    if (mapped) {
      const hi = parseInt(mapped[1]!, 16), lo = parseInt(mapped[2]!, 16);
      host = `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
    }
  }
  return host;
}
