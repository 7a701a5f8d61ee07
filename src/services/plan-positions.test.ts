import { describe, expect, it } from 'vitest';
import { locateRequests, withPositions } from './plan-positions.ts';

const xml = `<?xml version='1.0' encoding='UTF-8'?>
<!-- a comment with <AccountRequest> in it -->
<ProvisioningPlan>
  <AccountRequest application='A' nativeIdentity='x'>
    <AttributeRequest name='a' value='1'/>
    <PermissionRequest target='t' rights='r'/>
  </AccountRequest>
  <AccountRequest application='B' nativeIdentity='y'/>
</ProvisioningPlan>`;

describe('plan request positions', () => {
  it('finds where each request starts, skipping comments', () => {
    expect(locateRequests(xml)).toEqual([
      { at: { line: 4, column: 3 }, attributes: [{ line: 5, column: 5 }], permissions: [{ line: 6, column: 5 }] },
      { at: { line: 8, column: 3 }, attributes: [], permissions: [] },
    ]);
  });

  it("gives a problem the position of the innermost request its field names, and leaves others alone", () => {
    const got = withPositions(
      [
        { code: 'c', message: 'm', field: 'accountRequests[0].permissionRequests[0].target' },
        { code: 'c', message: 'm', field: 'accountRequests[1].op' },
        { code: 'c', message: 'm', field: 'identity' },
      ],
      xml,
    );
    expect(got.map((p) => [p.line, p.column])).toEqual([[6, 5], [8, 3], [undefined, undefined]]);
  });
});
