// config/validation: which validator checks which kind.
import type { ConfigObject } from '../types.ts';
import type { Issues } from './context.ts';

export type KindValidator = (obj: ConfigObject, issues: Issues) => void;

export const KIND_VALIDATORS: Record<string, KindValidator> = {};
