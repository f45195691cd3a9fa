// The HTTP client of every API call and watch: undici's Agent and its request API, loaded from
// their own modules. undici's index loads fetch, WebSocket, EventSource, the cache and mock
// layers with them (12 MiB more RSS in a bare process), and fetch wraps every response in web
// streams and Response objects, which a controller reading thousands of watch events a second
// pays for in CPU. The same Agent (one keep-alive pool, HTTP/2 when the server offers it).
import { createRequire } from 'node:module';
import type { Dispatcher } from 'undici';

const require = createRequire(import.meta.url);
const Agent = require('undici/lib/dispatcher/agent.js') as typeof import('undici').Agent;
type Agent = import('undici').Agent;
const requestOn = require('undici/lib/api/api-request.js') as (this: Dispatcher, opts: Dispatcher.RequestOptions) => Promise<Dispatcher.ResponseData>;

export { Agent };
export type { Dispatcher };

export interface HttpResponse { statusCode: number; body: Dispatcher.ResponseData['body'] }

/** One request on `dispatcher` (its pool). */
export function httpRequest(dispatcher: Dispatcher, url: URL, o: { method: string; headers: Record<string, string>; body?: string; signal?: AbortSignal }): Promise<HttpResponse> {
  return requestOn.call(dispatcher, {
    origin: url.origin, path: `${url.pathname}${url.search}`, method: o.method as Dispatcher.HttpMethod,
    headers: o.headers, body: o.body, signal: o.signal,
  });
}
