// A small JSON Schema checker for the subset docs/asyncapi.json and docs/openapi.json use
// (type, const, enum, properties, required, additionalProperties, items, prefixItems,
// anyOf/oneOf/allOf, $ref into $defs or #/components/schemas, string/number/array limits).
// Written for this outside client only: it answers a list of problems, empty when the value fits.

const TYPES = {
  object: (v) => v !== null && typeof v === "object" && !Array.isArray(v),
  array: (v) => Array.isArray(v),
  string: (v) => typeof v === "string",
  integer: (v) => Number.isInteger(v),
  number: (v) => typeof v === "number" && Number.isFinite(v),
  boolean: (v) => typeof v === "boolean",
  null: (v) => v === null,
};

function resolve(ref, defs, document) {
  if (ref.startsWith("#/$defs/")) {
    const name = ref.slice("#/$defs/".length);
    if (!(name in defs)) throw new Error(`unresolved ${ref}`);
    return defs[name];
  }
  if (ref.startsWith("#/")) {
    let node = document;
    for (const part of ref.slice(2).split("/")) node = node?.[part];
    if (node === undefined) throw new Error(`unresolved ${ref}`);
    return node;
  }
  throw new Error(`unsupported $ref ${ref}`);
}

/** Problems of ``value`` against ``schema``: a list of "path: what" strings (empty = fits). */
export function check(schema, value, { document = {}, path = "$", defs = {} } = {}) {
  const problems = [];
  walk(schema, value, path, { ...defs }, document, problems);
  return problems;
}

function walk(schema, value, path, defs, document, problems) {
  if (schema === true || schema === undefined) return;
  if (schema === false) {
    problems.push(`${path}: no value allowed`);
    return;
  }
  if (schema.$defs) defs = { ...defs, ...schema.$defs };
  if (schema.$ref) {
    walk(resolve(schema.$ref, defs, document), value, path, defs, document, problems);
    return;
  }
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives) {
    const fits = alternatives.some((alt) => {
      const sub = [];
      walk(alt, value, path, defs, document, sub);
      return sub.length === 0;
    });
    if (!fits) problems.push(`${path}: fits none of ${alternatives.length} alternatives (${short(value)})`);
  }
  for (const part of schema.allOf ?? []) walk(part, value, path, defs, document, problems);
  if ("const" in schema && value !== schema.const) {
    problems.push(`${path}: ${short(value)} is not the constant ${JSON.stringify(schema.const)}`);
  }
  if (schema.enum && !schema.enum.includes(value)) {
    problems.push(`${path}: ${short(value)} is not one of ${JSON.stringify(schema.enum)}`);
  }
  if (schema.type) {
    const types = Array.isArray(schema.type) ? schema.type : [schema.type];
    if (!types.some((t) => TYPES[t]?.(value))) {
      problems.push(`${path}: ${short(value)} is not ${types.join("|")}`);
      return;
    }
  }
  if (typeof value === "string") {
    if (schema.minLength !== undefined && [...value].length < schema.minLength) problems.push(`${path}: shorter than ${schema.minLength}`);
    if (schema.maxLength !== undefined && [...value].length > schema.maxLength) problems.push(`${path}: longer than ${schema.maxLength}`);
    if (schema.pattern && !new RegExp(schema.pattern, "u").test(value)) problems.push(`${path}: ${short(value)} breaks ${schema.pattern}`);
  }
  if (typeof value === "number") {
    if (schema.minimum !== undefined && value < schema.minimum) problems.push(`${path}: ${value} < ${schema.minimum}`);
    if (schema.maximum !== undefined && value > schema.maximum) problems.push(`${path}: ${value} > ${schema.maximum}`);
    if (schema.exclusiveMaximum !== undefined && value >= schema.exclusiveMaximum) problems.push(`${path}: ${value} >= ${schema.exclusiveMaximum}`);
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) problems.push(`${path}: fewer than ${schema.minItems} items`);
    if (schema.maxItems !== undefined && value.length > schema.maxItems) problems.push(`${path}: more than ${schema.maxItems} items`);
    const prefix = schema.prefixItems ?? [];
    value.forEach((item, i) => {
      const itemSchema = i < prefix.length ? prefix[i] : schema.items;
      walk(itemSchema, item, `${path}[${i}]`, defs, document, problems);
    });
  }
  if (TYPES.object(value) && (schema.properties || schema.required || schema.additionalProperties !== undefined)) {
    const properties = schema.properties ?? {};
    for (const name of schema.required ?? []) {
      if (!(name in value)) problems.push(`${path}: missing required '${name}'`);
    }
    for (const [name, item] of Object.entries(value)) {
      if (name in properties) walk(properties[name], item, `${path}.${name}`, defs, document, problems);
      else if (schema.additionalProperties === false) problems.push(`${path}: undeclared field '${name}'`);
      else if (typeof schema.additionalProperties === "object") walk(schema.additionalProperties, item, `${path}.${name}`, defs, document, problems);
    }
  }
}

function short(value) {
  const text = JSON.stringify(value);
  return text === undefined ? String(value) : text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
