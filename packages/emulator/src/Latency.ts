/**
 * How long Graph takes, as data: one home for the figures the emulator sleeps (`serve`, `simulate`),
 * the planner estimates with and the duration lower bound counts.
 *
 * A {@link Profile} has a cost per round trip (each HTTP call, a `$batch` or a single request:
 * connection, authentication, the envelope) and a cost per item, by service. Each cost is a
 * {@link LatencyModel}: `baseMillis` plus a seeded uniform draw in `[0, jitterMillis)`, so its least
 * value is `baseMillis` ({@link least}) and its mean `baseMillis + jitterMillis / 2`
 * ({@link expected}). The items of a sequential batch take their latencies one after another; those
 * of a parallel batch overlap (Outlook's four at a time). A profile is plain data, so a calibration
 * (figures measured on a real tenant) can fill one in.
 *
 * The defaults ({@link realistic}) are assumptions of this project, not published figures: see
 * docs/emulator.md, "Latency", for where each number comes from.
 *
 * @since 0.1.0
 */
import * as routing from "./internal/routing.js"

/**
 * One latency: `baseMillis` plus a seeded uniform draw in `[0, jitterMillis)`.
 *
 * @since 0.1.0
 * @category models
 */
export interface LatencyModel {
  readonly baseMillis: number
  readonly jitterMillis: number
}

/**
 * The services the emulator distinguishes for latency.
 *
 * @since 0.1.0
 * @category models
 */
export type ServiceName = "identity" | "outlook" | "teams" | "files" | "onenote" | "insights" | "graph"

/**
 * A whole latency model: the cost of each round trip, and of each item by service.
 *
 * @since 0.1.0
 * @category models
 */
export interface Profile {
  /** Every HTTP call, whatever it holds: connection, authentication, the `$batch` envelope. */
  readonly roundTrip: LatencyModel
  /** Every item (or single request), by the service its URL belongs to ({@link serviceOf}). */
  readonly services: Readonly<Record<ServiceName, LatencyModel>>
}

/**
 * Every service the emulator distinguishes, in a fixed order.
 *
 * @since 0.1.0
 * @category constants
 */
export const serviceNames: ReadonlyArray<ServiceName> = ["identity", "outlook", "teams", "files", "onenote", "insights", "graph"]

const zero: LatencyModel = { baseMillis: 0, jitterMillis: 0 }

/**
 * No latency at all: everything answers at once.
 *
 * @since 0.1.0
 * @category constants
 */
export const none: Profile = {
  roundTrip: zero,
  services: { identity: zero, outlook: zero, teams: zero, files: zero, onenote: zero, insights: zero, graph: zero }
}

/**
 * The default: tens to hundreds of milliseconds per item by service, plus 50 to 100 ms per round
 * trip. Assumptions, not measurements (docs/emulator.md says where each figure comes from).
 *
 * @since 0.1.0
 * @category constants
 */
export const realistic: Profile = {
  roundTrip: { baseMillis: 50, jitterMillis: 50 },
  services: {
    identity: { baseMillis: 30, jitterMillis: 120 },
    outlook: { baseMillis: 60, jitterMillis: 240 },
    teams: { baseMillis: 80, jitterMillis: 320 },
    files: { baseMillis: 80, jitterMillis: 400 },
    onenote: { baseMillis: 100, jitterMillis: 400 },
    insights: { baseMillis: 60, jitterMillis: 240 },
    graph: { baseMillis: 40, jitterMillis: 160 }
  }
}

/**
 * The named profiles that `--latency` accepts.
 *
 * @since 0.1.0
 * @category constants
 */
export const profiles: Readonly<Record<"none" | "realistic", Profile>> = { none, realistic }

/**
 * The least a model can take: `baseMillis`.
 *
 * @since 0.1.0
 * @category accessors
 */
export const least = (model: LatencyModel): number => model.baseMillis

/**
 * The mean of a model: `baseMillis + jitterMillis / 2`.
 *
 * @since 0.1.0
 * @category accessors
 */
export const expected = (model: LatencyModel): number => model.baseMillis + model.jitterMillis / 2

/**
 * The profile in which every latency takes its mean ({@link expected}) and nothing varies. The
 * duration lower bound counted on it is what no client beats *on average* over the seeds, when
 * latencies are drawn independently of what the client does (the load model off): each of the
 * bound's terms is a sum of latencies along a path or over a bucket's requests, whose expectation is
 * the sum of the means, and the expected time of a run is at least the expected value of each term
 * (except the concurrency term's rounding, `⌈n/permits⌉` requests on one slot, which can exceed
 * that expectation by less than one mean latency per bucket).
 * The bound on {@link least} latencies holds for every single run; this one says how far a client is
 * from a perfect one where latency, not a limit, binds (benchmarks section a and b).
 *
 * @since 0.1.0
 * @category combinators
 */
export const atMean = (profile: Profile): Profile => {
  const mean = (model: LatencyModel): LatencyModel => ({ baseMillis: expected(model), jitterMillis: 0 })
  const services = {} as Record<ServiceName, LatencyModel>
  for (const name of serviceNames) services[name] = mean(profile.services[name])
  return { roundTrip: mean(profile.roundTrip), services }
}

/**
 * Whether a model ever takes time.
 *
 * @since 0.1.0
 * @category accessors
 */
export const takesTime = (model: LatencyModel): boolean => model.baseMillis > 0 || model.jitterMillis > 0

/**
 * The services of URLs seen lately: a client asks for a request's service for every batch it is
 * planned into (to date its window units, to estimate its latency), and workloads repeat URLs.
 */
const services = new Map<string, ServiceName>()
const serviceCacheSize = 4_096

/**
 * The service the emulator assigns a URL to, which picks its item latency: from the path of a URL
 * relative to the version root (`/users/{id}/messages`), or of an absolute Graph URL, whose host and
 * version are ignored. Unresolved `{{...}}` references count as one path segment each.
 *
 * @since 0.1.0
 * @category accessors
 */
export const serviceOf = (url: string): ServiceName => {
  let service = services.get(url)
  if (service === undefined) {
    const relative = url
      .replace(/\{\{[^}]*\}\}/g, "ref") // a reference's JSON pointer has slashes of its own
      .replace(/^https?:\/\/[^/]+/i, "")
      .replace(/^\/?(v1\.0|beta)(?=\/|\?|$)/i, "")
    service = routing.serviceOf(routing.parseRelative(relative).segments)
    if (services.size >= serviceCacheSize) services.clear()
    services.set(url, service)
  }
  return service
}

/**
 * The item latency of a request's URL under a profile.
 *
 * @since 0.1.0
 * @category accessors
 */
export const itemOf = (profile: Profile, url: string): LatencyModel => profile.services[serviceOf(url)]

/**
 * A profile from per-service models, for the emulator's older `latency` option form: services not
 * given take no time, and round trips take none.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromServices = (services: Partial<Record<ServiceName, LatencyModel>>, roundTrip: LatencyModel = zero): Profile => ({
  roundTrip,
  services: Object.fromEntries(serviceNames.map((s) => [s, services[s] ?? zero])) as Record<ServiceName, LatencyModel>
})
