// What can go wrong with one inference request, as error classes a server maps to HTTP statuses
// (the library names no status codes; the HTTP layer does).

/** The model's queue is full: the request was refused at once rather than queued behind a backlog. */
export class QueueFullError extends Error {
  constructor(readonly model: string, readonly queueLimit: number, readonly retryAfterSeconds: number) {
    super(`model '${model}': the queue is full (${queueLimit} requests waiting); retry in ${retryAfterSeconds} s`);
    this.name = 'QueueFullError';
  }
}

/** The request waited or ran longer than its timeout. */
export class RequestTimeoutError extends Error {
  constructor(readonly model: string, readonly timeoutMs: number) {
    super(`model '${model}': no answer within ${timeoutMs} ms`);
    this.name = 'RequestTimeoutError';
  }
}

/** The input cannot be used (not an image, corrupt, too many pixels, wrong size); the message names the problem. */
export class InputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputError';
  }
}

/** The service is closing or closed and takes no new requests. */
export class ServiceClosedError extends Error {
  constructor(readonly model: string) {
    super(`model '${model}': the service is shutting down and takes no new requests`);
    this.name = 'ServiceClosedError';
  }
}

/** The caller gave up (its AbortSignal fired) before the answer came. */
export class RequestAbortedError extends Error {
  constructor(readonly model: string) {
    super(`model '${model}': the request was aborted`);
    this.name = 'RequestAbortedError';
  }
}
