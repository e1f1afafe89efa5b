/**
 * Every limit of Microsoft Graph's service-specific throttling page, as data.
 *
 * - The catalogue ({@link defaultCatalog}) is a Schema-typed value. Each {@link LimitEntry} has a
 *   service, a request matcher (methods and URL path patterns), conditions, a limit with its scope,
 *   measure, quantity and window, whether a 429 from it carries `Retry-After`, and the seed row it
 *   encodes.
 * - {@link classify} is pure. It turns one request into the services it touches and the
 *   {@link Bucket.Demand}s it places on each bucket. The identity and access resource units come
 *   from the cost table (see `CostCalculator`).
 * - The {@link LimitCatalog} service provides the catalogue in use: the default one, or one with
 *   per-entry overrides, a version string and context defaults read from `Config`.
 *
 * @since 0.1.0
 */
import { Config, ConfigError, Context, Effect, Either, Layer, Option, Schema } from "effect"
import type * as Bucket from "./Bucket.js"
import * as classifier from "./internal/catalog/classify.js"
import * as doc from "./internal/catalog/doc.js"
import * as ops from "./internal/catalog/ops.js"
import * as schema from "./internal/catalog/schema.js"

// ---------------------------------------------------------------------------------------------
// models
// ---------------------------------------------------------------------------------------------

/**
 * The services of the throttling page, one per section (`global` for the global limit).
 *
 * @since 0.1.0
 * @category models
 */
export const ServiceId = schema.ServiceId
/**
 * @since 0.1.0
 * @category models
 */
export type ServiceId = schema.ServiceId

/**
 * @since 0.1.0
 * @category models
 */
export const Method = schema.Method
/**
 * @since 0.1.0
 * @category models
 */
export type Method = schema.Method

/**
 * Tenant size of the identity and access quota: S under 50 users, M 50 to 500, L above 500.
 *
 * @since 0.1.0
 * @category models
 */
export const TenantSize = schema.TenantSize
/**
 * @since 0.1.0
 * @category models
 */
export type TenantSize = schema.TenantSize

/**
 * The authentication context a condition can require: `delegated` or `appOnly`.
 *
 * @since 0.1.0
 * @category models
 */
export const Auth = schema.Auth
/**
 * @since 0.1.0
 * @category models
 */
export type Auth = schema.Auth

/**
 * The `signInAudience` values the `applications` special case depends on.
 *
 * @since 0.1.0
 * @category models
 */
export const SignInAudience = schema.SignInAudience
/**
 * @since 0.1.0
 * @category models
 */
export type SignInAudience = schema.SignInAudience

/**
 * What a limit counts: requests, write requests, resource units, bytes uploaded, concurrent
 * requests or meetings.
 *
 * @since 0.1.0
 * @category models
 */
export const Measure = schema.Measure
/**
 * @since 0.1.0
 * @category models
 */
export type Measure = schema.Measure

/**
 * How a request's cost is computed: 1, the identity resource units, the identity write cost, or the
 * body size.
 *
 * @since 0.1.0
 * @category models
 */
export const CostBasis = schema.CostBasis
/**
 * @since 0.1.0
 * @category models
 */
export type CostBasis = schema.CostBasis

/**
 * The family of services whose limits behave alike on the wire (`Bucket.Family`): `global`,
 * `identityAndAccess`, `files`, `outlook` or `other`.
 *
 * @since 0.1.0
 * @category models
 */
export const Family = schema.Family
/**
 * @since 0.1.0
 * @category models
 */
export type Family = schema.Family

/**
 * A part of a bucket key. `app` and `tenant` come from the context. `actor` is the signed-in user,
 * or the app in app-only context. `user` is the user in the path, else the actor. `resource` is read
 * from the request body. Any other part is a capture of the path pattern.
 *
 * @since 0.1.0
 * @category models
 */
export const KeyPart = schema.KeyPart
/**
 * @since 0.1.0
 * @category models
 */
export type KeyPart = schema.KeyPart

/**
 * @since 0.1.0
 * @category models
 */
export const WindowUnit = schema.WindowUnit
/**
 * @since 0.1.0
 * @category models
 */
export type WindowUnit = schema.WindowUnit

/**
 * A window such as "10 seconds" or "one day" (`month` is kept as 31 days).
 *
 * @since 0.1.0
 * @category models
 */
export const Window = schema.Window
/**
 * @since 0.1.0
 * @category models
 */
export type Window = schema.Window

/**
 * A condition on the query string (`$skiptoken` present, `$format=application/json`, ...).
 *
 * @since 0.1.0
 * @category models
 */
