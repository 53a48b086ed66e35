/**
 * Where the session meets the Tinker protocol layer (`src/tinker/`): the
 * default API factory and the error a closed session aborts its futures
 * with. That layer is built on its own; until it is merged, the factory
 * refuses to run and the error is a stand-in with the same `code`, `name`
 * and `sessionId`. Wiring it is this file alone:
 * `createTinkerApi = (options) => new TinkerApi(options)` and
 * `export { SessionClosedError } from '../tinker/errors.js'`.
 */
import type { TinkerApiFactory } from './tinker-api.js';

/**
 * A call on a closed session, or the reason its futures were aborted
 * (`FutureAbortedError.cause`). Stand-in for `src/tinker/errors.ts`'s class.
 */
export class SessionClosedError extends Error {
  /** Stable: `TINKER_SESSION_CLOSED`. */
  readonly code = 'TINKER_SESSION_CLOSED';
  override readonly name = 'SessionClosedError';
  /** The session that was closed. */
  readonly sessionId: string;

  constructor(sessionId: string, options?: ErrorOptions) {
    super(`Tinker session ${sessionId} is closed`, options);
    this.sessionId = sessionId;
  }
}

/** The default factory of a session's API: `TinkerApi`, once `src/tinker/` is wired in (see above). */
export const createTinkerApi: TinkerApiFactory = () => {
  throw Object.assign(new Error('createSession() needs the Tinker API client (src/tinker/api.ts), which is not wired into this build'), {
    code: 'ERR_TINKER_API_MISSING',
  });
};
