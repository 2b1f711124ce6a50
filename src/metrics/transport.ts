/** The transport's own series for /metrics. */

const ACCEPT_FAILURES = "rialto_accept_failures_total";

/**
 * Connections that failed before they were accepted (reset during the handshake), across
 * every listener; routine under connection churn, so counted rather than logged.
 */
export function renderAcceptFailures(count: number): string {
  return [
    `# HELP ${ACCEPT_FAILURES} Connections that failed before accept (reset by the client first)`,
    `# TYPE ${ACCEPT_FAILURES} counter`,
    `${ACCEPT_FAILURES} ${count}`,
    "",
  ].join("\n");
}
