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
import * as BatchRequest from "./BatchRequest.js"
import * as Bucket from "./Bucket.js"
import { makeClassifier, windowMillis as internalWindowMillis } from "./internal/catalog/classify.js"
import * as doc from "./internal/catalog/doc.js"
import type { Models } from "./internal/catalog/models.js"
import * as ops from "./internal/catalog/ops.js"

// ---------------------------------------------------------------------------------------------
// models
// ---------------------------------------------------------------------------------------------

const Positive = Schema.Number.pipe(Schema.positive(), Schema.finite())
const PositiveInt = Schema.Number.pipe(Schema.int(), Schema.positive())

const emptyArray = <A>(): ReadonlyArray<A> => []

/**
 * The services of the throttling page, one per section (`global` for the global limit).
 *
 * @since 0.1.0
 * @category models
 */
export const ServiceId = Schema.Literal(
  "global",
  "assignment",
  "bookings",
  "cloudCommunications",
  "callRecords",
  "pstnCallRecords",
  "excel",
  "education",
  "filesAndLists",
  "identityReports",
  "identityAccess",
  "dataPolicy",
  "identityProtection",
  "identityProviders",
  "informationProtection",
  "insights",
  "intune",
  "invitations",
  "reports",
  "teams",
  "multitenantManagement",
  "onenote",
  "extensions",
  "outlook",
  "projectRome",
  "security",
  "eDiscovery",
  "serviceCommunications",
  "subscriptions",
  "planner",
  "vivaEngage"
)
/**
 * @since 0.1.0
 * @category models
 */
export type ServiceId = typeof ServiceId.Type

/**
 * @since 0.1.0
 * @category models
 */
export const Method = BatchRequest.HttpMethod
/**
 * @since 0.1.0
 * @category models
 */
export type Method = typeof Method.Type

/**
 * Tenant size of the identity and access quota: S under 50 users, M 50 to 500, L above 500.
 *
 * @since 0.1.0
 * @category models
 */
export const TenantSize = Schema.Literal("S", "M", "L")
/**
 * @since 0.1.0
 * @category models
 */
export type TenantSize = typeof TenantSize.Type

/**
 * The authentication context a condition can require: `delegated` or `appOnly`.
 *
 * @since 0.1.0
 * @category models
 */
export const Auth = Schema.Literal("delegated", "appOnly")
/**
 * @since 0.1.0
 * @category models
 */
export type Auth = typeof Auth.Type

/**
 * The `signInAudience` values the `applications` special case depends on.
 *
 * @since 0.1.0
 * @category models
 */
export const SignInAudience = Schema.Literal(
  "AzureADMyOrg",
  "AzureADMultipleOrgs",
  "AzureADandPersonalMicrosoftAccount",
  "PersonalMicrosoftAccount"
)
/**
 * @since 0.1.0
 * @category models
 */
export type SignInAudience = typeof SignInAudience.Type

/**
 * What a limit counts: requests, write requests, resource units, bytes uploaded, concurrent
 * requests or meetings.
 *
 * @since 0.1.0
 * @category models
 */
export const Measure = Bucket.Measure
/**
 * @since 0.1.0
 * @category models
 */
export type Measure = typeof Bucket.Measure.Type

/**
 * How a request's cost is computed: 1, the identity resource units, the identity write cost, or the
 * body size.
 *
 * @since 0.1.0
 * @category models
 */
export const CostBasis = Bucket.CostBasis
/**
 * @since 0.1.0
 * @category models
 */
export type CostBasis = typeof Bucket.CostBasis.Type

/**
 * The family of services whose limits behave alike on the wire (`Bucket.Family`): `global`,
 * `identityAndAccess`, `files`, `outlook` or `other`.
 *
 * @since 0.1.0
 * @category models
 */
export const Family = Bucket.Family
/**
 * @since 0.1.0
 * @category models
 */
export type Family = typeof Bucket.Family.Type

/**
 * A part of a bucket key. `app` and `tenant` come from the context. `actor` is the signed-in user,
 * or the app in app-only context. `user` is the user in the path, else the actor. `resource` is read
 * from the request body. Any other part is a capture of the path pattern.
 *
 * @since 0.1.0
 * @category models
 */
export const KeyPart = Schema.Literal(
  "app",
  "tenant",
  "actor",
  "user",
  "mailbox",
  "team",
  "channel",
  "chat",
  "conversation",
  "callRecord",
  "collection",
  "subject",
  "reportApi",
  "resource"
)
/**
 * @since 0.1.0
 * @category models
 */
export type KeyPart = typeof KeyPart.Type

