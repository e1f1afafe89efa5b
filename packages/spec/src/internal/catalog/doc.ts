/**
 * Renders a catalogue as the `docs/limits.md` page. Deterministic: the same catalogue always gives
 * the same text, so a test can detect a stale page.
 *
 * @internal
 */
import type { Scope } from "../../Bucket.js"
import type { Catalog, EntryLimit, LimitEntry, Measure, QueryCondition, ServiceInfo, Window } from "../../LimitCatalog.js"

const thousands = (value: number): string => {
  const [whole, fraction] = String(value).split(".")
  const grouped = whole!.replace(/\B(?=(\d{3})+(?!\d))/g, ",")
  return fraction === undefined ? grouped : `${grouped}.${fraction}`
}

const cell = (text: string): string => text.replace(/\|/g, "\\|").replace(/\n/g, " ")

const code = (text: string): string => `\`${text}\``

const windowText = (window: Window): string =>
  window.amount === 1 ? `${window.unit}` : `${thousands(window.amount)} ${window.unit}s`

const measureText: Readonly<Record<Measure, string>> = {
  requests: "requests",
  writeRequests: "write requests",
  resourceUnits: "resource units",
  bytesUploaded: "bytes uploaded",
  concurrentRequests: "concurrent requests",
  meetings: "meetings"
}

const singular: Readonly<Record<Measure, string>> = {
  requests: "request",
  writeRequests: "write request",
  resourceUnits: "resource unit",
  bytesUploaded: "byte uploaded",
  concurrentRequests: "concurrent request",
  meetings: "meeting"
}

const counted = (quantity: number, measure: Measure): string =>
  `${thousands(quantity)} ${quantity === 1 ? singular[measure] : measureText[measure]}`

const scopeText: Readonly<Record<Scope, string>> = {
  app: "per app across all tenants",
  tenant: "per tenant (all apps)",
  appTenant: "per app per tenant",
  appMailbox: "per app per mailbox",
  mailbox: "per mailbox (any app)",
  user: "per user",
  appUser: "per app per user",
  team: "per team",
  channel: "per channel",
  chat: "per chat",
  callRecord: "per call record",
  subject: "per subject",
  resource: "per resource"
}

const limitText = (limit: EntryLimit): string => {
  switch (limit._tag) {
    case "Rate":
      return `${counted(limit.quantity, limit.measure)} per ${windowText(limit.window)}`
    case "TokenBucket":
      return `${counted(limit.quantity, limit.measure)} per ${windowText(limit.window)} (token bucket)`
    case "Concurrent":
      return counted(limit.permits, "concurrentRequests")
    case "Unpublished":
      return "none published"
  }
}

const scopeCell = (limit: EntryLimit): string =>
  limit._tag === "Unpublished" ? "—" : `${scopeText[limit.scope]} (key ${code(limit.key.join("/"))})`

const costText: Readonly<Record<string, string>> = {
  request: "1 per request",
  identityResourceUnits: "resource units from the cost table",
  identityWriteCost: "write cost from the cost table",
  bodyBytes: "the request's body size"
}

const costCell = (limit: EntryLimit): string =>
  limit._tag === "Rate" || limit._tag === "TokenBucket"
    ? costText[limit.cost]!
    : limit._tag === "Concurrent"
    ? "1 permit while in flight"
    : "—"

const queryText = (condition: QueryCondition): string => {
  switch (condition._tag) {
    case "Has":
      return `with ${code(condition.param)}`
    case "Lacks":
      return `without ${code(condition.param)}`
    case "Equals":
      return `${code(`${condition.param}=${condition.value}`)}`
    case "NotEquals":
      return `not ${code(`${condition.param}=${condition.value}`)}`
  }
}

const conditionText = (entry: LimitEntry): string => {
  const parts: Array<string> = []
  if (entry.when.tenantSize !== undefined) parts.push(`tenant size ${entry.when.tenantSize}`)
  if (entry.when.auth !== undefined) parts.push(entry.when.auth === "delegated" ? "delegated" : "app-only")
  if (entry.when.signInAudience !== undefined) parts.push(`signInAudience ${entry.when.signInAudience.join(" or ")}`)
  parts.push(...entry.match.query.map(queryText))
  if (entry.fallback) parts.push("only if no other row matched")
  return parts.length === 0 ? "—" : parts.join("; ")
}

