import { describe, expect, it } from 'vitest';
import { checkTemplate, renderJson, renderText, renderUrl } from './template.ts';
import { readPath } from './path.ts';

const scope = { values: ['nativeIdentity', 'entitlement'], objects: ['attributes', 'settings'] };

describe('rest templates', () => {
  it('encodes each value as one URL segment, so a value cannot change the path or query', () => {
    expect(renderUrl('/users/{{nativeIdentity}}/groups/{{entitlement}}', { nativeIdentity: '../admin?x=1', entitlement: 'a b/c' })).toBe('/users/..%2Fadmin%3Fx%3D1/groups/a%20b%2Fc');
  });

  it('builds JSON bodies as JSON: a lone placeholder keeps its type, quotes in values stay inside strings', () => {
    const body = renderJson(
      { user: { login: '{{nativeIdentity}}', emails: '{{attributes.emails}}', note: 'hi {{attributes.name}}', active: true, missing: '{{attributes.none}}' } },
      { nativeIdentity: 'ada', attributes: { emails: ['a@x', 'b@x'], name: 'Ada "the" Countess\n' } },
    );
    expect(body).toEqual({ user: { login: 'ada', emails: ['a@x', 'b@x'], note: 'hi Ada "the" Countess\n', active: true, missing: null } });
    expect(JSON.parse(JSON.stringify(body))).toEqual(body);
  });

  it('refuses a header value that would hold a line break', () => {
    expect(() => renderText('Bearer {{settings.x}}', { settings: { x: 'a\r\nX-Evil: 1' } })).toThrow(/line break/);
  });

  it('names the field and the placeholder of an unknown one, and an unclosed one', () => {
    const problems = checkTemplate({ a: '{{nativeIdentity}}', b: ['{{attributes.mail}}', '{{nope}}'], c: '{{settings' }, scope, 'operations.createUser.body');
    expect(problems).toEqual([
      expect.objectContaining({ field: 'operations.createUser.body.b[1]', message: expect.stringContaining("unknown placeholder '{{nope}}'") }),
      expect.objectContaining({ field: 'operations.createUser.body.c', message: expect.stringContaining('unclosed') }),
    ]);
  });

  it('reads by JSON Pointer and by dotted path', () => {
    const doc = { data: { users: [{ id: 7 }] }, 'a/b': { '~': 1 } };
    expect(readPath(doc, '/data/users/0/id')).toBe(7);
    expect(readPath(doc, 'data.users.0.id')).toBe(7);
    expect(readPath(doc, '/a~1b/~0')).toBe(1);
    expect(readPath(doc, '')).toBe(doc);
    expect(readPath(doc, 'data.nothing.here')).toBeUndefined();
  });
});
