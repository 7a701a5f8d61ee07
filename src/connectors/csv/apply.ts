/**
 * Carrying out one AccountRequest on a CSV file: one streaming rewrite of the file in which
 * the account's row is changed, dropped or added, so every part of the request lands
 * together or not at all.
 */
import type { Problem } from '../../domain/result.ts';
import type { AccountRequest } from '../../plan/model.ts';
import type { Capabilities } from '../capabilities.ts';
import type { ChangePlan } from '../changes.ts';
import { isEffective, planChanges, valueTexts } from '../changes.ts';
import type { ApplyResult } from '../contract.ts';
import { ConnectorError, refused, toApplyError } from '../errors.ts';
import { OutcomeTracker, assertApplicable } from '../outcomes.ts';
import { cellOf, cellValues, isMultiValued, readLayout } from './file.ts';
import type { Layout } from './file.ts';
import { groupNames } from './groups.ts';
import { rewrite } from './rewrite.ts';
import type { CsvSettings } from './settings.ts';

export interface CsvApplyContext {
  settings: CsvSettings;
  capabilities: Capabilities;
}

function checkRequest(request: AccountRequest, settings: CsvSettings, layout: Layout): Problem[] {
  const problems: Problem[] = [];
  request.attributeRequests.forEach((ar, i) => {
    const field = `attributeRequests[${i}] (${ar.name})`;
    if (!layout.index.has(ar.name)) {
      problems.push({ code: 'connector.unknown_attribute', field, message: `${settings.path} has no column '${ar.name}'` });
      return;
    }
    if (ar.name === settings.statusColumn) {
      problems.push({ code: 'connector.read_only_attribute', field, message: `'${ar.name}' is the account state; use a Disable or Enable request` });
      return;
    }
    const values = valueTexts(ar.value);
    const multi = isMultiValued(settings, ar.name);
    if (!multi && ar.op !== 'Remove' && values.length > 1) {
      problems.push({ code: 'connector.invalid_value', field, message: `'${ar.name}' is single-valued; give one value, not ${values.length}` });
    }
    if (multi && values.some((v) => v.includes(settings.multiValueSeparator))) {
      problems.push({ code: 'connector.invalid_value', field, message: `a value of '${ar.name}' contains the separator '${settings.multiValueSeparator}'` });
    }
    if (ar.name === settings.keyColumn && ar.op !== 'Remove' && values.length === 1 && values[0] === '') {
      problems.push({ code: 'connector.invalid_value', field, message: 'the key column cannot be empty' });
    }
    if (ar.name === settings.keyColumn && ar.op === 'Remove') {
      problems.push({ code: 'connector.invalid_value', field, message: 'the key column cannot be removed' });
    }
  });
  if (request.op === 'Create' && keyOf(request, settings) === undefined) {
    problems.push({ code: 'connector.missing_key', field: 'nativeIdentity', message: `a Create needs a nativeIdentity or a '${settings.keyColumn}' attribute` });
  }
  return problems;
}

/** The key a Create names: its nativeIdentity, else its key-column attribute. */
function keyOf(request: AccountRequest, settings: CsvSettings): string | undefined {
  if (request.nativeIdentity !== undefined && request.nativeIdentity !== '') return request.nativeIdentity;
  const ar = request.attributeRequests.find((a) => a.name === settings.keyColumn && a.op !== 'Remove');
  const v = valueTexts(ar?.value)[0];
  return v === undefined || v === '' ? undefined : v;
}

async function checkGroups(request: AccountRequest, settings: CsvSettings): Promise<Problem[]> {
  if (settings.groupsColumn === undefined || settings.groupsPath === undefined) return [];
  const wanted = new Set<string>();
  for (const ar of request.attributeRequests) if (ar.name === settings.groupsColumn && ar.op !== 'Remove') for (const v of valueTexts(ar.value)) wanted.add(v);
  if (wanted.size === 0) return [];
  const known = await groupNames(settings, wanted);
  return [...wanted].filter((g) => !known.has(g)).map((g) => ({ code: 'connector.unknown_entitlement', field: settings.groupsColumn!, message: `no group '${g}' in ${settings.groupsPath}` }));
}

function currentOf(fields: string[], layout: Layout, settings: CsvSettings): Record<string, string[]> {
  const current: Record<string, string[]> = {};
  layout.header.forEach((column, i) => {
    current[column] = cellValues(settings, column, fields[i] ?? '');
  });
  return current;
}

