import { describe, expect, it } from 'vitest';
import type { AccountRequest, ProvisioningPlan } from './model.ts';
import { parsePlanXml } from './xml-parse.ts';
import { toXml } from './xml-write.ts';

// Every XML example in seed 004, verbatim (fragments wrapped where the seed shows only an
// element), each with the model it must read as.

const account = (application: string, nativeIdentity: string, rest: Partial<AccountRequest> = {}): AccountRequest => ({
  application,
  nativeIdentity,
  op: 'Modify',
  attributeRequests: [],
  permissionRequests: [],
  ...rest,
});

const inPlan = (inner: string): string => `<ProvisioningPlan>\n  <AccountRequest application='HR' nativeIdentity='jeff'>\n${inner}\n  </AccountRequest>\n</ProvisioningPlan>`;

function read(xml: string): ProvisioningPlan {
  const r = parsePlanXml(xml);
  if (!r.ok) throw new Error(`expected a plan, got ${JSON.stringify(r.errors, null, 2)}`);
  // Whatever reads must write and read back to the same plan.
  const again = parsePlanXml(toXml(r.value));
  expect(again).toEqual({ ok: true, value: r.value });
  return r.value;
}

describe('seed 004 XML examples', () => {
  it('the basic structure, with the <?xml?> and DOCTYPE prologue', () => {
    const xml = `<?xml version='1.0' encoding='UTF-8'?>

<!DOCTYPE ProvisioningPlan PUBLIC "sailpoint.dtd" "sailpoint.dtd">

<ProvisioningPlan>

  <AccountRequest application='HR' op='Modify' nativeIdentity='jeff'>

    <AttributeRequest name='groups' op='Add' value='Illuminati'/>

  </AccountRequest>

</ProvisioningPlan>`;
    expect(read(xml)).toEqual({
      accountRequests: [account('HR', 'jeff', { attributeRequests: [{ name: 'groups', op: 'Add', value: 'Illuminati' }] })],
    });
  });

  it('Create with default Add attribute requests', () => {
    const xml = `<ProvisioningPlan>

  <AccountRequest application='HR' op='Create' nativeIdentity='jeff'>

    <AttributeRequest name='password' value='xyzzy'/>

    <AttributeRequest name='groups' value='Illuminati'/>

  </AccountRequest>

</ProvisioningPlan>`;
    expect(read(xml)).toEqual({
      accountRequests: [
        account('HR', 'jeff', {
          op: 'Create',
          attributeRequests: [
            { name: 'password', op: 'Add', value: 'xyzzy' },
            { name: 'groups', op: 'Add', value: 'Illuminati' },
          ],
        }),
      ],
    });
  });

  it('Delete', () => {
    const xml = `<ProvisioningPlan>

  <AccountRequest application='HR' op='Delete' nativeIdentity='jeff'/>

</ProvisioningPlan>`;
    expect(read(xml)).toEqual({ accountRequests: [account('HR', 'jeff', { op: 'Delete' })] });
  });

  it('Disable, Enable and Unlock', () => {
    const xml = `<ProvisioningPlan>
  <AccountRequest application='HR' op='Disable' nativeIdentity='jeff'/>

  <AccountRequest application='HR' op='Enable' nativeIdentity='jeff'/>

  <AccountRequest application='HR' op='Unlock' nativeIdentity='jeff'/>
</ProvisioningPlan>`;
    expect(read(xml)).toEqual({
      accountRequests: [account('HR', 'jeff', { op: 'Disable' }), account('HR', 'jeff', { op: 'Enable' }), account('HR', 'jeff', { op: 'Unlock' })],
    });
  });

  it('the Disable fragment alone is refused: its root is not <ProvisioningPlan>', () => {
    const r = parsePlanXml(`  <AccountRequest application='HR' op='Disable' nativeIdentity='jeff'/>`);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors[0]).toMatchObject({ code: 'plan.xml.root', line: 1, column: 3 });
    expect(r.errors[0]?.message).toContain('must be <ProvisioningPlan>');
  });

  it('add a group, remove a group', () => {
    const xml = inPlan(`<AttributeRequest name='groups' op='Add' value='Malcontents'/>

<AttributeRequest name='groups' op='Remove' value='Malcontents'/>`);
    expect(read(xml).accountRequests[0]?.attributeRequests).toEqual([
      { name: 'groups', op: 'Add', value: 'Malcontents' },
      { name: 'groups', op: 'Remove', value: 'Malcontents' },
    ]);
  });

  it('replace the group list with a <value><List>', () => {
    const xml = inPlan(`<AttributeRequest name='groups' op='Set'>

  <value>

    <List>

      <String>Hunters</String>

      <String>Gatherers</String>

    </List>

  </value>

</AttributeRequest>`);
    expect(read(xml).accountRequests[0]?.attributeRequests).toEqual([{ name: 'groups', op: 'Set', value: ['Hunters', 'Gatherers'] }]);
  });

  it("the seed's typo name='mailboxSize op='Set' is malformed XML, reported with its position", () => {
    const xml = inPlan(` <AttributeRequest name='mailboxSize op='Set'>

   <value>

     <Integer>100</Integer>

   </value>

 </AttributeRequest>`);
    const r = parsePlanXml(xml);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    // Line 3 is the AttributeRequest; the stray quote closes name= early, so "Set'" follows
    // "op=" with no space: column 42 is the S.
    expect(r.errors[0]).toMatchObject({ code: 'plan.xml.malformed', line: 3, column: 42 });
    expect(r.errors[0]?.message).toBe('line 3, column 42: not well-formed XML: no whitespace between attributes');
    expect(r.errors.every((e) => e.code === 'plan.xml.malformed' && e.line === 3)).toBe(true);
  });

  it('the corrected typo example reads an <Integer>', () => {
    const xml = inPlan(` <AttributeRequest name='mailboxSize' op='Set'>
   <value>
     <Integer>100</Integer>
   </value>
 </AttributeRequest>`);
    expect(read(xml).accountRequests[0]?.attributeRequests).toEqual([{ name: 'mailboxSize', op: 'Set', value: 100 }]);
  });

  it("mailboxSize with op='Set' value='100' is the string '100' (coercion is the semantics' job)", () => {
    const xml = inPlan(` <AttributeRequest name='mailboxSize' op='Set' value='100'/>`);
    expect(read(xml).accountRequests[0]?.attributeRequests).toEqual([{ name: 'mailboxSize', op: 'Set', value: '100' }]);
  });

  it("mailboxSize value='100' defaults to Add", () => {
    const xml = inPlan(` <AttributeRequest name='mailboxSize' value='100'/> `);
    expect(read(xml).accountRequests[0]?.attributeRequests).toEqual([{ name: 'mailboxSize', op: 'Add', value: '100' }]);
  });

  it("the IIQ application with assignedRoles, op defaulting to Modify", () => {
    const xml = ` <ProvisioningPlan>

   <AccountRequest application='IIQ' nativeIdentity='jeff'>

     <AttributeRequest name='assignedRoles' value='Candy Men'/>

   </AccountRequest>

 </ProvisioningPlan>`;
    expect(read(xml)).toEqual({
      accountRequests: [account('IIQ', 'jeff', { attributeRequests: [{ name: 'assignedRoles', op: 'Add', value: 'Candy Men' }] })],
    });
  });

  it('a PermissionRequest with rights as CSV', () => {
    const xml = ` <ProvisioningPlan>

   <AccountRequest application='Some Database' nativeIdentity='jeff'>

     <PermissionRequest target='HR Employees' op='Add' rights='read,write,delete'/>

   </AccountRequest>

 </ProvisioningPlan>`;
    expect(read(xml)).toEqual({
      accountRequests: [account('Some Database', 'jeff', { permissionRequests: [{ target: 'HR Employees', op: 'Add', rights: ['read', 'write', 'delete'] }] })],
    });
  });
});
