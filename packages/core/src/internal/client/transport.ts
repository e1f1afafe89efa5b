/**
 * Was any byte of a `$batch` request written before its transport failed? Only failures that
 * certainly happened before the request was written count as "not sent": everything else may have
 * reached Graph, and is treated as sent.
 *
 * A failure is not sent when some error on its cause chain (`cause`, and every member of an
 * `AggregateError`, as Node's "happy eyeballs" connect reports one error per address) is:
 * - a failed `connect` system call (connection refused, host or network unreachable, ...);
 * - a failed name lookup (`getaddrinfo`: `ENOTFOUND`, `EAI_AGAIN`, ...);
 * - undici's connect timeout (`UND_ERR_CONNECT_TIMEOUT`);
 * - a rejected server certificate (`DEPTH_ZERO_SELF_SIGNED_CERT`, `CERT_HAS_EXPIRED`,
 *   `ERR_TLS_CERT_ALTNAME_INVALID`, ...): the TLS handshake failed, and no application data is
 *   written before it ends.
 *
 * Both Node HTTP clients of `@effect/platform-node` (undici and `node:http`) write a request only
 * once its connection is established, and `FetchHttpClient` reports undici's error as the cause of
 * its `TypeError`, so these errors reach the client as the cause of a `RequestError` of reason
 * `Transport`. Other TLS errors (`EPROTO`, `ERR_SSL_*`) can also happen after the request was
 * written, so they count as sent.
 *
 * @internal
 */

/** Certificate verification failures, named as OpenSSL's `X509_V_ERR_*` codes are in Node. */
const certificateCodes = new Set([
  "ERR_TLS_CERT_ALTNAME_INVALID",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_CRL",
  "UNABLE_TO_DECRYPT_CERT_SIGNATURE",
  "UNABLE_TO_DECRYPT_CRL_SIGNATURE",
  "UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY",
  "CERT_SIGNATURE_FAILURE",
  "CRL_SIGNATURE_FAILURE",
  "CERT_NOT_YET_VALID",
  "CERT_HAS_EXPIRED",
  "CRL_NOT_YET_VALID",
  "CRL_HAS_EXPIRED",
  "ERROR_IN_CERT_NOT_BEFORE_FIELD",
  "ERROR_IN_CERT_NOT_AFTER_FIELD",
  "ERROR_IN_CRL_LAST_UPDATE_FIELD",
  "ERROR_IN_CRL_NEXT_UPDATE_FIELD",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "CERT_CHAIN_TOO_LONG",
  "CERT_REVOKED",
  "INVALID_CA",
  "PATH_LENGTH_EXCEEDED",
  "INVALID_PURPOSE",
  "CERT_UNTRUSTED",
  "CERT_REJECTED",
  "HOSTNAME_MISMATCH"
])

/** System calls whose failure means no connection was ever made. */
const beforeConnection = new Set(["connect", "getaddrinfo"])

const field = (value: object, name: string): unknown => (value as Record<string, unknown>)[name]

/** The code of the error on the chain that proves nothing was written, if there is one. */
export const notSentCode = (cause: unknown): string | undefined => visit(cause, 0, new Set())

const visit = (cause: unknown, depth: number, seen: Set<unknown>): string | undefined => {
  if (typeof cause !== "object" || cause === null || depth > 16 || seen.has(cause)) return undefined
  seen.add(cause)
  const code = field(cause, "code")
  const syscall = field(cause, "syscall")
  if (typeof syscall === "string" && beforeConnection.has(syscall)) return typeof code === "string" ? code : syscall
  if (code === "UND_ERR_CONNECT_TIMEOUT" || (typeof code === "string" && certificateCodes.has(code))) return code
  const errors = field(cause, "errors")
  if (Array.isArray(errors) && errors.length > 0) {
    // every address was tried and none connected
    const codes = errors.map((e) => visit(e, depth + 1, seen))
    if (codes.every((c) => c !== undefined)) return codes[0]
  }
  return visit(field(cause, "cause"), depth + 1, seen)
}
