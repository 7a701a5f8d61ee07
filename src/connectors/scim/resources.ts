/** Reading and changing SCIM Users and Groups, one resource at a time. */
import { ConnectorError } from '../errors.ts';
import type { ScimClient } from './client.ts';
import { versionOf } from './client.ts';
import type { PatchOperation, ScimResource } from './mapping.ts';
import { PATCH_OP_SCHEMA } from './scim-schema.ts';

export interface Versioned {
  resource: ScimResource;
  /** The version to send in If-Match, when the target offers one. */
  version: string | undefined;
}

/** A filter string value, quoted as RFC 7644 §3.4.2.2 wants (a JSON string). */
export const quote = (v: string): string => JSON.stringify(v);

const enc = encodeURIComponent;

/** A User or Group by id, or null when the target has none. */
export async function getResource(client: ScimClient, type: 'Users' | 'Groups', id: string, attributes?: string): Promise<Versioned | null> {
  try {
    const res = await client.send('GET', `/${type}/${enc(id)}`, attributes === undefined ? {} : { query: { attributes } });
    return { resource: res.body as ScimResource, version: versionOf(res) };
  } catch (e) {
    if (e instanceof ConnectorError && e.status === 404) return null;
    throw e;
  }
}

/** The resources matching a filter (first page: used for lookups that expect one or two). */
export async function findResources(client: ScimClient, type: 'Users' | 'Groups', filter: string, attributes?: string): Promise<ScimResource[]> {
  const query: Record<string, string> = { filter, startIndex: '1', count: '2' };
  if (attributes !== undefined) query.attributes = attributes;
  const res = await client.send('GET', `/${type}`, { query });
  const list = (res.body as { Resources?: unknown } | undefined)?.Resources;
  return Array.isArray(list) ? (list as ScimResource[]) : [];
}

/** The SCIM id of the user a nativeIdentity names, or null when there is none. */
export async function userIdOf(client: ScimClient, nativeIdentity: string, identityAttribute: 'id' | 'userName'): Promise<string | null> {
  if (identityAttribute === 'id') return nativeIdentity;
  const found = await findResources(client, 'Users', `userName eq ${quote(nativeIdentity)}`, 'id');
  if (found.length > 1) throw new ConnectorError('permanent', 'conflict', `more than one SCIM User has userName '${nativeIdentity}'`);
  const id = found[0]?.id;
  return typeof id === 'string' ? id : null;
}

/** PATCHes a resource; resolves with the new resource when the target returns one. */
export async function patchResource(client: ScimClient, type: 'Users' | 'Groups', id: string, ops: PatchOperation[], ifMatch?: string): Promise<ScimResource | undefined> {
  const res = await client.send('PATCH', `/${type}/${enc(id)}`, {
    json: { schemas: [PATCH_OP_SCHEMA], Operations: ops },
    ...(ifMatch === undefined ? {} : { ifMatch }),
  });
  return res.status === 204 ? undefined : (res.body as ScimResource | undefined);
}

/** Read-only and server-computed parts of a resource that a PUT must not send back. */
const SERVER_OWNED = ['meta', 'groups'];

/** PUTs a whole resource (its read-only parts removed). */
export async function putResource(client: ScimClient, type: 'Users' | 'Groups', id: string, resource: ScimResource, ifMatch?: string): Promise<ScimResource | undefined> {
  const body: ScimResource = { ...resource };
  for (const k of SERVER_OWNED) delete body[k];
  if (type === 'Groups') body.members = resource.members;
  const res = await client.send('PUT', `/${type}/${enc(id)}`, { json: body, ...(ifMatch === undefined ? {} : { ifMatch }) });
  return res.body as ScimResource | undefined;
}

/** Group membership: PATCH add/remove of `members`, or a read-modify-PUT where PATCH is off. */
export async function changeMembership(client: ScimClient, groupId: string, userId: string, op: 'add' | 'remove', usePatch: boolean): Promise<void> {
  if (usePatch) {
    const ops: PatchOperation[] =
      op === 'add' ? [{ op: 'add', path: 'members', value: [{ value: userId }] }] : [{ op: 'remove', path: `members[value eq ${quote(userId)}]` }];
    await patchResource(client, 'Groups', groupId, ops);
    return;
  }
  // Two writers may race on the member list; If-Match makes the loser re-read.
  for (let attempt = 0; ; attempt++) {
    const current = await getResource(client, 'Groups', groupId);
    if (current === null) throw new ConnectorError('permanent', 'not_found', `SCIM Group ${groupId} does not exist`, { status: 404 });
    const members = Array.isArray(current.resource.members) ? (current.resource.members as { value?: unknown }[]) : [];
    const next = op === 'add' ? [...members.filter((m) => m.value !== userId), { value: userId }] : members.filter((m) => m.value !== userId);
    try {
      await putResource(client, 'Groups', groupId, { ...current.resource, members: next }, current.version);
      return;
    } catch (e) {
      if (e instanceof ConnectorError && e.status === 412 && attempt < 2) continue;
      throw e;
    }
  }
}