export const QueryCondition = schema.QueryCondition
/**
 * @since 0.1.0
 * @category models
 */
export type QueryCondition = schema.QueryCondition

/**
 * Which requests an entry applies to: methods (empty means any), path patterns, excluded path
 * patterns and query conditions.
 *
 * @since 0.1.0
 * @category models
 */
export const RequestMatcher = schema.RequestMatcher
/**
 * @since 0.1.0
 * @category models
 */
export type RequestMatcher = schema.RequestMatcher

/**
 * Context an entry requires: a tenant size, delegated or app-only context, or a signInAudience.
 *
 * @since 0.1.0
 * @category models
 */
export const Conditions = schema.Conditions
/**
 * @since 0.1.0
 * @category models
 */
export type Conditions = schema.Conditions

/**
 * A quantity per sliding window.
 *
 * @since 0.1.0
 * @category models
 */
export const Rate = schema.Rate
/**
 * @since 0.1.0
 * @category models
 */
export type Rate = schema.Rate

/**
 * A token bucket of `quantity` refilled over `window` (the identity and access quotas).
 *
 * @since 0.1.0
 * @category models
 */
export const TokenBucket = schema.TokenBucket
/**
 * @since 0.1.0
 * @category models
 */
export type TokenBucket = schema.TokenBucket

/**
 * At most `permits` requests in flight.
 *
 * @since 0.1.0
 * @category models
 */
export const Concurrent = schema.Concurrent
/**
 * @since 0.1.0
 * @category models
 */
export type Concurrent = schema.Concurrent

/**
 * A section that publishes no figures (Files and lists, Planner).
 *
 * @since 0.1.0
 * @category models
 */
export const Unpublished = schema.Unpublished
/**
 * @since 0.1.0
 * @category models
 */
export type Unpublished = schema.Unpublished

/**
 * @since 0.1.0
 * @category models
 */
export const EntryLimit = schema.EntryLimit
/**
 * @since 0.1.0
 * @category models
 */
export type EntryLimit = schema.EntryLimit

/**
 * One documented limit. `group` names the seed table it comes from. A `fallback` entry applies only
 * when no other entry of its group matched ("Other API calls"). Entries with the same `bucket` share
 * one counter. `notModelled` (a reason) marks an entry that no bucket enforces.
 *
 * @since 0.1.0
 * @category models
 */
export const LimitEntry = schema.LimitEntry
/**
 * @since 0.1.0
 * @category models
 */
export type LimitEntry = schema.LimitEntry

/**
 * A statement of a section that no bucket enforces, with the reason.
 *
 * @since 0.1.0
 * @category models
 */
export const Unenforced = schema.Unenforced
/**
 * @since 0.1.0
 * @category models
 */
export type Unenforced = schema.Unenforced

/**
 * A section of the page: its heading, the URL paths attributed to it, the resource types it lists,
 * the statements no bucket enforces, and what the client must know about the service's limits: its
 * {@link Family} and whether it runs a parallel batch's items within a concurrency cap
 * (`batchWithinCap`, Outlook). Every demand of the service's entries carries both.
 *
 * @since 0.1.0
 * @category models
 */
export const ServiceInfo = schema.ServiceInfo
/**
 * @since 0.1.0
 * @category models
 */
export type ServiceInfo = schema.ServiceInfo

/**
 * @since 0.1.0
 * @category models
 */
export const IdentityCostRow = schema.IdentityCostRow
/**
 * @since 0.1.0
 * @category models
 */
export type IdentityCostRow = schema.IdentityCostRow

/**
 * The identity and access cost table and its modifiers, as data.
 *
 * @since 0.1.0
 * @category models
 */
export const IdentityCostRules = schema.IdentityCostRules
/**
 * @since 0.1.0
 * @category models
 */
export type IdentityCostRules = schema.IdentityCostRules

/**
 * @since 0.1.0
 * @category models
 */
export const TenantSizeThresholds = schema.TenantSizeThresholds
/**
 * @since 0.1.0
 * @category models
 */
export type TenantSizeThresholds = schema.TenantSizeThresholds

/**
 * A whole catalogue: version, services, entries, identity cost table, tenant-size thresholds.
 *
 * @since 0.1.0
 * @category models
 */
export const Catalog = schema.Catalog
/**
 * @since 0.1.0
 * @category models
 */
export type Catalog = schema.Catalog

/**
 * Who is calling: tenant, app, the acting user (object id and/or UPN, when known), delegated or
 * app-only, tenant size (default S, the strictest) and whether the tenant is B2C. Optionally the
 * signInAudience of the applications being written.
 *
 * @since 0.1.0
 * @category models
 */
