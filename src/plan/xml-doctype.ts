/**
 * The DOCTYPE rule. A plan may say `<!DOCTYPE ProvisioningPlan PUBLIC "sailpoint.dtd"
 * "sailpoint.dtd">` (SailPoint writes it), but no DTD is ever loaded and nothing is ever
 * declared: an internal subset (where entities, billion-laughs and parameter entities
 * live) or a DTD elsewhere (XXE's `SYSTEM "file:///…"`) refuses the whole document.
 */

const DOCTYPE = /^\s*([^\s[]+)(?:\s+(?:PUBLIC\s+("[^"]*"|'[^']*')\s+("[^"]*"|'[^']*')|SYSTEM\s+("[^"]*"|'[^']*')))?\s*(\[[\s\S]*)?$/;

const unquote = (s: string): string => s.slice(1, -1);

const isSailPointDtd = (system: string): boolean => system === 'sailpoint.dtd' || /[/\\]sailpoint\.dtd$/.test(system);

/** Why the DOCTYPE body (the text saxes reports after `<!DOCTYPE`) is refused, or undefined when it is fine. */
export function doctypeRefusal(body: string): string | undefined {
  const m = DOCTYPE.exec(body);
  if (!m) return 'the DOCTYPE cannot be read; write <!DOCTYPE ProvisioningPlan PUBLIC "sailpoint.dtd" "sailpoint.dtd"> or leave it out';
  const [, name, , publicSystem, systemOnly, subset] = m;
  if (subset !== undefined) {
    if (/<!ENTITY/.test(subset)) {
      return 'the DOCTYPE declares entities; entity declarations are refused and entities are never expanded or fetched (billion-laughs and XXE protection)';
    }
    return 'the DOCTYPE has an internal subset ([…]); internal DTD subsets are refused';
  }
  if (name !== 'ProvisioningPlan') return `the DOCTYPE names <${name ?? ''}>, but a plan's root element is <ProvisioningPlan>`;
  const system = publicSystem ?? systemOnly;
  if (system !== undefined && !isSailPointDtd(unquote(system))) {
    return `the DOCTYPE refers to the DTD '${unquote(system)}'; only "sailpoint.dtd" is accepted, and no DTD is ever loaded`;
  }
  return undefined;
}
