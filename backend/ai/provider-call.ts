import type { AiProviderConfig } from '../../lib/schemas/ai.js';
import { HttpError } from '../http/errors.js';

/** The largest answer Perch reads from a provider. */
export const MAX_ANSWER_BYTES = 2 * 1024 * 1024;

/** A provider failed: 502 naming it, never its key nor its raw answer. */
export class ProviderFailure extends HttpError {
  constructor(provider: AiProviderConfig, what: string) {
    super(502, `AI provider ${provider.id} (${provider.kind}) failed: ${what}`, { providerId: provider.id });
  }
}

const codeOf = (error: unknown): string => {
  const e = error as { code?: unknown; cause?: { code?: unknown } } | undefined;
  const code = typeof e?.cause?.code === 'string' ? e.cause.code : typeof e?.code === 'string' ? e.code : undefined;
  return code ?? 'network error';
};

/**
 * One call of a provider through its official client: the `fetch` handed to the client holds Perch's
 * limits (the answer read at most {@link MAX_ANSWER_BYTES}, the whole call within the provider's
 * `timeoutSeconds`, the caller's abort), and remembers what happened on the wire, so that whatever
 * the client throws becomes one {@link ProviderFailure} that names the provider and never carries
 * the client's message (which may quote the provider's answer or URL).
 */
export class ProviderCall {
  private readonly timeout: AbortSignal;
  private readonly signal: AbortSignal;
  /** The HTTP status of the provider's last answer, once it answered. */
  private status: number | undefined;
  private failure: ProviderFailure | undefined;
  private cut: string | undefined;
  private unreachable: string | undefined;

  constructor(private readonly provider: AiProviderConfig, private readonly abort?: AbortSignal) {
    this.timeout = AbortSignal.timeout(provider.timeoutSeconds * 1000);
    this.signal = abort ? AbortSignal.any([this.timeout, abort]) : this.timeout;
  }

  /** For the clients' own timeout options: Perch's signal is what ends a call. */
  get timeoutMs(): number {
    return this.provider.timeoutSeconds * 1000;
  }

  readonly fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    let res: Response;
    try {
      res = await fetch(input, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, this.signal]) : this.signal });
    } catch (error) {
      this.unreachable = codeOf(error);
      throw error;
    }
    this.status = res.status;
    if (!res.body) return res;
    const reader = res.body.getReader();
    let size = 0;
    const capped = new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        let next: ReadableStreamReadResult<Uint8Array>;
        try {
          next = await reader.read();
        } catch (error) {
          this.cut = codeOf(error);
          throw error;
        }
        if (next.done) return controller.close();
        size += next.value.byteLength;
        if (size > MAX_ANSWER_BYTES) {
          this.failure = new ProviderFailure(this.provider, `its answer is larger than ${MAX_ANSWER_BYTES} bytes`);
          await reader.cancel().catch(() => {});
          controller.error(this.failure);
          return;
        }
        controller.enqueue(next.value);
      },
      cancel: (reason) => reader.cancel(reason),
    });
    return new Response(capped, { status: res.status, statusText: res.statusText, headers: res.headers });
  };

  /** What a client's error means, said once, naming the provider. */
  failed(error: unknown, streamed: boolean): ProviderFailure {
    const p = this.provider;
    if (error instanceof ProviderFailure) return error;
    if (this.failure) return this.failure;
    if (this.timeout.aborted) return new ProviderFailure(p, `it did not answer within ${p.timeoutSeconds} s`);
    if (this.abort?.aborted) return new ProviderFailure(p, 'the request was abandoned');
    if (this.status === undefined) return new ProviderFailure(p, `it could not be reached (${this.unreachable ?? codeOf(error)})`);
    if (this.status < 200 || this.status >= 300) return new ProviderFailure(p, `it answered HTTP ${this.status}`);
    if (this.cut) return new ProviderFailure(p, `its answer was cut (${this.cut})`);
    return new ProviderFailure(p, streamed ? 'it reported an error while streaming' : 'its answer cannot be read');
  }
}