/**
 * @since 0.1.0
 * @category models
 */
export const WindowUnit = Schema.Literal("second", "minute", "hour", "day", "month")
/**
 * @since 0.1.0
 * @category models
 */
export type WindowUnit = typeof WindowUnit.Type

/**
 * A window such as "10 seconds" or "one day" (`month` is kept as 31 days).
 *
 * @since 0.1.0
 * @category models
 */
export class Window extends Schema.Class<Window>("@effect-msgraph/spec/LimitCatalog/Window")({
  amount: PositiveInt,
  unit: WindowUnit
}) {}

/**
 * A condition on the query string (`$skiptoken` present, `$format=application/json`, ...).
 *
 * @since 0.1.0
 * @category models
 */
export const QueryCondition = Schema.Union(
  Schema.TaggedStruct("Has", { param: Schema.String }),
  Schema.TaggedStruct("Lacks", { param: Schema.String }),
  Schema.TaggedStruct("Equals", { param: Schema.String, value: Schema.String }),
  Schema.TaggedStruct("NotEquals", { param: Schema.String, value: Schema.String })
)
/**
 * @since 0.1.0
 * @category models
 */
export type QueryCondition = typeof QueryCondition.Type

/**
 * Which requests an entry applies to: methods (empty means any), path patterns, excluded path
 * patterns and query conditions.
 *
 * @since 0.1.0
 * @category models
 */
export class RequestMatcher extends Schema.Class<RequestMatcher>("@effect-msgraph/spec/LimitCatalog/RequestMatcher")({
  methods: Schema.optionalWith(Schema.Array(Method), { default: emptyArray }),
  paths: Schema.NonEmptyArray(Schema.String),
  except: Schema.optionalWith(Schema.Array(Schema.String), { default: emptyArray }),
  query: Schema.optionalWith(Schema.Array(QueryCondition), { default: emptyArray })
}) {}

/**
 * Context an entry requires: a tenant size, delegated or app-only context, or a signInAudience.
 *
 * @since 0.1.0
 * @category models
 */
export class Conditions extends Schema.Class<Conditions>("@effect-msgraph/spec/LimitCatalog/Conditions")({
  tenantSize: Schema.optional(TenantSize),
  auth: Schema.optional(Auth),
  signInAudience: Schema.optional(Schema.Array(SignInAudience))
}) {}

const quotaFields = {
  scope: Bucket.Scope,
  key: Schema.Array(KeyPart),
  measure: Measure,
  cost: CostBasis,
  quantity: Positive,
  window: Window
}

/**
 * A quantity per sliding window.
 *
 * @since 0.1.0
 * @category models
 */
export class Rate extends Schema.TaggedClass<Rate>()("Rate", quotaFields) {}

/**
 * A token bucket of `quantity` refilled over `window` (the identity and access quotas).
 *
 * @since 0.1.0
 * @category models
 */
export class TokenBucket extends Schema.TaggedClass<TokenBucket>()("TokenBucket", quotaFields) {}

/**
 * At most `permits` requests in flight.
 *
 * @since 0.1.0
 * @category models
 */
export class Concurrent extends Schema.TaggedClass<Concurrent>()("Concurrent", {
  scope: Bucket.Scope,
  key: Schema.Array(KeyPart),
  permits: PositiveInt
}) {}

/**
 * A section that publishes no figures (Files and lists, Planner).
 *
 * @since 0.1.0
 * @category models
 */
export class Unpublished extends Schema.TaggedClass<Unpublished>()("Unpublished", {
  statement: Schema.String
}) {}

/**
 * @since 0.1.0
 * @category models
 */
export const EntryLimit = Schema.Union(Rate, TokenBucket, Concurrent, Unpublished)
/**
 * @since 0.1.0
 * @category models
 */
export type EntryLimit = typeof EntryLimit.Type

/**
 * One documented limit. `group` names the seed table it comes from. A `fallback` entry applies only
 * when no other entry of its group matched ("Other API calls"). Entries with the same `bucket` share
 * one counter. `notModelled` (a reason) marks an entry that no bucket enforces.
 *
 * @since 0.1.0
 * @category models
 */
export class LimitEntry extends Schema.Class<LimitEntry>("@effect-msgraph/spec/LimitCatalog/LimitEntry")({
  id: Schema.String,
  bucket: Schema.optional(Schema.String),
  service: ServiceId,
  group: Schema.String,
  row: Schema.String,
  match: RequestMatcher,
  when: Schema.optionalWith(Conditions, { default: () => new Conditions({}) }),
  fallback: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  limit: EntryLimit,
  retryAfter: Schema.Boolean,
  notModelled: Schema.optional(Schema.String),
  source: Schema.String,
  note: Schema.optional(Schema.String)
}) {}