/** Carries out one AccountRequest on the file (see the Connector contract). */
export async function applyCsv(ctx: CsvApplyContext, request: AccountRequest): Promise<ApplyResult> {
  const { settings } = ctx;
  assertApplicable(request, ctx.capabilities);
  const layout = await readLayout(settings);
  const problems = [...checkRequest(request, settings, layout), ...(await checkGroups(request, settings))];
  if (problems.length > 0) throw refused('invalid_request', problems);

  const t = new OutcomeTracker(request);
  const target = request.op === 'Create' ? keyOf(request, settings)! : request.nativeIdentity!;
  const planFor = (current: Record<string, string[]>): ChangePlan =>
    planChanges(current, request.op === 'Delete' ? [] : request.attributeRequests, { multiValued: (c) => isMultiValued(settings, c) });

  let found = false;
  let plan: ChangePlan | undefined;
  let stateChanged = false;
  let newKey = target;
  let clash: number | undefined;
  const status = settings.statusColumn === undefined ? undefined : layout.index.get(settings.statusColumn);
  const want = request.op === 'Disable' ? settings.disabledValue : request.op === 'Enable' ? settings.enabledValue : undefined;

  function edit(fields: string[], current: Record<string, string[]>): string[] {
    plan = planFor(current);
    const next = [...fields];
    for (const change of plan.changes.values()) next[layout.index.get(change.name)!] = cellOf(settings, change.name, change.after);
    if (want !== undefined && status !== undefined && (fields[status] ?? '').trim() !== want) {
      next[status] = want;
      stateChanged = true;
    }
    newKey = next[layout.key] ?? target;
    return next;
  }

  // A Modify may rename the key; the new key must not be another row's.
  const renameTo = request.op === 'Create' ? target : (planFor({}).changes.get(settings.keyColumn)?.after[0] ?? target);

  let changed: boolean;
  try {
    changed = await rewrite(settings, {
      row(fields, _layout, line) {
        const key = fields[layout.key] ?? '';
        if (key === target && !found) {
          found = true;
          if (request.op === 'Create') {
            clash = line;
            return fields;
          }
          if (request.op === 'Delete') return null;
          return edit(fields, currentOf(fields, layout, settings));
        }
        if (request.op !== 'Create' && request.op !== 'Delete' && renameTo !== target && key === renameTo) clash = line;
        return fields;
      },
      end() {
        if (request.op !== 'Create' || found) return [];
        const empty = layout.header.map(() => '');
        if (status !== undefined) empty[status] = settings.enabledValue;
        empty[layout.key] = target;
        return [edit(empty, {})];
      },
      commit() {
        if (clash !== undefined) return false;
        if (request.op === 'Create') return true;
        if (!found) return false;
        if (request.op === 'Delete') return true;
        return stateChanged || [...(plan?.changes.values() ?? [])].some(isEffective);
      },
    });
  } catch (e) {
    t.error(toApplyError(e));
    if (request.op !== 'Modify') t.account('failed');
    return t.result(request.op === 'Create' ? null : target);
  }

  if (clash !== undefined) {
    const what = request.op === 'Create' ? `an account '${target}'` : `an account '${renameTo}' to rename to`;
    t.error(new ConnectorError('permanent', 'conflict', `${settings.path} already has ${what} (line ${clash})`).toJSON());
    if (request.op !== 'Modify') t.account('failed');
    return t.result(request.op === 'Create' ? null : target);
  }
  if (!found && request.op !== 'Create') {
    if (request.op === 'Delete') {
      t.account('unchanged');
      return t.result(target);
    }
    t.error(new ConnectorError('permanent', 'not_found', `${settings.path} has no account '${target}' in column '${settings.keyColumn}'`).toJSON());
    if (request.op !== 'Modify') t.account('failed');
    return t.result(target);
  }
  if (request.op === 'Create' || request.op === 'Delete') t.account('committed');
  else if (want !== undefined) t.account(stateChanged ? 'committed' : 'unchanged');
  if (request.op === 'Delete') {
    request.attributeRequests.forEach((_, i) => t.attribute(i, 'unchanged', 'ignored: a CSV row has no delete options'));
  } else {
    for (const p of plan?.requests ?? []) t.attribute(p.index, changed && p.changed ? 'committed' : 'unchanged');
  }
  return t.result(newKey);
}
