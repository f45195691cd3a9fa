// Label key and value rules, as k8s.io/apimachinery/pkg/util/validation enforces them, so a
// selector we accept is one the API server accepts too (the controller sends its
// --label-selector to the server after checking it here). Lengths are checked before any
// regular expression runs, so a hostile megabyte-long key costs one comparison.

const NAME_MAX = 63;
const PREFIX_MAX = 253;
// apimachinery's qualifiedNameFmt and labelValueFmt; anchored, no nested quantifiers.
const NAME = /^(?:[A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*$/;

/** Why `key` is not a valid label key, or undefined when it is. */
export function labelKeyProblem(key: string): string | undefined {
  const parts = key.split('/');
  if (parts.length > 2) return 'a key has at most one "/" (prefix/name)';
  const name = parts.length === 2 ? parts[1]! : parts[0]!;
  if (parts.length === 2) {
    const prefix = parts[0]!;
    if (prefix === '') return 'the prefix before "/" must not be empty';
    if (prefix.length > PREFIX_MAX) return `the prefix must be at most ${PREFIX_MAX} characters`;
    if (!DNS1123_SUBDOMAIN.test(prefix)) {
      return 'the prefix must be a DNS subdomain: lower-case alphanumerics, "-" and ".", starting and ending with an alphanumeric';
    }
  }
  if (name === '') return 'the name part must not be empty';
  if (name.length > NAME_MAX) return `the name part must be at most ${NAME_MAX} characters`;
  if (!NAME.test(name)) {
    return 'the name part must consist of alphanumerics, "-", "_" or ".", and start and end with an alphanumeric';
  }
  return undefined;
}

/** Why `value` is not a valid label value, or undefined when it is (the empty value is valid). */
export function labelValueProblem(value: string): string | undefined {
  if (value === '') return undefined;
  if (value.length > NAME_MAX) return `a value must be at most ${NAME_MAX} characters`;
  if (!NAME.test(value)) {
    return 'a value must consist of alphanumerics, "-", "_" or ".", and start and end with an alphanumeric';
  }
  return undefined;
}