const pathSetKey = (paths: ReadonlyArray<string>, except: ReadonlyArray<string>): string =>
  JSON.stringify([paths, except])

const pathList = (paths: ReadonlyArray<string>, except: ReadonlyArray<string>): string =>
  paths.map(code).join(", ") + (except.length > 0 ? `; except ${except.map(code).join(", ")}` : "")

const isEnforced = (entry: LimitEntry): boolean => entry.limit._tag !== "Unpublished" && entry.notModelled === undefined

const serviceSection = (service: ServiceInfo, entries: ReadonlyArray<LimitEntry>): Array<string> => {
  const lines: Array<string> = [`### ${service.heading} (${code(service.id)})`, ""]
  lines.push(`- Resources: ${service.resources.join(", ")}.`)
  lines.push(`- Paths: ${service.pathsNote}`)
  lines.push(`- Area: ${pathList(service.area, service.except)}.`)
  if (service.family !== "other") lines.push(`- Family: ${code(service.family)}.`)
  if (service.batchWithinCap) {
    lines.push("- Batches: a parallel batch's items run within the service's concurrency cap (`batchWithinCap`).")
  }
  const sets = new Map<string, string>()
  const areaKey = pathSetKey(service.area, service.except)
  for (const entry of entries) {
    const key = pathSetKey(entry.match.paths, entry.match.except)
    if (key !== areaKey && !sets.has(key)) sets.set(key, `P${sets.size + 1}`)
  }
  for (const [key, label] of sets) {
    const [paths, except] = JSON.parse(key) as [Array<string>, Array<string>]
    lines.push(`- **${label}**: ${pathList(paths, except)}.`)
  }
  lines.push("")
  if (entries.length === 0) {
    lines.push("No catalogue entries.", "")
    return lines
  }
  lines.push(
    "| Entry | Row | Methods | Paths | Conditions | Limit | Scope | Cost | Retry-After | Modelled | Source | Note |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|"
  )
  for (const entry of entries) {
    const key = pathSetKey(entry.match.paths, entry.match.except)
    const paths = key === areaKey ? "area" : sets.get(key)!
    const modelled = isEnforced(entry)
      ? "yes"
      : entry.limit._tag === "Unpublished"
      ? "no: no figures published"
      : `no: ${entry.notModelled}`
    const bucket = entry.bucket !== undefined ? ` (bucket ${code(entry.bucket)})` : ""
    lines.push(
      `| ${[
        code(entry.id) + bucket,
        entry.row,
        entry.match.methods.length === 0 ? "any" : entry.match.methods.join(", "),
        paths,
        conditionText(entry),
        limitText(entry.limit),
        scopeCell(entry.limit),
        costCell(entry.limit),
        entry.retryAfter ? "yes" : "**no**",
        modelled,
        entry.source,
        entry.note ?? ""
      ].map(cell).join(" | ")} |`
    )
  }
  lines.push("")
  return lines
}

