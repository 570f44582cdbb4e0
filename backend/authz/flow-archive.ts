// Imports are rare: the unzipper loads on first use, not at start.
const loadFflate = () => import('fflate');

/** A flow import may not unpack to more than this: a zip bomb is refused, not expanded. */
const MAX_UNPACKED_BYTES = 32 * 1024 * 1024;
const MAX_FILES = 5_000;

export class ArchiveError extends Error {}

export const isZip = (bytes: Buffer) => bytes.length >= 4 && bytes.readUInt32LE(0) === 0x04034b50;

const LOCAL_HEADER = 0x04034b50;
const CENTRAL_HEADER = 0x02014b50;
const END_OF_CENTRAL = 0x06054b50;
const DATA_DESCRIPTOR = 0x08074b50;

/**
 * Refuses an archive that two readers would see differently. Perch lists an archive by its central
 * directory; Kestra reads it from the start, one local header after the other. A local entry the
 * directory does not list (or lists under another name) would be a flow only Kestra sees. So the
 * entries the directory lists must follow each other from the first byte to the directory itself,
 * with nothing in between, each under the same name in both places.
 */
function checkArchiveLayout(zip: Buffer): void {
  const bad = (why: string): never => {
    throw new ArchiveError(`The archive cannot be imported: ${why}`);
  };
  let end = -1;
  for (let at = zip.length - 22; at >= Math.max(0, zip.length - 22 - 0xffff); at--) {
    if (zip.readUInt32LE(at) === END_OF_CENTRAL) {
      end = at;
      break;
    }
  }
  if (end < 0) bad('it has no central directory');
  const count = zip.readUInt16LE(end + 10);
  const directory = zip.readUInt32LE(end + 16);
  if (count === 0xffff || directory === 0xffffffff) bad('ZIP64 archives are not accepted');
  const entries: { offset: number; name: string; compressed: number; flags: number }[] = [];
  for (let at = directory, i = 0; i < count; i++) {
    if (at + 46 > end || zip.readUInt32LE(at) !== CENTRAL_HEADER) bad('its central directory is damaged');
    const nameLength = zip.readUInt16LE(at + 28);
    entries.push({
      flags: zip.readUInt16LE(at + 8),
      compressed: zip.readUInt32LE(at + 20),
      offset: zip.readUInt32LE(at + 42),
      name: zip.toString('latin1', at + 46, at + 46 + nameLength),
    });
    at += 46 + nameLength + zip.readUInt16LE(at + 30) + zip.readUInt16LE(at + 32);
  }
  // Unzipped by name, a second entry of the same name would hide the first; Kestra reads both.
  const names = new Set<string>();
  for (const entry of entries) {
    if (names.has(entry.name)) bad(`it holds two entries named ${entry.name}`);
    names.add(entry.name);
  }
  entries.sort((a, b) => a.offset - b.offset);
  let next = 0;
  for (const entry of entries) {
    if (entry.offset !== next) bad('it holds data its directory does not list');
    if (entry.offset + 30 > directory || zip.readUInt32LE(entry.offset) !== LOCAL_HEADER) bad(`its entry ${entry.name} is damaged`);
    const nameLength = zip.readUInt16LE(entry.offset + 26);
    const localName = zip.toString('latin1', entry.offset + 30, entry.offset + 30 + nameLength);
    if (localName !== entry.name) bad(`an entry is named ${localName} in one place and ${entry.name} in another`);
    next = entry.offset + 30 + nameLength + zip.readUInt16LE(entry.offset + 28) + entry.compressed;
    // Bit 3: CRC and sizes follow the data, with or without their own signature.
    if (entry.flags & 0x8) next += next + 4 <= directory && zip.readUInt32LE(next) === DATA_DESCRIPTOR ? 16 : 12;
  }
  if (next !== directory) bad('it holds data its directory does not list');
}

/**
 * The files of a ZIP archive that `wanted` names (directory entries left out), once the whole archive
 * was found to list as Kestra's ZipInputStream reads it, one local header after the other. Sizes are
 * checked before anything is inflated.
 */
export async function archiveEntries(upload: Buffer, wanted: (name: string) => boolean = () => true): Promise<Array<{ name: string; bytes: Uint8Array }>> {
  try {
    checkArchiveLayout(upload);
  } catch (error) {
    // An offset pointing past the end of the upload.
    if (error instanceof RangeError) throw new ArchiveError('The archive cannot be imported: it is damaged');
    throw error;
  }
  const { unzipSync } = await loadFflate();
  let total = 0;
  let count = 0;
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(new Uint8Array(upload), {
      filter: (file) => {
        // Only the entries asked for are inflated (and count toward the limits); every name was checked above.
        if (file.name.endsWith('/') || !wanted(file.name)) return false;
        total += file.originalSize;
        count++;
        if (total > MAX_UNPACKED_BYTES || count > MAX_FILES) throw new ArchiveError(`The archive unpacks to more than ${MAX_UNPACKED_BYTES} bytes or ${MAX_FILES} files`);
        return true;
      },
    });
  } catch (error) {
    if (error instanceof ArchiveError) throw error;
    throw new ArchiveError(`The archive cannot be read: ${(error as Error).message}`);
  }
  return Object.entries(files).map(([name, bytes]) => ({ name, bytes }));
}

/** The flow sources of an import: every .yml/.yaml file of a ZIP archive, or the text itself when it is YAML. */
export async function flowSourcesOf(upload: Buffer): Promise<string[]> {
  if (!isZip(upload)) return [upload.toString('utf8')];
  return (await archiveEntries(upload)).map(({ name, bytes }) => {
    // Kestra imports only YAML files; anything else in the archive is refused rather than ignored.
    if (!/\.ya?ml$/i.test(name)) throw new ArchiveError(`The archive holds ${name}, which is not a flow (.yml/.yaml)`);
    return Buffer.from(bytes).toString('utf8');
  });
}
