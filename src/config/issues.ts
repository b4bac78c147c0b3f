// config: one way to print a validation issue — "file:doc Kind name path: message [code]" — for every command.
import type { ValidationIssue } from './types.ts';

/** The document index is 0-based, as in the issue; `<input>` when the issue names no file. */
export function formatIssue(i: ValidationIssue): string {
  const where = i.file !== undefined ? `${i.file}${i.document !== undefined ? `:${i.document}` : ''}` : '<input>';
  const what = [i.kind, i.name].filter(Boolean).join(' ');
  return `${where}${what ? ` ${what}` : ''} ${i.path || '(document)'}: ${i.message} [${i.code}]`;
}