/**
 * A statement of a section that no bucket enforces, with the reason.
 *
 * @since 0.1.0
 * @category models
 */
export class Unenforced extends Schema.Class<Unenforced>("@effect-msgraph/spec/LimitCatalog/Unenforced")({
  statement: Schema.String,
  reason: Schema.String
}) {}

/**
 * A section of the page: its heading, the URL paths attributed to it, the resource types it lists,
 * the statements no bucket enforces, and what the client must know about the service's limits: its
 * {@link Family} and whether it runs a parallel batch's items within a concurrency cap
 * (`batchWithinCap`, Outlook). Every demand of the service's entries carries both.
 *
 * @since 0.1.0
 * @category models
 */
export class ServiceInfo extends Schema.Class<ServiceInfo>("@effect-msgraph/spec/LimitCatalog/ServiceInfo")({
  id: ServiceId,
  heading: Schema.String,
  area: Schema.NonEmptyArray(Schema.String),
  except: Schema.optionalWith(Schema.Array(Schema.String), { default: emptyArray }),
  resources: Schema.Array(Schema.String),
  pathsNote: Schema.String,
  unenforced: Schema.optionalWith(Schema.Array(Unenforced), { default: emptyArray }),
  family: Schema.optionalWith(Family, { default: () => "other" as const }),
  batchWithinCap: Schema.optionalWith(Schema.Boolean, { default: () => false })
}) {}

/**
 * @since 0.1.0
 * @category models
 */
export class IdentityCostRow extends Schema.Class<IdentityCostRow>("@effect-msgraph/spec/LimitCatalog/IdentityCostRow")({
  method: Method,
  path: Schema.String,
  resourceUnits: PositiveInt,
  writeCost: Schema.Number.pipe(Schema.int(), Schema.nonNegative())
}) {}

/**
 * The identity and access cost table and its modifiers, as data.
 *
 * @since 0.1.0
 * @category models
 */
export class IdentityCostRules extends Schema.Class<IdentityCostRules>(
  "@effect-msgraph/spec/LimitCatalog/IdentityCostRules"
)({
  rows: Schema.Array(IdentityCostRow),
  otherwise: Schema.Array(IdentityCostRow),
  selectDelta: Schema.Number,
  expandDelta: Schema.Number,
  topBelow: Schema.Number,
  topDelta: Schema.Number,
  b2cCreateUserDelta: Schema.Number,
  minimum: Schema.Number,
  selectByIdsPaths: Schema.Array(Schema.String),
  selectByIdsCost: Schema.Number,
  source: Schema.String
}) {}

/**
 * @since 0.1.0
 * @category models
 */
export class TenantSizeThresholds extends Schema.Class<TenantSizeThresholds>(
  "@effect-msgraph/spec/LimitCatalog/TenantSizeThresholds"
)({
  mediumFrom: PositiveInt,
  largeAbove: PositiveInt,
  source: Schema.String
}) {}

/**
 * A whole catalogue: version, services, entries, identity cost table, tenant-size thresholds.
 *
 * @since 0.1.0
 * @category models
 */
export class Catalog extends Schema.Class<Catalog>("@effect-msgraph/spec/LimitCatalog/Catalog")({
  version: Schema.String,
  seed: Schema.String,
  services: Schema.Array(ServiceInfo),
  entries: Schema.Array(LimitEntry),
  identityCosts: IdentityCostRules,
  tenantSizes: TenantSizeThresholds
}) {}

/**
 * Who is calling: tenant, app, the acting user (object id and/or UPN, when known), delegated or
 * app-only, tenant size (default S, the strictest) and whether the tenant is B2C. Optionally the
 * signInAudience of the applications being written.
 *
 * @since 0.1.0
 * @category models
 */
export class ClassifyContext extends Schema.Class<ClassifyContext>("@effect-msgraph/spec/LimitCatalog/ClassifyContext")({
  tenantId: Schema.String,
  appId: Schema.String,
  userId: Schema.optional(Schema.String),
  userPrincipalName: Schema.optional(Schema.String),
  delegated: Schema.Boolean,
  tenantSize: Schema.optionalWith(TenantSize, { default: () => "S" as const }),
  b2c: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  signInAudience: Schema.optional(SignInAudience)
}) {}

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
export const Adjustment = Schema.Literal("select", "expand", "top", "b2cCreateUser", "minimum", "selectByIds")
/**
 * @since 0.1.0
 * @category models
 */
