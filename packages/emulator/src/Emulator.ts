/**
 * An emulator of Microsoft Graph for tests and local runs: `POST /{v1.0|beta}/$batch` and single
 * requests, Graph's batch rules, server-side throttling from the limit catalogue, stateful resources,
 * seeded faults and an audit log.
 *
 * The emulator is one Effect `HttpApp` ({@link Emulator.Service.app}). Run it in-process with
 * {@link layerTest} (an `HttpClient` that executes the app in the caller's fiber, so `TestClock`
 * drives every latency, window and Retry-After), or on a loopback socket with `EmulatorServer`.
 *
 * @since 0.1.0
 */
import { Bucket } from "@effect-msgraph/spec"
import type * as LimitCatalog from "@effect-msgraph/spec/LimitCatalog"
import type { HttpApp } from "@effect/platform"
import { HttpClient } from "@effect/platform"
import { Context, Effect, Layer, Schema } from "effect"
import * as Audit from "./Audit.js"
import * as FaultsModule from "./Faults.js"
import type { Faults } from "./Faults.js"
import * as Latency from "./Latency.js"
import { makeApp } from "./internal/app.js"
import { fromCatalog } from "./internal/classify.js"
import { makeClient } from "./internal/client.js"
import * as engine from "./internal/engine.js"
import * as resources from "./internal/resources.js"

/**
 * What a classifier sees of a request: method, URL relative to the version root (with query), body
 * size in bytes and the item's headers.
 *
 * @since 0.1.0
 * @category models
 */
export interface ClassifyRequest {
  readonly method: string
  /** Relative to the version root, with its query, e.g. `/users?$top=5`. */
  readonly url: string
  readonly bodyBytes: number | undefined
  /** The decoded body: JSON, or bytes for binary content. */
  readonly body: unknown
  readonly headers: Readonly<Record<string, string>>
}

/**
 * Who is calling: tenant, app, acting user, delegated or app-only, tenant size and B2C.
 *
 * @since 0.1.0
 * @category models
 */
export interface ClassifyContext {
  readonly tenantId: string
  readonly appId: string
  readonly userId: string
  readonly delegated: boolean
  readonly tenantSize: "S" | "M" | "L"
  readonly b2c: boolean
}

/**
 * Turns a request into the documented demands it places on Graph's limits.
 *
 * @since 0.1.0
 * @category models
 */
export type Classifier = (request: ClassifyRequest, context: ClassifyContext) => ReadonlyArray<Bucket.Demand>

/**
 * The failure of {@link Emulator.Service.app} when a fault drops the connection: the in-process client
 * turns it into a transport `RequestError`, the loopback server into a destroyed socket.
 *
 * @since 0.1.0
 * @category errors
 */
export const ConnectionDropped = FaultsModule.ConnectionDropped

/**
 * @since 0.1.0
 * @category errors
 */
export type ConnectionDropped = FaultsModule.ConnectionDropped

/**
 * A service's latency: `baseMillis` plus a seeded uniform draw in `[0, jitterMillis)`.
 *
 * @since 0.1.0
 * @category models
 */
export type LatencyModel = Latency.LatencyModel

/**
 * The services the emulator distinguishes for latency, faults, the Outlook batch rule and the
 * SharePoint headers.
 *
 * @since 0.1.0
 * @category models
 */
export type ServiceName = Latency.ServiceName

/**
 * The optional load model: an app's items in flight (admitted and not yet answered, across all its
 * batches and single requests) slow each other down beyond `knee`, and beyond `ceiling` new items
 * answer 503 with Retry-After. Beyond the knee an item's latency is its modelled latency times
 * `inFlight / knee` (processor sharing: `knee` workers shared by every item in flight), so throughput
 * stays at `knee` items per latency while latency grows with the queue. Off unless given.
 *
 * @since 0.1.0
 * @category models
 */
