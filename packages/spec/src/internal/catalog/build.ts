/**
 * Small constructors that keep the catalogue data readable. They build the catalogue's encoded form,
 * plain data: `LimitCatalog.ts` decodes it into its models once, when it is loaded.
 *
 * @internal
 */
import type { Scope } from "../../Bucket.js"
import type {
  Conditions,
  CostBasis,
  EntryLimit,
  KeyPart,
  LimitEntry,
  Measure,
  Method,
  QueryCondition,
  ServiceId,
  Window,
  WindowUnit
} from "../../LimitCatalog.js"

/** @internal */
export type EntryData = typeof LimitEntry.Encoded

/** @internal */
export type LimitData = typeof EntryLimit.Encoded

/** @internal */
export type WindowData = typeof Window.Encoded

/**
 * The usual key of each scope. Entries whose key differs (a per-report-API bucket, a per-user
 * bucket keyed by the addressed user) say so.
 *
 * @internal
 */
export const defaultKey: Readonly<Record<Scope, ReadonlyArray<KeyPart>>> = {
  app: ["app"],
  tenant: ["tenant"],
  appTenant: ["app", "tenant"],
  appMailbox: ["app", "mailbox"],
  mailbox: ["mailbox"],
  user: ["user"],
  appUser: ["app", "actor"],
  team: ["app", "team"],
  channel: ["app", "tenant", "channel"],
  chat: ["app", "tenant", "chat"],
  callRecord: ["callRecord"],
  subject: ["tenant", "subject"],
  resource: ["tenant", "resource"]
}

/** @internal */
export const per = (amount: number, unit: WindowUnit): WindowData => ({ amount, unit })

/** @internal */
export interface QuotaOptions {
  readonly key?: ReadonlyArray<KeyPart>
  readonly measure?: Measure
  readonly cost?: CostBasis
}

const quota = (scope: Scope, quantity: number, window: WindowData, options: QuotaOptions) => ({
  scope,
  key: options.key ?? defaultKey[scope],
  measure: options.measure ?? "requests",
  cost: options.cost ?? "request",
  quantity,
  window
})

/** @internal */
export const rate = (scope: Scope, quantity: number, window: WindowData, options: QuotaOptions = {}): LimitData => ({
  _tag: "Rate",
  ...quota(scope, quantity, window, options)
})

/** @internal */
export const tokenBucket = (
  scope: Scope,
  quantity: number,
  window: WindowData,
  options: QuotaOptions = {}
): LimitData => ({ _tag: "TokenBucket", ...quota(scope, quantity, window, options) })

/** @internal */
export const concurrent = (scope: Scope, permits: number, key?: ReadonlyArray<KeyPart>): LimitData => ({
  _tag: "Concurrent",
  scope,
  key: key ?? defaultKey[scope],
  permits
})

/** @internal */
export const unpublished = (statement: string): LimitData => ({ _tag: "Unpublished", statement })

/** @internal */
export const writeMethods: ReadonlyArray<Method> = ["POST", "PUT", "PATCH", "DELETE"]

/** @internal */
export interface EntrySpec {
  readonly id: string
  readonly bucket?: string
  readonly service: ServiceId
  readonly group: string
  readonly row: string
  readonly methods?: ReadonlyArray<Method>
  readonly paths: readonly [string, ...Array<string>]
  readonly except?: ReadonlyArray<string>
  readonly query?: ReadonlyArray<QueryCondition>
  readonly when?: typeof Conditions.Encoded
  readonly fallback?: boolean
  readonly limit: LimitData
  readonly retryAfter?: boolean
  readonly notModelled?: string
  readonly source: string
  readonly note?: string
}

/** @internal */
export const entry = (spec: EntrySpec): EntryData => ({
  id: spec.id,
  ...(spec.bucket !== undefined ? { bucket: spec.bucket } : {}),
  service: spec.service,
  group: spec.group,
  row: spec.row,
  match: {
    methods: spec.methods ?? [],
    paths: spec.paths,
    except: spec.except ?? [],
    query: spec.query ?? []
  },
  when: spec.when ?? {},
  fallback: spec.fallback ?? false,
  limit: spec.limit,
  retryAfter: spec.retryAfter ?? true,
  ...(spec.notModelled !== undefined ? { notModelled: spec.notModelled } : {}),
  source: spec.source,
  ...(spec.note !== undefined ? { note: spec.note } : {})
})
