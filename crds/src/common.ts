import { Type, type Static } from '@sinclair/typebox';
import { StringEnum, StringMap } from './schema-kit.js';

export const GROUP = 'scopegate.io';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;

export const Condition = Type.Object(
  {
    type: Type.String({ description: 'Condition type, e.g. Ready or KeysFetched.', maxLength: 316 }),
    status: StringEnum(['True', 'False', 'Unknown'], { description: 'True, False or Unknown.' }),
    reason: Type.String({
      description: 'One CamelCase word saying why the condition has this status.',
      maxLength: 1024,
    }),
    message: Type.String({
      description: 'What happened and what to do about it, for people.',
      maxLength: 32768,
    }),
    observedGeneration: Type.Optional(
      Type.Integer({ description: 'The .metadata.generation this condition was computed from.', minimum: 0 }),
    ),
    lastTransitionTime: Type.String({
      description: 'When the status last changed.',
      format: 'date-time',
    }),
  },
  { description: 'The state of one aspect of the resource, following Kubernetes API conventions.' },
);
export type Condition = Static<typeof Condition>;

export const Conditions = Type.Array(Condition, {
  description: 'Current state, as Kubernetes conditions (Ready and, for servers, KeysFetched).',
  maxItems: 8,
  'x-kubernetes-list-type': 'map',
  'x-kubernetes-list-map-keys': ['type'],
});

export const LABEL_VALUE_PATTERN = '^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$';

export const WorkloadSelector = Type.Object(
  {
    matchLabels: StringMap(Type.String({ maxLength: 63, pattern: LABEL_VALUE_PATTERN }), {
      description:
        'Pods of this namespace whose labels include every key/value here. Empty or absent selects every pod.',
      maxProperties: 32,
    }),
  },
  {
    description:
      'Narrows which pods of this namespace the resource applies to. Without it, it applies to every protected pod in the namespace; it never applies outside the namespace.',
  },
);
export type WorkloadSelector = Static<typeof WorkloadSelector>;

/** The part of object metadata scopegate reads; the API server validates the rest. */
export interface ObjectMeta {
  name: string;
  namespace?: string;
  generation?: number;
  uid?: string;
  resourceVersion?: string;
  creationTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