export interface LoadModel {
  /** Items in flight per app beyond which latency grows (none when absent). A positive whole number. */
  readonly knee?: number
  /** Items in flight per app at which a new item answers 503 (none when absent). A positive whole number. */
  readonly ceiling?: number
  /** The Retry-After of those 503s, in whole seconds (default 1). */
  readonly retryAfterSeconds?: number
}

/**
 * Options that cannot describe an emulator: a rate outside 0..1, a multiplier or capacity that is not
 * a positive number. `option` names the field, `detail` says what is wrong with it.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidOptions extends Schema.TaggedError<InvalidOptions>()("InvalidOptions", {
  option: Schema.String,
  detail: Schema.String
}) {}

/**
 * The emulator service.
 *
 * @since 0.1.0
 * @category tags
 */
export class Emulator extends Context.Tag("@effect-msgraph/emulator/Emulator")<Emulator, Emulator.Service>() {}

/**
 * @since 0.1.0
 * @category models
 */
export declare namespace Emulator {
  /**
   * What the emulator offers once built.
   *
   * @since 0.1.0
   * @category models
   */
  export interface Service {
    /** The emulator as an HttpApp. It fails with `ConnectionDropped` when a fault drops the connection. */
    readonly app: HttpApp.Default<ConnectionDropped>
    /** Every answered request, in the order the answers were ready (bounded by `auditCapacity`). */
    readonly audit: Effect.Effect<ReadonlyArray<Audit.AuditEntry>>
    /** How many old audit entries were dropped to stay within `auditCapacity` (the report does not see them). */
    readonly auditDropped: Effect.Effect<number>
    /** `limitViolations`, `duplicateExecutions`, `orderViolations` over the audit log. */
    readonly report: Effect.Effect<Audit.Report>
    /** Replaces the fault configuration from now on; refuses rates outside 0..1. */
    readonly setFaults: (faults: Faults) => Effect.Effect<void, InvalidOptions>
    /** Empties the audit log (state and accounting are kept). */
    readonly clearAudit: Effect.Effect<void>
    /** The number of users in the emulated directory. */
    readonly userCount: Effect.Effect<number>
  }

  /**
   * Configuration. Every field is optional.
   *
   * @since 0.1.0
   * @category models
   */
  export interface Options {
    /** Tenant size for size-dependent limits (identity resource units): `S`, `M` (default) or `L`. */
    readonly tenantSize?: "S" | "M" | "L"
    readonly tenantId?: string
    readonly appId?: string
    /** The user `me` stands for, and the acting user in delegated context. */
    readonly userId?: string
    /** The acting user's UPN (default `emulator.user@contoso.onmicrosoft.com`). */
    readonly userPrincipalName?: string
    /** Delegated (default) or app-only context. */
    readonly delegated?: boolean
    readonly b2c?: boolean
    /** Seeds response order, faults and latency (default 0). */
    readonly seed?: number
    /**
     * Scales enforced limits: below 1 is stricter than documented, above 1 looser. A number applies to
     * every service; a record is keyed by the demands' service id, with `"*"` as the fallback.
     */
    readonly multiplier?: number | Readonly<Record<string, number>>
    /** Enforce this limit instead of the documented one, by catalogue entry id. */
    readonly overrides?: Readonly<Record<string, Bucket.Limit>>
    /** The limit catalogue to enforce (default: the built-in one, `LimitCatalog.defaultCatalog`). */
    readonly catalog?: LimitCatalog.Catalog
    /** Where demands come from (default: `LimitCatalog.classify` over `catalog`). Replaces `catalog`. */
    readonly classify?: Classifier
    /**
     * `"realistic"` (default for {@link layer}: `Latency.realistic`), `"none"` (default for
     * {@link layerTest}), a whole `Latency.Profile` (round trip and services), or per-service item
     * models (then round trips take no time).
     */
    readonly latency?: "none" | "realistic" | Latency.Profile | Partial<Record<ServiceName, LatencyModel>>
    readonly faults?: Faults
    /** Root for `@odata.nextLink` and `@odata.context` (default: from the Host header, else graph.microsoft.com). */
    readonly baseUrl?: string
    /** What unknown paths answer: a generic 200 body (default) or 404. */
    readonly unknownPaths?: "generic" | "notFound"
    /** Path prefixes (without version) that answer 404. */
    readonly notFoundPaths?: ReadonlyArray<string>
    /** Licences available per subscribed SKU (default 25). */
    readonly licenses?: number
    /** At most this many objects per collection (default 100,000). */
    readonly capacity?: number
    /**
     * Users the directory starts with, besides the acting user (default 0): the `n`-th (from 0) is
     * `seed.user{n}@contoso.onmicrosoft.com` with id `5eed0000-0000-4000-8000-` and `n` in 12 hex
     * digits ({@link seededUser}). At most `capacity`.
     */
    readonly users?: number
    /**
     * How Retry-After is printed: `"exact"` (default) gives decimal seconds when the wait is not whole
     * (`6.3`), as an older version of the throttling page shows; `"seconds"` rounds up to whole seconds,
     * as the current page shows.
     */
    readonly retryAfter?: "exact" | "seconds"
    /** At most this many audit entries; older ones are dropped (default 250,000). */
    readonly auditCapacity?: number
    /**
     * The budget applied to SharePoint and OneDrive paths when the catalogue has none (Graph's page
     * publishes no numbers for them). Default: 1,200 requests per minute per app per tenant, an
     * emulator assumption. `null` turns it off.
     */
    readonly filesLimit?: Bucket.WindowLimit | null
    /**
     * The load model ({@link LoadModel}): beyond `knee` items in flight per app latency grows with
     * the queue, beyond `ceiling` items answer 503 with Retry-After. Off by default.
     */
    readonly load?: LoadModel
  }
}

