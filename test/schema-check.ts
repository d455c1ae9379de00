/**
 * A small JSON Schema checker for the subset our shipped schemas use
 * (type, const, enum, properties, required, additionalProperties, items,
 * $ref to #/$defs). Returns the list of violations with their JSON paths.
 */
type Schema = Record<string, unknown>;

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

export function checkSchema(root: Schema, value: unknown): string[] {
  const errors: string[] = [];
  const walk = (s: Schema, v: unknown, at: string): void => {
    if (typeof s.$ref === 'string') {
      const name = s.$ref.replace('#/$defs/', '');
      const def = (root.$defs as Record<string, Schema>)[name];
      if (!def) return void errors.push(`${at}: unknown $ref ${s.$ref}`);
      return walk(def, v, at);
    }
    if ('const' in s && v !== s.const) errors.push(`${at}: ${JSON.stringify(v)} is not ${JSON.stringify(s.const)}`);
    if (Array.isArray(s.enum) && !s.enum.includes(v)) errors.push(`${at}: ${JSON.stringify(v)} not in enum`);
    if (s.type !== undefined) {
      const types = Array.isArray(s.type) ? (s.type as string[]) : [s.type as string];
      const t = typeOf(v);
      if (!types.includes(t) && !(t === 'integer' && types.includes('number'))) errors.push(`${at}: ${t} is not ${types.join('|')}`);
    }
    if (typeOf(v) === 'object') {
      const obj = v as Record<string, unknown>;
      const props = (s.properties ?? {}) as Record<string, Schema>;
      for (const r of (s.required ?? []) as string[]) if (!(r in obj)) errors.push(`${at}: missing ${r}`);
      for (const [k, val] of Object.entries(obj)) {
        if (props[k]) walk(props[k]!, val, `${at}.${k}`);
        else if (s.additionalProperties === false) errors.push(`${at}: unexpected property ${k}`);
        else if (typeof s.additionalProperties === 'object') walk(s.additionalProperties as Schema, val, `${at}.${k}`);
      }
    }
    if (typeOf(v) === 'array' && s.items) (v as unknown[]).forEach((x, i) => walk(s.items as Schema, x, `${at}[${i}]`));
  };
  walk(root, value, '$');
  return errors;
}
