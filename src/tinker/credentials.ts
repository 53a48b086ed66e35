/**
 * The credential sent as `X-API-Key` (the key, or the JWT the server issued
 * for it) and the redaction of every secret this layer has held: no log
 * line, error message or channel payload may carry the key or a JWT, not
 * even a fragment of one cut short.
 */
import { redactCut, redactText } from '../core/redact.js';

/** JWTs remembered for redaction besides the current one: a request sent before a refresh may still fail after it. */
const REMEMBERED_JWTS = 4;

/** The credential in use and every secret to redact; one per API client. */
export class Credentials {
  readonly #apiKey: string;
  #jwt: string | undefined;
  /** The key, then the JWTs from newest to oldest. */
  #secrets: string[];

  constructor(apiKey: string) {
    this.#apiKey = apiKey;
    this.#secrets = [apiKey];
  }

  /** The API key; sent only to exchange it for a JWT, and when no JWT is in use. */
  get apiKey(): string {
    return this.#apiKey;
  }

  /** What `X-API-Key` carries now: the JWT when one was issued, else the key. */
  get current(): string {
    return this.#jwt ?? this.#apiKey;
  }

  /** The JWT in use, or undefined while the key is sent as it is. */
  get jwt(): string | undefined {
    return this.#jwt;
  }

  /** From now on `current` is `jwt`; it is redacted everywhere from now on too. */
  useJwt(jwt: string): void {
    this.#jwt = jwt;
    const older = this.#secrets.slice(1).filter((secret) => secret !== jwt);
    this.#secrets = [this.#apiKey, jwt, ...older.slice(0, REMEMBERED_JWTS - 1)];
  }

  /** `text` with the key and every remembered JWT replaced by `[redacted]`. */
  redact(text: string): string {
    let out = text;
    for (const secret of this.#secrets) out = redactText(out, secret);
    return out;
  }

  /**
   * `text` redacted, then cut to `limit` characters with `…` when longer.
   * Every secret is redacted from the whole text before the cut (the key
   * with the cut itself, which never splits it), so no fragment survives.
   */
  redactCut(text: string, limit: number): string {
    let out = text;
    for (const secret of this.#secrets.slice(1)) out = redactText(out, secret);
    const { kept, omitted } = redactCut(out, limit, this.#apiKey);
    return omitted > 0 ? `${kept}…` : kept;
  }
}
