// Selector matching with apimachinery's semantics: negative operators (`!=`, `notin`, `!`)
// also match objects that lack the key; `>` and `<` compare integers and never match a
// value that is not one.
import type { LabelSelector, Requirement } from './selector.ts';

export type Labels = Readonly<Record<string, string>>;

export function matchesSelector(selector: LabelSelector, labels: Labels): boolean {
  for (const r of selector.requirements) if (!matchesRequirement(r, labels)) return false;
  return true;
}

function matchesRequirement(r: Requirement, labels: Labels): boolean {
  const has = Object.hasOwn(labels, r.key);
  const value = has ? labels[r.key]! : undefined;
  switch (r.operator) {
    case 'exists': return has;
    case '!': return !has;
    case '=': case '==': case 'in': return has && r.values.includes(value!);
    case '!=': case 'notin': return !has || !r.values.includes(value!);
    case '>': case '<': {
      if (!has || !/^[+-]?\d{1,18}$/.test(value!)) return false;
      const n = Number(value);
      const bound = Number(r.values[0]);
      return r.operator === '>' ? n > bound : n < bound;
    }
  }
}
