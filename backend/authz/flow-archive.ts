// Imports are rare: their parsers load on first use, not at start.
const loadBusboy = () => import('@fastify/busboy');
const loadFflate = () => import('fflate');

/** A flow import may not unpack to more than this: a zip bomb is refused, not expanded. */
const MAX_UNPACKED_BYTES = 32 * 1024 * 1024;
const MAX_FILES = 5_000;

export class ArchiveError extends Error {}

/** The bytes of one named part of a multipart/form-data body. */
export async function multipartPart(contentType: string, body: Buffer, name: string): Promise<Buffer | null> {
  const { Busboy } = await loadBusboy();
  return new Promise((resolve, reject) => {
    let found: Buffer | null = null;
    let parser: InstanceType<typeof Busboy>;
    try {
      parser = new Busboy({ headers: { 'content-type': contentType }, limits: { files: 10, fileSize: body.length } });
    } catch (error) {
      reject(new ArchiveError(`The multipart body cannot be read: ${(error as Error).message}`));
      return;
    }
    parser.on('file', (field, stream) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => field === name && chunks.push(chunk));
      stream.on('end', () => {
        if (field === name && found === null) found = Buffer.concat(chunks);
      });
    });
    parser.on('field', (field, value) => {
      if (field === name && found === null) found = Buffer.from(value);
    });
    parser.on('error', (error: Error) => reject(new ArchiveError(`The multipart body cannot be read: ${error.message}`)));
    parser.on('finish', () => resolve(found));
    parser.end(body);
  });
}

const isZip = (bytes: Buffer) => bytes.length >= 4 && bytes.readUInt32LE(0) === 0x04034b50;

/**
 * The flow sources of an import: every .yml/.yaml file of a ZIP archive, or the text itself when
 * it is YAML. Sizes are checked before anything is inflated.
 */
export async function flowSourcesOf(upload: Buffer): Promise<string[]> {
  if (!isZip(upload)) return [upload.toString('utf8')];
  const { unzipSync } = await loadFflate();
  let total = 0;
  let count = 0;
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(new Uint8Array(upload), {
      filter: (file) => {
        if (file.name.endsWith('/')) return false;
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
  const sources: string[] = [];
  for (const [name, bytes] of Object.entries(files)) {
    // Kestra imports only YAML files; anything else in the archive is refused rather than ignored.
    if (!/\.ya?ml$/i.test(name)) throw new ArchiveError(`The archive holds ${name}, which is not a flow (.yml/.yaml)`);
    sources.push(Buffer.from(bytes).toString('utf8'));
  }
  return sources;
}