export const ClassifyContext = schema.ClassifyContext
/**
 * @since 0.1.0
 * @category models
 */
export type ClassifyContext = schema.ClassifyContext

/**
 * One request as it appears in a batch item: a method and a relative URL (with or without a leading
 * slash, with or without a version prefix, possibly with a query string), and optionally the body's
 * size in bytes and the body itself (read only for information protection resources).
 *
 * @since 0.1.0
 * @category models
 */
export interface ClassifyRequest {
  readonly method: string
  readonly url: string
  readonly bodyBytes?: number | undefined
  readonly body?: unknown
}

/**
 * @since 0.1.0
 * @category models
 */
export const Adjustment = schema.Adjustment
/**
 * @since 0.1.0
 * @category models
 */
export type Adjustment = schema.Adjustment

/**
 * The resource units and write cost of an identity and access request, with the table row and the
 * modifiers that produced them.
 *
 * @since 0.1.0
 * @category models
 */
export const IdentityCost = schema.IdentityCost
/**
 * @since 0.1.0
 * @category models
 */
export type IdentityCost = schema.IdentityCost

/**
 * @since 0.1.0
 * @category models
 */
export const SkipReason = schema.SkipReason
/**
 * @since 0.1.0
 * @category models
 */
export type SkipReason = schema.SkipReason

/**
 * An entry that matched but places no demand: no published figure, not modelled, a key the request
 * does not reveal, or zero cost.
 *
 * @since 0.1.0
 * @category models
 */
export const Skipped = schema.Skipped
/**
 * @since 0.1.0
 * @category models
 */
export type Skipped = schema.Skipped

/**
 * The result of {@link classify}: the normalised method and path, the services the request touches
 * (including services without figures), the matched entry ids, one demand per bucket, the matched
 * entries that place no demand, and the identity cost when the request is an identity request.
 *
 * @since 0.1.0
 * @category models
 */
export const Classification = schema.Classification
/**
 * @since 0.1.0
 * @category models
 */
export type Classification = schema.Classification

/**
 * A per-entry override: a new quantity (requests, units, bytes or permits) and, for rate and
 * token-bucket entries, optionally a new window.
 *
 * @since 0.1.0
 * @category models
 */
export const LimitOverride = ops.LimitOverride
/**
 * @since 0.1.0
 * @category models
 */
export type LimitOverride = ops.LimitOverride

// ---------------------------------------------------------------------------------------------
// errors
// ---------------------------------------------------------------------------------------------

/**
 * An override that cannot be applied. The `reason` is one of: `syntax`, `unknownEntry`,
 * `unpublishedLimit`, `concurrencyWindow` (a window given for a concurrency limit) or `notInteger`
 * (a fractional number of permits).
 *
 * @since 0.1.0
 * @category errors
 */
export const InvalidOverride = ops.InvalidOverride
/**
 * @since 0.1.0
 * @category errors
 */
export type InvalidOverride = ops.InvalidOverride

/**
 * A catalogue that fails its consistency checks, with the problems found.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidCatalog extends Schema.TaggedError<InvalidCatalog>()("InvalidCatalog", {
  problems: Schema.Array(Schema.String)
}) {}

// ---------------------------------------------------------------------------------------------
// service
// ---------------------------------------------------------------------------------------------

/**
 * @since 0.1.0
 * @category models
 */
export interface LimitCatalogService {
  /** The catalogue in use, overrides applied. */
  readonly catalog: Catalog
  /** Context defaults for {@link LimitCatalogService.context}. */
  readonly settings: LimitCatalog.Settings
  /** A classification context with the configured defaults filled in. */
  readonly context: (identity: LimitCatalog.Identity) => ClassifyContext
  /** {@link classify} against the catalogue in use. */
  readonly classify: (request: ClassifyRequest, context: ClassifyContext) => Classification
  /** The entry with this id. */
  readonly entry: (id: string) => Option.Option<LimitEntry>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class LimitCatalog extends Context.Tag("@effect-msgraph/spec/LimitCatalog")<
  LimitCatalog,
  LimitCatalogService
>() {}

/**
 * @since 0.1.0
 * @category models
 */
export declare namespace LimitCatalog {
  /**
   * @since 0.1.0
   * @category models
   */
  export interface Settings {
    readonly tenantSize: TenantSize
    readonly delegated: boolean
    readonly b2c: boolean
    readonly signInAudience: SignInAudience | undefined
  }

  /**
   * @since 0.1.0
   * @category models
   */
  export interface Identity {
    readonly tenantId: string
    readonly appId: string
    readonly userId?: string | undefined
    readonly userPrincipalName?: string | undefined
  }