/**
 * Realistic item latencies, by service: `Latency.realistic.services` (which also has the cost of a
 * round trip).
 *
 * @since 0.1.0
 * @category constants
 */
export const realisticLatency: Readonly<Record<ServiceName, LatencyModel>> = Latency.realistic.services

/**
 * The latency profile an emulator built with these options uses: `"realistic"` (the default) is
 * `Latency.realistic`, `"none"` is `Latency.none`, per-service models take no time per round trip.
 *
 * @since 0.1.0
 * @category latency
 */
export const latencyProfile = (latency: Emulator.Options["latency"] = "realistic"): Latency.Profile =>
  latency === "none" || latency === "realistic"
    ? Latency.profiles[latency]
    : isProfile(latency)
    ? latency
    : Latency.fromServices(latency)

const isProfile = (latency: Latency.Profile | Partial<Record<ServiceName, LatencyModel>>): latency is Latency.Profile =>
  "roundTrip" in latency && "services" in latency

/**
 * The limit the emulator enforces for a `multiplier` of `m`: a window's limit and concurrency
 * permits are multiplied and rounded down (at least 1); a token bucket's capacity (at least 1) and
 * refill rate are multiplied. `m = 1` returns the limit unchanged. Use it to reason about what an
 * emulator built with `multiplier` allows, as the CLI's duration lower bound does for `--stricter`.
 *
 * @since 0.1.0
 * @category limits
 */
export const scaleLimit: (limit: Bucket.Limit, m: number) => Bucket.Limit = engine.scale

/**
 * The service the emulator assigns a request to, which picks its latency model (and its fault and
 * Outlook rules): from the path of a URL relative to the version root (`/users/{id}/messages`), or
 * of an absolute Graph URL, whose host and version are ignored. Unresolved `{{...}}` references
 * count as one path segment each.
 *
 * @since 0.1.0
 * @category models
 */
export const serviceOf: (url: string) => ServiceName = Latency.serviceOf

/**
 * The `n`-th (from 0) of the users an emulator built with `users` starts with.
 *
 * @since 0.1.0
 * @category constants
 */
export const seededUser: (n: number) => { readonly id: string; readonly userPrincipalName: string } = resources.seededUser

const defaultUserId = "00000000-0000-4000-8000-00000000a11c"
const defaultUpn = "emulator.user@contoso.onmicrosoft.com"

