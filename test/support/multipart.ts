/** A multipart/form-data body of several parts (a part without `filename` is a plain field), as a browser's FormData sends it. */
export function multipartForm(parts: ReadonlyArray<{ name: string; filename?: string; data: Uint8Array | string }>): { body: Buffer; headers: Record<string, string> } {
  const boundary = 'perchtestboundary';
  return {
    body: Buffer.concat([
      ...parts.flatMap((p) => [
        Buffer.from(
          `--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"${p.filename === undefined ? '' : `; filename="${p.filename}"\r\nContent-Type: application/octet-stream`}\r\n\r\n`,
        ),
        Buffer.from(p.data),
        Buffer.from('\r\n'),
      ]),
      Buffer.from(`--${boundary}--\r\n`),
    ]),
    headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
  };
}

/** A multipart/form-data body holding one file, and the headers that announce it: what a browser sends for a file input. */
export function fileUpload(bytes: Uint8Array | string, filename: string, field = 'fileUpload'): { body: Buffer; headers: Record<string, string> } {
  return multipartForm([{ name: field, filename, data: bytes }]);
}