/** @internal */
export const renderMarkdown = (catalog: Catalog): string => {
  const enforced = catalog.entries.filter(isEnforced)
  const notEnforced = catalog.entries.filter((entry) => !isEnforced(entry))
  const statements = catalog.services.flatMap((service) => service.unenforced.map((item) => ({ service, item })))
  const lines: Array<string> = [
    "# Microsoft Graph limits",
    "",
    "<!-- Generated from the LimitCatalog by `npm run docs:limits`. Do not edit by hand: a test fails when this page is stale. -->",
    "",
    `Catalogue version ${code(catalog.version)}, encoding *${catalog.seed}*.`,
    "",
    `The catalogue has ${catalog.entries.length} entries: ${enforced.length} are modelled (each request they match places a demand on a client-side bucket) and ${notEnforced.length} are not (see [Not modelled](#not-modelled)). ${statements.length} further statements of the page are not limits a bucket can enforce; they are listed there too, each with the reason.`,
    "",
    "## How to read this page",
    "",
    "- **Entry**: the catalogue id. Overrides (`MSGRAPH_LIMIT_OVERRIDES`, or `overrides` in `LimitCatalog.layer`) name entries by this id.",
    "- **Row**: the row or sentence of the page the entry encodes. **Source** quotes it.",
    "- **Paths**: URL path patterns relative to the version root. `{x}` is one id segment, `{x:any}` any segment, `{x|a|b}` one of the names listed, `*` one segment, `**` any number of segments. A leading `me/` is the same as `users/{id | userPrincipalName}/`. **area** means the service's area; **P1**, **P2**, ... are the path sets listed under the service.",
    "- **Scope** and **key**: whom the limit counts against, and the parts of the bucket key. `app` and `tenant` come from the context. `actor` is the signed-in user (the app in app-only context). `user` is the user in the path, else the actor. Other parts come from the path (or, for `resource`, from the request body).",
    "- **Limit**: a quantity per window is a sliding window, except where it says token bucket (the identity and access quotas the page describes as one). A month is kept as a sliding 31-day window, and a megabyte as 1,000,000 bytes: the stricter readings.",
    "- **Retry-After**: whether a 429 from this limit is documented to carry `Retry-After`. Where it does not, the client must back off on its own.",
    "",
    "## Modelled limits by service",
    ""
  ]
  for (const service of catalog.services) {
    lines.push(...serviceSection(service, catalog.entries.filter((entry) => entry.service === service.id)))
  }
  lines.push("## Not modelled", "", "| Service | Entry or statement | Reason |", "|---|---|---|")
  for (const entry of notEnforced) {
    const service = catalog.services.find((candidate) => candidate.id === entry.service)
    const reason = entry.limit._tag === "Unpublished"
      ? `${entry.limit.statement} Classification still names the service.`
      : entry.notModelled!
    lines.push(`| ${[service?.heading ?? entry.service, `${code(entry.id)}: ${entry.row}`, reason].map(cell).join(" | ")} |`)
  }
  for (const { item, service } of statements) {
    lines.push(`| ${[service.heading, item.statement, item.reason].map(cell).join(" | ")} |`)
  }
  lines.push("")
  const costs = catalog.identityCosts
  lines.push(
    "## Identity and access resource-unit costs",
    "",
    "The `identityAccess.*.resourceUnits.*` buckets are charged the cost below, and the write quotas the write cost.",
    "",
    "| Method | Request path | Base resource units | Write cost |",
    "|---|---|---|---|"
  )
  for (const row of [...costs.rows, ...costs.otherwise]) {
    lines.push(`| ${[row.method, code(row.path), String(row.resourceUnits), String(row.writeCost)].map(cell).join(" | ")} |`)
  }
  lines.push(
    "",
    "Modifiers, applied in this order:",
    "",
    `1. \`$select\` adds ${costs.selectDelta}; \`$expand\` adds ${costs.expandDelta}; \`$top\` below ${costs.topBelow} adds ${costs.topDelta}.`,
    `2. Creating a user (\`POST users\`) in a B2C tenant adds ${costs.b2cCreateUserDelta}.`,
    `3. The cost is never below ${costs.minimum}.`,
    `4. \`$select\` on ${costs.selectByIdsPaths.map(code).join(" or ")} costs exactly ${costs.selectByIdsCost}.`,
    "",
    "Paths starting with `me/` are priced as `users/{id | userPrincipalName}/`. A GET may end in `microsoft.graph.<type>` casts.",
    "",
    `Source: ${costs.source}`,
    "",
    "## Tenant sizes",
    "",
    `S is under ${catalog.tenantSizes.mediumFrom} users, M is ${catalog.tenantSizes.mediumFrom} to ${catalog.tenantSizes.largeAbove} users, and L is above ${catalog.tenantSizes.largeAbove} users. The size selects the application+tenant resource-unit quota. Source: ${catalog.tenantSizes.source}`,
    ""
  )
  return lines.join("\n")
}
