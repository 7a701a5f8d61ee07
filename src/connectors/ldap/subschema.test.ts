import { describe, expect, it } from 'vitest';
import { accountAttributesOf, parseDefinition, parseSubschema } from './subschema.ts';

describe('parseDefinition', () => {
  it('reads names, lists, bare words and flags', () => {
    const r = parseDefinition("( 2.5.4.3 NAME ( 'cn' 'commonName' ) DESC 'RFC4519: common name(s)' SUP name SINGLE-VALUE X-ORIGIN 'RFC 4519' )");
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.oid).toBe('2.5.4.3');
    expect(r.value.fields.get('NAME')).toEqual(['cn', 'commonName']);
    expect(r.value.fields.get('DESC')).toEqual(['RFC4519: common name(s)']);
    expect(r.value.fields.get('SUP')).toEqual(['name']);
    expect(r.value.fields.get('SINGLE-VALUE')).toEqual([]);
    expect(r.value.fields.get('X-ORIGIN')).toEqual(['RFC 4519']);
  });
  it('reads $-separated MUST and MAY lists', () => {
    const r = parseDefinition("( 2.5.6.6 NAME 'person' SUP top STRUCTURAL MUST ( sn $ cn ) MAY ( userPassword $ telephoneNumber ) )");
    expect(r.ok && r.value.fields.get('MUST')).toEqual(['sn', 'cn']);
    expect(r.ok && r.value.fields.get('MAY')).toEqual(['userPassword', 'telephoneNumber']);
    expect(r.ok && r.value.fields.has('STRUCTURAL')).toBe(true);
  });
  it('reports what it cannot read', () => {
    expect(parseDefinition("( 1.2 NAME 'x )").ok).toBe(false);
    expect(parseDefinition('1.2 NAME x').ok).toBe(false);
    expect(parseDefinition("( 1.2 NAME ( 'a' 'b' )").ok).toBe(false);
  });
});

describe('accountAttributesOf', () => {
  const { schema } = parseSubschema(
    [
      "( 2.5.4.41 NAME 'name' SYNTAX 1.3.6.1.4.1.1466.115.121.1.15{32768} )",
      "( 2.5.4.3 NAME ( 'cn' 'commonName' ) SUP name )",
      "( 2.5.4.4 NAME ( 'sn' 'surname' ) SUP name )",
      "( 2.16.840.1.113730.3.1.241 NAME 'displayName' SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )",
      "( 2.5.4.35 NAME 'userPassword' SYNTAX 1.3.6.1.4.1.1466.115.121.1.40 )",
      "( 0.9.2342.19200300.100.1.60 NAME 'jpegPhoto' SYNTAX 1.3.6.1.4.1.1466.115.121.1.28 )",
      "( 1.1 NAME 'uidNumber' SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )",
      "( 2.5.18.1 NAME 'createTimestamp' SYNTAX 1.3.6.1.4.1.1466.115.121.1.24 SINGLE-VALUE NO-USER-MODIFICATION USAGE directoryOperation )",
    ],
    [
      "( 2.5.6.0 NAME 'top' ABSTRACT MUST objectClass )",
      "( 2.5.6.6 NAME 'person' SUP top STRUCTURAL MUST ( sn $ cn ) MAY ( userPassword ) )",
      "( 9.9 NAME 'thing' SUP person STRUCTURAL MAY ( displayName $ jpegPhoto $ uidNumber $ createTimestamp ) )",
    ],
  );
  it('collects MUST and MAY through superclasses, with types from inherited syntaxes', () => {
    expect(accountAttributesOf(schema, ['thing'])).toEqual([
      { name: 'sn', type: 'string', multiValued: true, required: true },
      { name: 'cn', type: 'string', multiValued: true, required: true },
      { name: 'displayName', type: 'string', multiValued: false },
      { name: 'uidNumber', type: 'integer', multiValued: false },
    ]);
  });
});
