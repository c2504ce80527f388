/**
 * Small builders on top of TypeBox that only produce *structural* OpenAPI v3 schemas (what a CRD
 * accepts) and attach CEL rules together with their TypeScript twin, so the API server (CEL) and the
 * standalone sidecar (TypeScript) enforce the same rule from one declaration.
 */
import { Type, type TSchema, type SchemaOptions, type TUnsafe } from '@sinclair/typebox';

/** Symbol key under which a schema node keeps the TypeScript twins of its CEL rules. */
export const RULE_CHECKS = Symbol.for('scopegate.ruleChecks');

export interface Rule<T = unknown> {
  /** CEL expression evaluated by the API server with `self` bound to the node. */
  rule: string;
  /** The sentence a person reads when the rule fails. */
  message: string;
  /** Field the message points at (CEL `fieldPath`), relative to the node, e.g. `.jwks.uri`. */
  fieldPath?: string;
  /** Same predicate in TypeScript, for validation without an API server. */
  check: (self: T) => boolean;
}

/** Attaches CEL rules (and their TypeScript twins) to a schema node. */
export function withRules<S extends TSchema>(schema: S, rules: Rule<S['static']>[]): S {
  const entries = rules.map(({ rule, message, fieldPath }) =>
    fieldPath === undefined ? { rule, message } : { rule, message, fieldPath },
  );
  const existing = (schema['x-kubernetes-validations'] as unknown[] | undefined) ?? [];
  Object.assign(schema, { 'x-kubernetes-validations': [...existing, ...entries] });
  const checks = ((schema as Record<symbol, unknown>)[RULE_CHECKS] as Rule[] | undefined) ?? [];
  // An enumerable symbol: TypeBox's wrappers (Optional, …) copy it by spread; JSON and YAML never see it.
  (schema as unknown as Record<symbol, unknown>)[RULE_CHECKS] = [...checks, ...(rules as Rule[])];
  return schema;
}

export function ruleChecksOf(schema: TSchema): Rule[] {
  return ((schema as unknown as Record<symbol, unknown>)[RULE_CHECKS] as Rule[] | undefined) ?? [];
}

/** A string restricted to a fixed set of values (a structural `enum`, not TypeBox's anyOf of consts). */
export function StringEnum<const V extends readonly string[]>(
  values: V,
  options: SchemaOptions = {},
): TUnsafe<V[number]> {
  return Type.Unsafe<V[number]>({ ...options, type: 'string', enum: [...values] });
}

/** A string-keyed map (`additionalProperties`), which is how CRDs express maps. */
export function StringMap<V extends TSchema>(
  value: V,
  options: SchemaOptions = {},
): TUnsafe<Record<string, V['static']>> {
  return Type.Unsafe<Record<string, V['static']>>({
    ...options,
    type: 'object',
    additionalProperties: value,
  });
}