/**
 * The tenant, app and acting user the emulator assumes unless told otherwise: give the same identity
 * to a throttling client (`GraphClient.layerThrottled`) so both key their buckets alike.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultIdentity = {
  tenantId: "00000000-0000-4000-8000-00000000c0de",
  appId: "00000000-0000-4000-8000-0000000a9901",
  userId: defaultUserId,
  userPrincipalName: defaultUpn
} as const

const resolveSync = (options: Emulator.Options): engine.Resolved => {
  const multiplier = options.multiplier
  const latency = latencyProfile(options.latency)
  return {
    context: {
      tenantId: options.tenantId ?? defaultIdentity.tenantId,
      appId: options.appId ?? defaultIdentity.appId,
      userId: options.userId ?? defaultUserId,
      delegated: options.delegated ?? true,
      tenantSize: options.tenantSize ?? "M",
      b2c: options.b2c ?? false
    },
    seed: options.seed ?? 0,
    multiplier: multiplier === undefined
      ? () => 1
      : typeof multiplier === "number"
      ? () => multiplier
      : (service) => multiplier[service] ?? multiplier["*"] ?? 1,
    overrides: new Map(Object.entries(options.overrides ?? {})),
    classify: options.classify ?? fromCatalog(options.catalog, options.userPrincipalName ?? defaultUpn),
    latency: (service) => latency.services[service],
    roundTrip: latency.roundTrip,

    baseUrl: options.baseUrl,
    store: {
      licenses: options.licenses ?? 25,
      notFoundPaths: options.notFoundPaths ?? [],
      unknownPaths: options.unknownPaths ?? "generic",
      capacity: options.capacity ?? 100_000,
      actingUser: {
        id: options.userId ?? defaultUserId,
        userPrincipalName: options.userPrincipalName ?? defaultUpn
      },
      seedUsers: options.users ?? 0
    },
    auditCapacity: options.auditCapacity ?? 250_000,
    retryAfter: options.retryAfter ?? "exact",
    filesLimit: options.filesLimit === null
      ? undefined
      : options.filesLimit ?? new Bucket.WindowLimit({ limit: 1_200, windowMillis: 60_000 }),
    faults: options.faults ?? {},
    load: options.load === undefined ? undefined : {
      knee: options.load.knee,
      ceiling: options.load.ceiling,
      retryAfterSeconds: options.load.retryAfterSeconds ?? 1
    }
  }
}

const problems = (options: Emulator.Options): ReadonlyArray<InvalidOptions> => {
  const out: Array<InvalidOptions> = []
  const positive = (option: string, value: number | undefined) => {
    if (value !== undefined && !(Number.isFinite(value) && value > 0)) out.push(new InvalidOptions({ option, detail: `must be a positive number, got ${value}` }))
  }
  const rate = (option: string, value: number | undefined) => {
    if (value !== undefined && !(value >= 0 && value <= 1)) out.push(new InvalidOptions({ option, detail: `must be between 0 and 1, got ${value}` }))
  }
  const m = options.multiplier
  if (typeof m === "number") positive("multiplier", m)
  else if (m !== undefined) for (const [service, value] of Object.entries(m)) positive(`multiplier.${service}`, value)
  positive("licenses", options.licenses === 0 ? undefined : options.licenses)
  positive("capacity", options.capacity)
  positive("auditCapacity", options.auditCapacity)
  const users = options.users
  if (users !== undefined && !(Number.isSafeInteger(users) && users >= 0 && users <= (options.capacity ?? 100_000))) {
    out.push(new InvalidOptions({ option: "users", detail: `must be a whole number from 0 to the capacity, got ${users}` }))
  }
  const whole = (option: string, value: number | undefined, least: number) => {
    if (value !== undefined && !(Number.isSafeInteger(value) && value >= least)) {
      out.push(new InvalidOptions({ option, detail: `must be a whole number of at least ${least}, got ${value}` }))
    }
  }
  whole("load.knee", options.load?.knee, 1)
  whole("load.ceiling", options.load?.ceiling, 1)
  whole("load.retryAfterSeconds", options.load?.retryAfterSeconds, 0)
  const faults = options.faults ?? {}
  faults.items?.forEach((f, i) => rate(`faults.items[${i}].rate`, f.rate))
  faults.batches?.forEach((f, i) => rate(`faults.batches[${i}].rate`, f.rate))
  rate("faults.dropConnection.rate", faults.dropConnection?.rate)
  rate("faults.malformedJson.rate", faults.malformedJson?.rate)
  rate("faults.missingItem.rate", faults.missingItem?.rate)
  if (typeof options.latency === "object") {
    const models = isProfile(options.latency) ? { ...options.latency.services, roundTrip: options.latency.roundTrip } : options.latency
    for (const [service, model] of Object.entries(models)) {
      if (model !== undefined && !(model.baseMillis >= 0 && model.jitterMillis >= 0)) {
        out.push(new InvalidOptions({ option: `latency.${service}`, detail: "baseMillis and jitterMillis must not be negative" }))
      }
    }
  }
  return out
}

/**
 * Builds an emulator with fresh state, or fails with {@link InvalidOptions}.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Emulator.Options = {}): Effect.Effect<Emulator.Service, InvalidOptions> =>
  Effect.suspend(() => {
    const invalid = problems(options)[0]
    return invalid === undefined ? makeUnchecked(options) : Effect.fail(invalid)
  })

const makeUnchecked = (options: Emulator.Options): Effect.Effect<Emulator.Service> =>
  Effect.sync(() => {
    const core = new engine.Engine(resolveSync(options))
    return {
      app: makeApp(core),
      audit: Effect.sync(() => core.audit().entries),
      auditDropped: Effect.sync(() => core.audit().dropped),
      report: Effect.sync(() => Audit.report(core.audit().entries)),
      setFaults: (faults) => {
        const invalid = problems({ faults })[0]
        return invalid === undefined ? Effect.sync(() => void (core.faults = faults)) : Effect.fail(invalid)
      },
      clearAudit: Effect.sync(() => core.clearAudit()),
      userCount: Effect.sync(() => core.store.userCount)
    }
  })

/**
 * The audit log of the emulator in context.
 *
 * @since 0.1.0
 * @category accessors
 */
