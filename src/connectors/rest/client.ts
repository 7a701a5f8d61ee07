/**
 * Calling one configured operation: the URL, headers and body rendered from its templates,
 * authentication added, and the answer classified by the shared HTTP helper. Credentials
 * are only ever sent to `baseUrl`'s origin: a Link header pointing elsewhere is refused.
 */
import { ConnectorError } from '../errors.ts';
import type { HttpClient, HttpResponse } from '../http.ts';
import type { TokenSource } from '../oauth.ts';
import type { OperationSpec, RestAuth } from './settings.ts';
import { renderJson, renderText, renderUrl } from './template.ts';
import type { TemplateContext } from './template.ts';

export interface RestClient {
  readonly baseUrl: string;
  /** Sends one operation; `query` is added to its URL, `url` (same origin only) replaces it. */
  call(spec: OperationSpec, context: TemplateContext, options?: { query?: Record<string, string>; url?: string }): Promise<HttpResponse>;
}

export function createRestClient(baseUrl: string, auth: RestAuth, http: HttpClient, tokens: TokenSource | undefined): RestClient {
  const origin = new URL(baseUrl).origin;

  async function authHeaders(): Promise<Record<string, string>> {
    switch (auth.type) {
      case 'none':
      case 'api_key':
        return auth.type === 'api_key' && auth.in === 'header' ? { [auth.name]: auth.key } : {};
      case 'basic':
        return { authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}` };
      case 'bearer':
      case 'oauth2_client_credentials':
        return { authorization: await tokens!.header() };
    }
  }

  return {
    baseUrl,
    async call(spec, context, options = {}) {
      let url: URL;
      if (options.url !== undefined) {
        url = new URL(options.url, baseUrl);
        if (url.origin !== origin) {
          throw new ConnectorError('permanent', 'target_error', `the target sent a next-page link to ${url.origin}, not ${origin}; Steward sends credentials only to baseUrl`);
        }
      } else {
        url = new URL(baseUrl + renderUrl(spec.url, context));
      }
      for (const [k, v] of Object.entries(options.query ?? {})) url.searchParams.set(k, v);
      if (auth.type === 'api_key' && auth.in === 'query') url.searchParams.set(auth.name, auth.key);
      const extra = Object.fromEntries(Object.entries(spec.headers ?? {}).map(([k, v]) => [k, renderText(v, context)]));
      const json = spec.body === undefined || options.url !== undefined ? undefined : renderJson(spec.body, context);
      for (let attempt = 0; ; attempt++) {
        try {
          return await http.request({ method: spec.method, url: url.toString(), headers: { ...extra, ...(await authHeaders()) }, ...(json === undefined ? {} : { json }) });
        } catch (e) {
          // An OAuth token may be revoked or expire early: fetch a new one once.
          if (e instanceof ConnectorError && e.status === 401 && attempt === 0 && tokens?.invalidate()) continue;
          if (e instanceof ConnectorError && e.status === 401) {
            throw new ConnectorError('permanent', 'auth_failed', `${e.message} — the credentials were refused; check the ${auth.type} credentials in the application's settings`, {
              status: 401,
              ...(e.targetMessage === undefined ? {} : { targetMessage: e.targetMessage }),
            });
          }
          throw e;
        }
      }
    },
  };
}
