/** Condition types and reasons, in one place: they are API (users alert and script on them). */
export const READY = 'Ready';
export const KEYS_FETCHED = 'KeysFetched';

export const Reason = {
  Ready: 'Ready',
  Disabled: 'Disabled',
  DuplicateIssuer: 'DuplicateIssuer',
  DuplicateRoleName: 'DuplicateRoleName',
  InvalidRoleName: 'InvalidRoleName',
  NoAuthorizationServer: 'NoAuthorizationServer',
  KeysUnavailable: 'KeysUnavailable',
  NoKeyForAlgorithms: 'NoKeyForAlgorithms',
  Fetching: 'Fetching',
  Fetched: 'Fetched',
  InlineKeys: 'InlineKeys',
} as const;
