// Extra flags for every dpready controller the benchmark starts (`--controller-args`), to
// compare settings such as --workers or --pending-grace in otherwise identical runs.
let extra: string[] = [];

export function setControllerArgs(args: string | undefined): void {
  extra = args ? args.split(/\s+/).filter(Boolean) : [];
}

export function controllerArgs(namespace: string): string[] {
  // Results beside the pods: the benchmark writes its synthetic results there and watches them there.
  return [`--namespace=${namespace}`, `--results-namespace=${namespace}`, '--log-level=warn', ...extra];
}
