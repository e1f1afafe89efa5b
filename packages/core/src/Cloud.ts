/**
 * The Microsoft Graph clouds, as data: for each, where Graph answers, where its tokens are issued
 * (the login host, or authority) and the scope a client credentials token for that Graph asks for.
 * `GraphClient` reads the Graph endpoint here and `TokenProvider` the authority and the scope, so
 * that a client and its tokens never belong to two different clouds.
 *
 * The values are those of Microsoft's "National cloud deployments" page for Graph: the US
 * Government L4 (GCC High) and L5 (DoD) Graph endpoints share one login host. A `.default` scope
 * names the Graph endpoint of the cloud it is used in.
 *
 * Also here: which other endpoints may be spoken to over plain `http` (`isLoopback`, `isSecure`).
 *
 * @since 0.1.0
 */
import { Config, Option } from "effect"

/**
 * @since 0.1.0
 * @category models
 */
export interface Endpoints {
  /** The Graph service root, without a version. */
  readonly graph: string
  /** The Microsoft Entra ID (login) host that issues tokens for this Graph. */
  readonly authority: string
  /** The `.default` scope of a client credentials token for this Graph. */
  readonly scope: string
}

/**
 * Every cloud's endpoints.
 *
 * @since 0.1.0
 * @category constants
 */
export const clouds = {
  global: {
    graph: "https://graph.microsoft.com",
    authority: "https://login.microsoftonline.com",
    scope: "https://graph.microsoft.com/.default"
  },
  usGov: {
    graph: "https://graph.microsoft.us",
    authority: "https://login.microsoftonline.us",
    scope: "https://graph.microsoft.us/.default"
  },
  usGovDod: {
    graph: "https://dod-graph.microsoft.us",
    authority: "https://login.microsoftonline.us",
    scope: "https://dod-graph.microsoft.us/.default"
  },
  china: {
    graph: "https://microsoftgraph.chinacloudapi.cn",
    authority: "https://login.chinacloudapi.cn",
    scope: "https://microsoftgraph.chinacloudapi.cn/.default"
  }
} as const satisfies Record<string, Endpoints>

/**
 * @since 0.1.0
 * @category models
 */
export type Cloud = keyof typeof clouds

/**
 * The clouds' names, `global` first.
 *
 * @since 0.1.0
 * @category constants
 */
export const names: ReadonlyArray<Cloud> = ["global", "usGov", "usGovDod", "china"]

/**
 * A cloud's name read from configuration (`MSGRAPH_CLOUD` by default); any other value is a
 * `ConfigError`.
 *
 * @since 0.1.0
 * @category config
 */
export const config = (name = "MSGRAPH_CLOUD"): Config.Config<Cloud> => Config.literal(...names)(name)

/**
 * The cloud whose Graph endpoint has this URL's origin (scheme, host and port), if any.
 *
 * @since 0.1.0
 * @category utils
 */
export const fromGraphUrl = (url: URL): Option.Option<Cloud> =>
  Option.fromNullable(names.find((cloud) => new URL(clouds[cloud].graph).origin === url.origin))

/**
 * Whether the URL names this machine: `localhost`, `127.x.x.x` or `::1`.
 *
 * @since 0.1.0
 * @category utils
 */
export const isLoopback = (url: URL): boolean => {
  const host = url.hostname.replace(/^\[|\]$/g, "").toLowerCase()
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host)
}

/**
 * Whether credentials or tokens may be sent to this URL: `https`, or plain `http` on a loopback
 * address only.
 *
 * @since 0.1.0
 * @category utils
 */
export const isSecure = (url: URL): boolean => url.protocol === "https:" || (url.protocol === "http:" && isLoopback(url))