  /**
   * @since 0.1.0
   * @category models
   */
  export interface Options {
    /** The base catalogue (default {@link defaultCatalog}). */
    readonly catalog?: Catalog
    /** Per-entry overrides: any limit can be lowered or raised. */
    readonly overrides?: ReadonlyArray<LimitOverride>
    /** The version string of the resulting catalogue (default: the base version, marked when overridden). */
    readonly version?: string
    /** Default S, the strictest. */
    readonly tenantSize?: TenantSize
    /** Default true. */
    readonly delegated?: boolean
    /** Default false. */
    readonly b2c?: boolean
    readonly signInAudience?: SignInAudience
  }
}

// ---------------------------------------------------------------------------------------------
// data and pure functions
// ---------------------------------------------------------------------------------------------

/**
 * The version string of the built-in catalogue.
 *
 * @since 0.1.0
 * @category constants
 */
export const builtinVersion: string = ops.builtinVersion

/**
 * The built-in catalogue: the seed page of 06/19/2024.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultCatalog: Catalog = ops.defaultCatalog

/**
 * The built-in entries.
 *
 * @since 0.1.0
 * @category constants
 */
export const entries: ReadonlyArray<LimitEntry> = ops.defaultCatalog.entries

/**
 * The built-in services.
 *
 * @since 0.1.0
 * @category constants
 */
export const services: ReadonlyArray<ServiceInfo> = ops.defaultCatalog.services

/**
 * Classifies one request: the services it touches and the demand it places on every bucket. Pure
 * and total. An unusual URL matches fewer entries; it never throws. Matching is planned once per
 * method and path shape (ids collapse, names the catalogue knows do not) and remembered in bounded
 * caches, with the same results as matching afresh.
 *
 * @example
 * ```ts
 * import { LimitCatalog } from "@effect-msgraph/core"
 *
 * const context = new LimitCatalog.ClassifyContext({ tenantId: "t", appId: "a", delegated: false })
 * const result = LimitCatalog.classify(LimitCatalog.defaultCatalog, { method: "GET", url: "/users/alice@contoso.com/messages" }, context)
 * // result.demands: the global bucket and the mailbox's request and concurrency buckets
 * ```
 *
 * @since 0.1.0
 * @category classification
 */
export const classify: (catalog: Catalog, request: ClassifyRequest, context: ClassifyContext) => Classification =
  classifier.classify

/**
 * The length of a window in milliseconds (a month is 31 days).
 *
 * @since 0.1.0
 * @category utils
 */
export const windowMillis: (window: Window) => number = classifier.windowMillis

/**
 * The tenant size for a number of users, from the catalogue's thresholds.
 *
 * @since 0.1.0
 * @category utils
 */
export const tenantSizeFromUsers = (users: number, catalog: Catalog = defaultCatalog): TenantSize =>
  ops.tenantSizeOf(catalog, users)

/**
 * Consistency problems of a catalogue; empty when sound.
 *
 * @since 0.1.0
 * @category validation
 */
export const validate: (catalog: Catalog) => ReadonlyArray<string> = ops.validateCatalog

/**
 * Applies per-entry overrides, giving the result the version string `version`.
 *
 * @since 0.1.0
 * @category combinators
 */
export const applyOverrides: (
  catalog: Catalog,
  overrides: ReadonlyArray<LimitOverride>,
  version: string
) => Either.Either<Catalog, InvalidOverride> = ops.applyOverrides

/**
 * Parses overrides written as `entryId=quantity[/window]` (window units `s`, `m`, `h`, `d`, `mo`),
 * separated by commas, semicolons or spaces: `outlook.mailbox.requests=5000/10m, global.app=100000`.
 *
 * @since 0.1.0
 * @category combinators
 */
export const parseOverrides: (text: string) => Either.Either<ReadonlyArray<LimitOverride>, InvalidOverride> =
  ops.parseOverrides

/**
 * The `docs/limits.md` page for a catalogue.
 *
 * @since 0.1.0
 * @category rendering
 */
export const renderMarkdown: (catalog: Catalog) => string = doc.renderMarkdown

// ---------------------------------------------------------------------------------------------
// constructors and layers
// ---------------------------------------------------------------------------------------------

/**
 * Builds the service: validates the base catalogue, applies the overrides and fixes the context
 * defaults.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: LimitCatalog.Options = {}
): Effect.Effect<LimitCatalogService, InvalidOverride | InvalidCatalog> =>
  Effect.gen(function*() {
    const base = options.catalog ?? defaultCatalog
    if (base !== defaultCatalog) {
      const problems = ops.validateCatalog(base)
      if (problems.length > 0) return yield* new InvalidCatalog({ problems })
    }
    const overrides = options.overrides ?? []
    const version = options.version ?? (overrides.length > 0 ? `${base.version}+overrides` : base.version)
    const catalog = yield* ops.applyOverrides(base, overrides, version)
    const settings: LimitCatalog.Settings = {
      tenantSize: options.tenantSize ?? "S",
      delegated: options.delegated ?? true,
      b2c: options.b2c ?? false,
      signInAudience: options.signInAudience
    }
    const byId = new Map(catalog.entries.map((entry) => [entry.id, entry]))
    return LimitCatalog.of({
      catalog,
      settings,
      context: (identity) =>
        new ClassifyContext({
          tenantId: identity.tenantId,
          appId: identity.appId,
          ...(identity.userId !== undefined ? { userId: identity.userId } : {}),
          ...(identity.userPrincipalName !== undefined ? { userPrincipalName: identity.userPrincipalName } : {}),
          delegated: settings.delegated,
          tenantSize: settings.tenantSize,
          b2c: settings.b2c,
          ...(settings.signInAudience !== undefined ? { signInAudience: settings.signInAudience } : {})
        }),
      classify: (request, context) => classifier.classify(catalog, request, context),
      entry: (id) => Option.fromNullable(byId.get(id))
    })
  })

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = (options?: LimitCatalog.Options): Layer.Layer<LimitCatalog, InvalidOverride | InvalidCatalog> =>
  Layer.effect(LimitCatalog, make(options))

/**
 * The default catalogue with the default settings.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerDefault: Layer.Layer<LimitCatalog> = Layer.effect(LimitCatalog, Effect.orDie(make()))

/**
 * The settings {@link layerConfig} reads by default:
 *
 * - `MSGRAPH_TENANT_SIZE`: `S`, `M` or `L` (default `S`);
 * - `MSGRAPH_AUTH`: `delegated` or `appOnly` (default `delegated`);
 * - `MSGRAPH_B2C`: boolean (default false);
 * - `MSGRAPH_SIGN_IN_AUDIENCE`: optional signInAudience;
 * - `MSGRAPH_LIMIT_OVERRIDES`: optional overrides in the {@link parseOverrides} syntax;
 * - `MSGRAPH_CATALOG_VERSION`: optional version string.
 *
 * @since 0.1.0
 * @category config
 */
export const config: Config.Config<LimitCatalog.Options> = Config.map(
  Config.all({
    tenantSize: Config.withDefault(Config.literal("S", "M", "L")("MSGRAPH_TENANT_SIZE"), "S" as const),
    auth: Config.withDefault(Config.literal("delegated", "appOnly")("MSGRAPH_AUTH"), "delegated" as const),
    b2c: Config.withDefault(Config.boolean("MSGRAPH_B2C"), false),
    signInAudience: Config.option(
      Config.literal(
        "AzureADMyOrg",
        "AzureADMultipleOrgs",
        "AzureADandPersonalMicrosoftAccount",
        "PersonalMicrosoftAccount"
      )("MSGRAPH_SIGN_IN_AUDIENCE")
    ),
    overrides: Config.mapOrFail(
      Config.withDefault(Config.string("MSGRAPH_LIMIT_OVERRIDES"), ""),
      (text) =>
        Either.mapLeft(
          ops.parseOverrides(text),
          (error) =>
            ConfigError.InvalidData(
              ["MSGRAPH_LIMIT_OVERRIDES"],
              `cannot read override ${JSON.stringify(error.input)}: expected entryId=quantity[/window]`
            )
        )
    ),
    version: Config.option(Config.string("MSGRAPH_CATALOG_VERSION"))
  }),
  (read): LimitCatalog.Options => ({
    tenantSize: read.tenantSize,
    delegated: read.auth === "delegated",
    b2c: read.b2c,
    overrides: read.overrides,
    ...Option.match(read.signInAudience, { onNone: () => ({}), onSome: (signInAudience) => ({ signInAudience }) }),
    ...Option.match(read.version, { onNone: () => ({}), onSome: (version) => ({ version }) })
  })
)

/**
 * The service built from `Config` (see {@link config}).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  settings: Config.Config<LimitCatalog.Options> = config
): Layer.Layer<LimitCatalog, ConfigError.ConfigError | InvalidOverride | InvalidCatalog> =>
  Layer.effect(LimitCatalog, Effect.flatMap(settings, make))

/**
 * Re-exported so that a `Classification`'s demands can be typed without a second import.
 *
 * @since 0.1.0
 * @category models
 */
export type Demand = Bucket.Demand
