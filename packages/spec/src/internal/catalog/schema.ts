/**
 * Schemas of the limit catalogue. Public through `LimitCatalog.ts`, which re-exports them with docs.
 * They stay here, not in the public module, because they are values the catalogue's data
 * (`data/`, `cost/table.ts`) constructs when it is loaded: declared in `LimitCatalog.ts`, which loads
 * that data, they would be read before they exist (a circular import). Plain types are declared in
 * `LimitCatalog.ts`.
 *
 * @internal
 */
import { Schema } from "effect"
import { HttpMethod } from "../../BatchRequest.js"
import { CostBasis as BucketCostBasis, Demand, Family as BucketFamily, Measure as BucketMeasure, Scope } from "../../Bucket.js"

/** @internal */
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
/** @internal */
export type ServiceId = typeof ServiceId.Type

/** @internal */
export const Method = HttpMethod
/** @internal */
export type Method = typeof Method.Type

/** @internal */
export const TenantSize = Schema.Literal("S", "M", "L")
/** @internal */
export type TenantSize = typeof TenantSize.Type

/** @internal */
export const Auth = Schema.Literal("delegated", "appOnly")
/** @internal */
export type Auth = typeof Auth.Type

/** @internal */
export const SignInAudience = Schema.Literal(
  "AzureADMyOrg",
  "AzureADMultipleOrgs",
  "AzureADandPersonalMicrosoftAccount",
  "PersonalMicrosoftAccount"
)
/** @internal */
export type SignInAudience = typeof SignInAudience.Type

/** @internal */
export const Measure = BucketMeasure
/** @internal */
export type Measure = typeof BucketMeasure.Type

/** @internal */
export const CostBasis = BucketCostBasis
/** @internal */
export type CostBasis = typeof BucketCostBasis.Type

/** @internal */
export const Family = BucketFamily
/** @internal */
export type Family = typeof BucketFamily.Type

/** @internal */
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
/** @internal */
export type KeyPart = typeof KeyPart.Type

/** @internal */
export const WindowUnit = Schema.Literal("second", "minute", "hour", "day", "month")
/** @internal */
export type WindowUnit = typeof WindowUnit.Type

const Positive = Schema.Number.pipe(Schema.positive(), Schema.finite())
const PositiveInt = Schema.Number.pipe(Schema.int(), Schema.positive())

/** @internal */
export class Window extends Schema.Class<Window>("@effect-msgraph/spec/LimitCatalog/Window")({
  amount: PositiveInt,
  unit: WindowUnit
}) {}

/** @internal */
export const QueryCondition = Schema.Union(
  Schema.TaggedStruct("Has", { param: Schema.String }),
  Schema.TaggedStruct("Lacks", { param: Schema.String }),
  Schema.TaggedStruct("Equals", { param: Schema.String, value: Schema.String }),
  Schema.TaggedStruct("NotEquals", { param: Schema.String, value: Schema.String })
)
/** @internal */
export type QueryCondition = typeof QueryCondition.Type

const emptyArray = <A>(): ReadonlyArray<A> => []

/** @internal */
export class RequestMatcher extends Schema.Class<RequestMatcher>("@effect-msgraph/spec/LimitCatalog/RequestMatcher")({
  methods: Schema.optionalWith(Schema.Array(Method), { default: emptyArray }),
  paths: Schema.NonEmptyArray(Schema.String),
  except: Schema.optionalWith(Schema.Array(Schema.String), { default: emptyArray }),
  query: Schema.optionalWith(Schema.Array(QueryCondition), { default: emptyArray })
}) {}

/** @internal */
export class Conditions extends Schema.Class<Conditions>("@effect-msgraph/spec/LimitCatalog/Conditions")({
  tenantSize: Schema.optional(TenantSize),
  auth: Schema.optional(Auth),
  signInAudience: Schema.optional(Schema.Array(SignInAudience))
}) {}

const quotaFields = {
  scope: Scope,
  key: Schema.Array(KeyPart),
  measure: Measure,
  cost: CostBasis,
  quantity: Positive,
  window: Window
}

/** @internal */
export class Rate extends Schema.TaggedClass<Rate>()("Rate", quotaFields) {}

/** @internal */
export class TokenBucket extends Schema.TaggedClass<TokenBucket>()("TokenBucket", quotaFields) {}

/** @internal */
export class Concurrent extends Schema.TaggedClass<Concurrent>()("Concurrent", {
  scope: Scope,
  key: Schema.Array(KeyPart),
  permits: PositiveInt
}) {}

/** @internal */
export class Unpublished extends Schema.TaggedClass<Unpublished>()("Unpublished", {
  statement: Schema.String
}) {}

/** @internal */
export const EntryLimit = Schema.Union(Rate, TokenBucket, Concurrent, Unpublished)
/** @internal */
export type EntryLimit = typeof EntryLimit.Type

/** @internal */
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

/** @internal */
export class Unenforced extends Schema.Class<Unenforced>("@effect-msgraph/spec/LimitCatalog/Unenforced")({
  statement: Schema.String,
  reason: Schema.String
}) {}

/** @internal */
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

/** @internal */
export class IdentityCostRow extends Schema.Class<IdentityCostRow>("@effect-msgraph/spec/LimitCatalog/IdentityCostRow")({
  method: Method,
  path: Schema.String,
  resourceUnits: PositiveInt,
  writeCost: Schema.Number.pipe(Schema.int(), Schema.nonNegative())
}) {}

/** @internal */
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

/** @internal */
export class TenantSizeThresholds extends Schema.Class<TenantSizeThresholds>(
  "@effect-msgraph/spec/LimitCatalog/TenantSizeThresholds"
)({
  mediumFrom: PositiveInt,
  largeAbove: PositiveInt,
  source: Schema.String
}) {}

/** @internal */
export class Catalog extends Schema.Class<Catalog>("@effect-msgraph/spec/LimitCatalog/Catalog")({
  version: Schema.String,
  seed: Schema.String,
  services: Schema.Array(ServiceInfo),
  entries: Schema.Array(LimitEntry),
  identityCosts: IdentityCostRules,
  tenantSizes: TenantSizeThresholds
}) {}

/** @internal */
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

/** @internal */
export const Adjustment = Schema.Literal("select", "expand", "top", "b2cCreateUser", "minimum", "selectByIds")
/** @internal */
export type Adjustment = typeof Adjustment.Type

/** @internal */
export class IdentityCost extends Schema.Class<IdentityCost>("@effect-msgraph/spec/LimitCatalog/IdentityCost")({
  row: Schema.String,
  base: Schema.Number,
  adjustments: Schema.Array(Schema.Struct({ rule: Adjustment, delta: Schema.Number })),
  resourceUnits: Schema.Number,
  writeCost: Schema.Number
}) {}

/** @internal */
export const SkipReason = Schema.Literal("unpublished", "notModelled", "missingKey", "zeroCost")
/** @internal */
export type SkipReason = typeof SkipReason.Type

/** @internal */
export class Skipped extends Schema.Class<Skipped>("@effect-msgraph/spec/LimitCatalog/Skipped")({
  entryId: Schema.String,
  reason: SkipReason,
  detail: Schema.String
}) {}

/** @internal */
export class Classification extends Schema.Class<Classification>("@effect-msgraph/spec/LimitCatalog/Classification")({
  method: Schema.String,
  path: Schema.String,
  services: Schema.Array(ServiceId),
  entries: Schema.Array(Schema.String),
  demands: Schema.Array(Demand),
  skipped: Schema.Array(Skipped),
  identity: Schema.optional(IdentityCost)
}) {}