export const audit: Effect.Effect<ReadonlyArray<Audit.AuditEntry>, never, Emulator> = Effect.flatMap(Emulator, (e) => e.audit)

/**
 * The audit report of the emulator in context.
 *
 * @since 0.1.0
 * @category accessors
 */
export const report: Effect.Effect<Audit.Report, never, Emulator> = Effect.flatMap(Emulator, (e) => e.report)

/**
 * Replaces the faults of the emulator in context.
 *
 * @since 0.1.0
 * @category accessors
 */
export const setFaults = (faults: Faults): Effect.Effect<void, InvalidOptions, Emulator> => Effect.flatMap(Emulator, (e) => e.setFaults(faults))

/**
 * An `HttpClient` that sends every request to the emulator in context, in the caller's fiber.
 *
 * @since 0.1.0
 * @category constructors
 */
export const httpClient: Effect.Effect<HttpClient.HttpClient, never, Emulator> = Effect.map(Emulator, (e) => makeClient(e.app))

/**
 * The emulator service with fresh state.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Emulator.Options = {}): Layer.Layer<Emulator, InvalidOptions> => Layer.effect(Emulator, make(options))

/**
 * The emulator and an in-process `HttpClient` bound to it: the test layer. Latency defaults to
 * `"none"` here, so tests only need `TestClock` when they ask for latency or wait for Retry-After.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerTest = (options: Emulator.Options = {}): Layer.Layer<Emulator | HttpClient.HttpClient, InvalidOptions> =>
  Layer.effect(HttpClient.HttpClient, httpClient).pipe(
    Layer.provideMerge(layer({ latency: "none", ...options }))
  )