export type Adjustment = typeof Adjustment.Type

/**
 * The resource units and write cost of an identity and access request, with the table row and the
 * modifiers that produced them.
 *
 * @since 0.1.0
 * @category models
 */
export class IdentityCost extends Schema.Class<IdentityCost>("@effect-msgraph/spec/LimitCatalog/IdentityCost")({
  row: Schema.String,
  base: Schema.Number,
  adjustments: Schema.Array(Schema.Struct({ rule: Adjustment, delta: Schema.Number })),
  resourceUnits: Schema.Number,
  writeCost: Schema.Number
}) {}

/**
 * @since 0.1.0
 * @category models
 */
export const SkipReason = Schema.Literal("unpublished", "notModelled", "missingKey", "zeroCost")
/**
 * @since 0.1.0
 * @category models
 */
export type SkipReason = typeof SkipReason.Type

/**
 * An entry that matched but places no demand: no published figure, not modelled, a key the request
 * does not reveal, or zero cost.
 *
 * @since 0.1.0
 * @category models
 */
export class Skipped extends Schema.Class<Skipped>("@effect-msgraph/spec/LimitCatalog/Skipped")({
  entryId: Schema.String,
  reason: SkipReason,
  detail: Schema.String
}) {}

/**
 * The result of {@link classify}: the normalised method and path, the services the request touches
 * (including services without figures), the matched entry ids, one demand per bucket, the matched
 * entries that place no demand, and the identity cost when the request is an identity request.
 *
 * @since 0.1.0
 * @category models
 */
export class Classification extends Schema.Class<Classification>("@effect-msgraph/spec/LimitCatalog/Classification")({
  method: Schema.String,
  path: Schema.String,
  services: Schema.Array(ServiceId),
  entries: Schema.Array(Schema.String),
  demands: Schema.Array(Bucket.Demand),
  skipped: Schema.Array(Skipped),
  identity: Schema.optional(IdentityCost)
}) {}

/**
 * A per-entry override: a new quantity (requests, units, bytes or permits) and, for rate and
 * token-bucket entries, optionally a new window.
 *
 * @since 0.1.0
 * @category models
 */
export class LimitOverride extends Schema.Class<LimitOverride>("@effect-msgraph/spec/LimitCatalog/LimitOverride")({
  entryId: Schema.String,
  quantity: Schema.Number.pipe(Schema.positive(), Schema.finite()),
  window: Schema.optional(Window)
}) {}

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
export class InvalidOverride extends Schema.TaggedError<InvalidOverride>()("InvalidOverride", {
  input: Schema.String,
  reason: Schema.Literal("syntax", "unknownEntry", "unpublishedLimit", "concurrencyWindow", "notInteger")
}) {}

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
 * The classes above that internal code builds instances of: handed to it here, so that no internal
 * module imports this one.
 */
const models: Models = {
  Window,
  Rate,
  TokenBucket,
  Concurrent,
  LimitEntry,
  Catalog,
  LimitOverride,
  InvalidOverride,
  Skipped,
  Classification,
  IdentityCost
}

const classifier = makeClassifier(models)

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
export const defaultCatalog: Catalog = Schema.decodeSync(Catalog)(ops.builtinCatalog)

/**
 * The built-in entries.
 *
 * @since 0.1.0
 * @category constants
 */
export const entries: ReadonlyArray<LimitEntry> = defaultCatalog.entries

/**
 * The built-in services.
 *
 * @since 0.1.0
 * @category constants
 */
export const services: ReadonlyArray<ServiceInfo> = defaultCatalog.services

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
export const windowMillis: (window: Window) => number = internalWindowMillis

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
export const applyOverrides = (
  catalog: Catalog,
  overrides: ReadonlyArray<LimitOverride>,
  version: string
): Either.Either<Catalog, InvalidOverride> => ops.applyOverrides(models, catalog, overrides, version)

/**
 * Parses overrides written as `entryId=quantity[/window]` (window units `s`, `m`, `h`, `d`, `mo`),
 * separated by commas, semicolons or spaces: `outlook.mailbox.requests=5000/10m, global.app=100000`.
 *
 * @since 0.1.0
 * @category combinators
 */
export const parseOverrides = (text: string): Either.Either<ReadonlyArray<LimitOverride>, InvalidOverride> =>
  ops.parseOverrides(models, text)

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
    const catalog = yield* applyOverrides(base, overrides, version)
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
      classify: (request, context) => classify(catalog, request, context),
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
          parseOverrides(text),
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
