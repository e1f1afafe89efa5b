/**
 * Every limit row and limit sentence of the throttling-limits seed (ms.date 06/19/2024), written out
 * by hand from the page (includes from the annotated reference), NOT derived from the catalogue.
 * `LimitCatalog.test.ts` asserts that each has a catalogue entry with the same numbers.
 */

export type Unit = "second" | "minute" | "hour" | "day" | "month"

const unitMs: Record<Unit, number> = {
  second: 1_000,
  minute: 60_000,
  hour: 3_600_000,
  day: 86_400_000,
  month: 31 * 86_400_000
}

/** Window length in ms; a month is a sliding 31 days (the catalogue's documented stricter reading). */
export const ms = (amount: number, unit: Unit): number => amount * unitMs[unit]

export interface SeedRow {
  /** Section heading and the row or sentence as the seed prints it. */
  readonly seed: string
  readonly service: string
  /** When given, the entry's `row` must start with this text (Teams and Intune rows). */
  readonly row?: string
  readonly kind: "quota" | "concurrent" | "unpublished"
  /** Omitted where the page states no scope. */
  readonly scope?: string
  readonly quantity?: number
  readonly windowMs?: number
  readonly measure?: string
  readonly methods?: ReadonlyArray<string>
  readonly tenantSize?: "S" | "M" | "L"
  readonly auth?: "delegated" | "appOnly"
  readonly retryAfter?: boolean
}

const q = (
  seed: string,
  service: string,
  scope: string | undefined,
  quantity: number,
  windowMs: number,
  extra: Partial<SeedRow> = {}
): SeedRow => ({ seed, service, kind: "quota", ...(scope ? { scope } : {}), quantity, windowMs, ...extra })

const c = (seed: string, service: string, scope: string | undefined, permits: number, extra: Partial<SeedRow> = {}): SeedRow => ({
  seed,
  service,
  kind: "concurrent",
  ...(scope ? { scope } : {}),
  quantity: permits,
  ...extra
})

const writes = ["POST", "PUT", "PATCH", "DELETE"]

export const seedRows: ReadonlyArray<SeedRow> = [
  // Global
  q("Global: Any | 130,000 requests per 10 seconds (per app across all tenants)", "global", "app", 130_000, ms(10, "second")),

  // Assignment
  q("Assignment: Any | 500 requests per 10 seconds (app/tenant)", "assignment", "appTenant", 500, ms(10, "second")),
  q("Assignment: Any | 1,000 requests per 10 seconds (tenant)", "assignment", "tenant", 1_000, ms(10, "second")),
  q("Assignment: Any | 15,000 requests per 3,600 seconds (app/tenant)", "assignment", "appTenant", 15_000, ms(3_600, "second")),
  q("Assignment: Any | 30,000 requests per 3,600 seconds (tenant)", "assignment", "tenant", 30_000, ms(3_600, "second")),
  q("Assignment: GET me/Assignment | 50 requests per 10 seconds", "assignment", "appTenant", 50, ms(10, "second"), { methods: ["GET"] }),
  q("Assignment: GET me/Assignment | 150 requests per 10 seconds", "assignment", "tenant", 150, ms(10, "second"), { methods: ["GET"] }),

  // Bookings
  c("Bookings: Four concurrent requests (each app ID and mailbox combination)", "bookings", "appMailbox", 4),

  // Cloud communications
  q("Cloud communication: Calls | 50,000 requests in a 15-second period, per application per tenant", "cloudCommunications", "appTenant", 50_000, ms(15, "second")),
  q("Cloud communication: Meeting information | 2,000 meetings/user each month", "cloudCommunications", undefined, 2_000, ms(1, "month"), { measure: "meetings" }),
  q("Cloud communication: Presence | 1,500 requests in a 30-second period, per application per tenant", "cloudCommunications", "appTenant", 1_500, ms(30, "second")),
  q("Cloud communication: Virtual event | 10,000 requests/app each month", "cloudCommunications", "app", 10_000, ms(1, "month")),

  // Call records
  q("Call records: Per application for all tenants | 15,000 requests per 20 seconds", "callRecords", "app", 15_000, ms(20, "second")),
  q("Call records: Per tenant for all applications | 10,000 requests per 20 seconds", "callRecords", "tenant", 10_000, ms(20, "second")),
  q("Call records: Per application per tenant | 1,500 requests per 20 seconds", "callRecords", "appTenant", 1_500, ms(20, "second")),
  q("Call records: Per call record | 10 requests per 20 seconds (first page)", "callRecords", "callRecord", 10, ms(20, "second")),
  q("Call records: Per call record | 50 requests per 5 minutes (subsequent pages)", "callRecords", "callRecord", 50, ms(5, "minute")),
  q("Call records: List call records | 15 requests per 20 seconds (first page)", "callRecords", undefined, 15, ms(20, "second")),
  q("Call records: List call records | 55 requests per 5 minutes (subsequent pages)", "callRecords", undefined, 55, ms(5, "minute")),

  // PSTN call records
  q("PSTN call records: Per tenant | 1,000 requests per 60 seconds", "pstnCallRecords", "tenant", 1_000, ms(60, "second")),
  q("PSTN call records: Per application per tenant | 200 requests per 60 seconds", "pstnCallRecords", "appTenant", 200, ms(60, "second")),
  q("PSTN call records: Per collection | 50 requests per 60 seconds", "pstnCallRecords", undefined, 50, ms(60, "second")),

  // Excel (include)
  q("Excel: Any | 5000 requests per 10 seconds (per app for all tenants)", "excel", "app", 5_000, ms(10, "second")),
  q("Excel: Any | 1500 requests per 10 seconds (per app per tenant)", "excel", "appTenant", 1_500, ms(10, "second")),

  // Education (include)
  q("Education: Any | 400000 requests per 20 seconds (per app for all tenants)", "education", "app", 400_000, ms(20, "second")),
  q("Education: Any | 35000 requests per 10 seconds (per app per tenant)", "education", "appTenant", 35_000, ms(10, "second")),

  // Files and lists
  { seed: "Files and lists: see Avoid getting throttled or blocked in SharePoint Online (no figures)", service: "filesAndLists", kind: "unpublished" },

  // Identity and access reports
  q("Identity and access reports: Any | Five requests per 10 seconds", "identityReports", "appTenant", 5, ms(10, "second")),

  // Identity and access
  q("Identity and access: application+tenant pair | S: 3,500 ResourceUnits per 10 seconds", "identityAccess", "appTenant", 3_500, ms(10, "second"), { measure: "resourceUnits", tenantSize: "S" }),
  q("Identity and access: application+tenant pair | M: 5,000 ResourceUnits per 10 seconds", "identityAccess", "appTenant", 5_000, ms(10, "second"), { measure: "resourceUnits", tenantSize: "M" }),
  q("Identity and access: application+tenant pair | L: 8,000 ResourceUnits per 10 seconds", "identityAccess", "appTenant", 8_000, ms(10, "second"), { measure: "resourceUnits", tenantSize: "L" }),
  q("Identity and access: application+tenant pair | 3,000 requests per 2 minutes and 30 seconds (write quota)", "identityAccess", "appTenant", 3_000, ms(2, "minute") + ms(30, "second"), { measure: "writeRequests" }),
  q("Identity and access: application | 150,000 ResourceUnits per 20 seconds", "identityAccess", "app", 150_000, ms(20, "second"), { measure: "resourceUnits" }),
  q("Identity and access: application | 35,000 requests per 5 minutes (write quota)", "identityAccess", "app", 35_000, ms(5, "minute"), { measure: "writeRequests" }),
  q("Identity and access: tenant | 18,000 requests per 5 minutes (write quota)", "identityAccess", "tenant", 18_000, ms(5, "minute"), { measure: "writeRequests" }),
  q("Identity and access: applications POST/PATCH/DELETE, AzureADMyOrg or AzureADMultipleOrgs: 70,000 requests per 5 minutes", "identityAccess", undefined, 70_000, ms(5, "minute"), { methods: ["POST", "PATCH", "DELETE"] }),
  q("Identity and access: applications POST/PATCH/DELETE, AzureADandPersonalMicrosoftAccount or PersonalMicrosoftAccount: 60 requests per minute", "identityAccess", undefined, 60, ms(1, "minute"), { methods: ["POST", "PATCH", "DELETE"] }),

  // Data policy operations (no Retry-After)
  q("Data policy: POST on exportPersonalData | 1,000 requests per day for any subject", "dataPolicy", "tenant", 1_000, ms(1, "day"), { methods: ["POST"], retryAfter: false }),
  q("Data policy: POST on exportPersonalData | 100 per subject per day", "dataPolicy", "subject", 100, ms(1, "day"), { methods: ["POST"], retryAfter: false }),
  q("Data policy: Any other request | 10,000 requests per hour", "dataPolicy", "tenant", 10_000, ms(1, "hour"), { retryAfter: false }),

  // Identity protection and conditional access (no Retry-After)
  q("Identity protection and conditional access: Any | One request per second (per tenant for all apps)", "identityProtection", "tenant", 1, ms(1, "second"), { retryAfter: false }),

  // Identity providers (include)
  q("Identity providers: Any | 300 requests per 1 minute (per tenant for all apps)", "identityProviders", "tenant", 300, ms(1, "minute")),
  q("Identity providers: Any | 200 requests per 1 minute (per app per tenant)", "identityProviders", "appTenant", 200, ms(1, "minute")),

  // Information protection
  q("Information protection: POST | 150 requests per 15 minutes (per tenant)", "informationProtection", "tenant", 150, ms(15, "minute"), { methods: ["POST"] }),
  q("Information protection: POST | 10,000 requests per 24 hours (per tenant)", "informationProtection", "tenant", 10_000, ms(24, "hour"), { methods: ["POST"] }),
  q("Information protection: POST | One request per 15 minutes (per resource: email, URL, file)", "informationProtection", "resource", 1, ms(15, "minute"), { methods: ["POST"] }),
  q("Information protection: POST | 3 requests per 24 hours (per resource: email, URL, file)", "informationProtection", "resource", 3, ms(24, "hour"), { methods: ["POST"] }),

  // Insights
  q("Insights: 10,000 API requests in a 10-minute period", "insights", undefined, 10_000, ms(10, "minute")),
  c("Insights: Four concurrent requests", "insights", undefined, 4),

  // Invitation manager
  q("Invitation manager: Any operation | 150 requests per 5 seconds", "invitations", "tenant", 150, ms(5, "second")),

  // Microsoft 365 reports
  q("Reports: Any request (CSV) | 14 requests per 10 minutes (per app per tenant)", "reports", "appTenant", 14, ms(10, "minute")),
  q("Reports: Any request (CSV) | 40 requests per 10 minutes (per tenant for all apps)", "reports", "tenant", 40, ms(10, "minute")),
  q("Reports: Any request (JSON, beta) | 100 requests per 10 minutes (per app per tenant)", "reports", "appTenant", 100, ms(10, "minute")),

  // Teams: the four sentences after the table
  q("Teams: A maximum of four requests per second per app can be issued on a given team.", "teams", "team", 4, ms(1, "second")),
  q("Teams: A maximum of one request per second per app per tenant can be issued on a given channel", "teams", "channel", 1, ms(1, "second"), { row: "Requests on a given channel" }),
  q("Teams: A maximum of one request per second per app per tenant can be issued on a given chat", "teams", "chat", 1, ms(1, "second"), { row: "Requests on a given chat" }),
  q("Teams: A maximum of one request per second per user ... POST message in a given chat or channel", "teams", "user", 1, ms(1, "second"), { methods: ["POST"], auth: "delegated" }),
  q("Teams: A maximum of five requests per second per user ... List chats or Get chat or chat:removeAllAccessForUser", "teams", "user", 5, ms(1, "second")),

  // Multitenant management (include)
  q("Multitenant management: POST, PUT, DELETE, PATCH | 200 requests per 20 seconds (tenant)", "multitenantManagement", "tenant", 200, ms(20, "second"), { methods: writes }),
  q("Multitenant management: POST, PUT, DELETE, PATCH | 100 requests per 20 seconds (app/tenant)", "multitenantManagement", "appTenant", 100, ms(20, "second"), { methods: writes }),
  q("Multitenant management: Any | 2000 requests per 20 seconds (tenant)", "multitenantManagement", "tenant", 2_000, ms(20, "second"), { methods: [] }),
  q("Multitenant management: Any | 1000 requests per 20 seconds (app/tenant)", "multitenantManagement", "appTenant", 1_000, ms(20, "second"), { methods: [] }),

  // OneNote (no Retry-After)
  q("OneNote: Requests rate | 120 requests per 1 minute (per app per user, delegated)", "onenote", "appUser", 120, ms(1, "minute"), { auth: "delegated", retryAfter: false }),
  q("OneNote: Requests rate | 400 per 1 hour (per app per user, delegated)", "onenote", "appUser", 400, ms(1, "hour"), { auth: "delegated", retryAfter: false }),
  q("OneNote: Requests rate | 240 requests per 1 minute (per app, app-only)", "onenote", "app", 240, ms(1, "minute"), { auth: "appOnly", retryAfter: false }),
  q("OneNote: Requests rate | 800 per 1 hour (per app, app-only)", "onenote", "app", 800, ms(1, "hour"), { auth: "appOnly", retryAfter: false }),
  c("OneNote: Concurrent requests | Five concurrent requests (delegated)", "onenote", "appUser", 5, { auth: "delegated", retryAfter: false }),
  c("OneNote: Concurrent requests | 20 concurrent requests (app-only)", "onenote", "app", 20, { auth: "appOnly", retryAfter: false }),

  // Open and schema extensions
  q("Open and schema extensions: Any | 455 requests per 10 seconds", "extensions", "appTenant", 455, ms(10, "second")),

  // Outlook (per mailbox)
  q("Outlook: 10,000 API requests in a 10 minute period", "outlook", undefined, 10_000, ms(10, "minute"), { measure: "requests" }),
  c("Outlook: Four concurrent requests", "outlook", undefined, 4),
  q("Outlook: 150 megabytes (MB) upload (PATCH, POST, PUT) in a 5-minute period", "outlook", undefined, 150_000_000, ms(5, "minute"), { measure: "bytesUploaded", methods: ["PATCH", "POST", "PUT"] }),

  // Project Rome
  q("Project Rome: GET | 400 requests per 5 minutes", "projectRome", "user", 400, ms(5, "minute"), { methods: ["GET"] }),
  q("Project Rome: GET | 12,000 requests per one day", "projectRome", "user", 12_000, ms(1, "day"), { methods: ["GET"] }),
  q("Project Rome: POST, PUT, PATCH, DELETE | 100 requests per 5 minutes", "projectRome", "user", 100, ms(5, "minute"), { methods: writes }),
  q("Project Rome: POST, PUT, PATCH, DELETE | 8,000 requests per one day", "projectRome", "user", 8_000, ms(1, "day"), { methods: writes }),

  // Security detections and incidents
  q("Security: Any operation on alert, securityActions, secureScore | 150 requests per minute", "security", "appTenant", 150, ms(1, "minute")),
  q("Security: Any operation on tiIndicator | 1,000 requests per minute", "security", "appTenant", 1_000, ms(1, "minute")),
  q("Security: Any operation on secureScore or secureScorecontrolProfile | 10,000 API requests in a 10-minute period", "security", "appTenant", 10_000, ms(10, "minute")),
  c("Security: Any operation on secureScore or secureScorecontrolProfile | Four concurrent requests", "security", "appTenant", 4),

  // Security eDiscovery
  q("Security eDiscovery: Any | Five requests per minute", "eDiscovery", "appTenant", 5, ms(1, "minute")),

  // Service communications
  q("Service Communications: Any | 240 requests per 60 seconds", "serviceCommunications", "appTenant", 240, ms(60, "second")),
  q("Service Communications: Any | 800 requests per hour", "serviceCommunications", "appTenant", 800, ms(1, "hour")),

  // Subscriptions (include)
  q("Subscriptions: POST, PUT, DELETE, PATCH | 10000 requests per 20 seconds (per app for all tenants)", "subscriptions", "app", 10_000, ms(20, "second"), { methods: writes }),
  q("Subscriptions: POST, PUT, DELETE, PATCH | 5000 requests per 20 seconds (per tenant for all apps)", "subscriptions", "tenant", 5_000, ms(20, "second"), { methods: writes }),
  q("Subscriptions: POST, PUT, DELETE, PATCH | 2000 requests per 20 seconds (per app per tenant)", "subscriptions", "appTenant", 2_000, ms(20, "second"), { methods: writes }),
  q("Subscriptions: Any | 10000 requests per 20 seconds (per app for all tenants)", "subscriptions", "app", 10_000, ms(20, "second"), { methods: [] }),
  q("Subscriptions: Any | 5000 requests per 20 seconds (per tenant for all apps)", "subscriptions", "tenant", 5_000, ms(20, "second"), { methods: [] }),
  q("Subscriptions: Any | 2000 requests per 20 seconds (per app per tenant)", "subscriptions", "appTenant", 2_000, ms(20, "second"), { methods: [] }),

  // Tasks and plans
  { seed: "Tasks and plans: Service limits for Planner aren't available.", service: "planner", kind: "unpublished" },

  // Viva Engage
  q("Viva Engage: 10 requests per user, per app, within a 30-second time period", "vivaEngage", "appUser", 10, ms(30, "second"))
]

/**
 * The Teams table: [request type as printed, per app per tenant (rps), per app across all tenants
 * (rps), per app per tenant per resource (`1rps`, `4rpm` or none)].
 */
export const teamsTable: ReadonlyArray<readonly [string, number, number, "1rps" | "4rpm" | null]> = [
  ["GET team", 30, 600, null],
  ["GET channel", 30, 600, "1rps"],
  ["GET tab for channel, chat", 30, 600, "1rps"],
  ["GET installedApps for user, team", 30, 600, null],
  ["GET installedApps for chat", 30, 600, "1rps"],
  ["GET appCatalogs", 30, 600, null],
  ["POST channel", 30, 300, "1rps"],
  ["POST tab for channel or chat", 30, 300, "1rps"],
  ["POST installedApps for chat, user, team", 30, 300, null],
  ["POST appCatalogs", 30, 300, null],
  ["PATCH team, tab", 30, 300, null],
  ["PATCH channel", 30, 300, "1rps"],
  ["DELETE channel", 15, 150, "1rps"],
  ["DELETE tab for chat, channel", 15, 150, "1rps"],
  ["DELETE installedApps for chat, user, team", 15, 150, null],
  ["DELETE appCatalogs", 15, 150, null],
  ["GET /teams/{team-id}, joinedTeams", 30, 300, null],
  ["POST /teams", 10, 100, null],
  ["PUT /groups/{team-id}/team", 6, 150, null],
  ["POST /{team-id}/ clone", 6, 150, null],
  ["GET channel message", 20, 200, "1rps"],
  ["GET 1:1/group chat message", 20, 200, "1rps"],
  ["POST channel message", 50, 500, "1rps"],
  ["POST chat member", 30, 300, "4rpm"],
  ["Delete chat member", 30, 300, "4rpm"],
  ["POST 1:1/group chat message", 20, 200, "1rps"],
  ["GET /teams/{team-id}/schedule and all APIs under this path", 30, 600, null],
  ["POST /teams/{team-id}/schedule and all APIs under this path", 30, 300, null],
  ["PUT /teams/{team-id}/schedule and all APIs under this path", 30, 300, null],
  ["POST /teams/{team-id}/sendActivityNotification", 5, 50, null],
  ["POST /chats/{chat-id}/sendActivityNotification", 5, 50, "1rps"],
  ["POST /users/{user-id}/teamwork/sendActivityNotification", 5, 50, null],
  ["POST /teamwork/sendActivityNotificationToRecipients", 2, 20, null],
  ["GET /teams/{team-id}/members", 60, 1200, null],
  ["POST /teams/{team-id}/members", 30, 300, "4rpm"],
  ["GET /teams/{team-id}/channels", 60, 1200, "1rps"],
  ["GET /teams/{team-id}/channels/{channel-id}/members", 60, 1200, "1rps"],
  ["Get all channel messages for a team GET teams/{team-id}/channels/getAllMessages GET teams/{team-id}/channels/allMessages", 200, 1000, null],
  ["Get all chat messages for a user GET users/{user-id}/chats/getAllMessages GET users/{user-id}/chats/allMessages", 200, 1000, null],
  ["Other GET API calls for Microsoft Teams", 30, 1500, "1rps"],
  ["Other API calls for Microsoft Teams", 30, 300, "1rps"]
]

/** The 28 Intune includes of the seed, in seed order. Only "Intune devices" has doubled figures. */
export const intuneIncludes: ReadonlyArray<string> = [
  "Intune tunnel",
  "Intune android for work",
  "Intune applications",
  "Intune auditing",
  "Intune books",
  "Intune bundles",
  "Intune chromebook sync",
  "Intune company terms",
  "Intune device config v2",
  "Intune device configuration",
  "Intune device enrollment",
  "Intune device intent",
  "Intune devices",
  "Intune endpoint protection",
  "Intune enrollment",
  "Intune GPAnalytics",
  "Intune managed applications",
  "Intune notifications",
  "Intune ODJ",
  "Intune partner integration",
  "Intune rbac",
  "Intune remote assistance",
  "Intune telephony",
  "Intune TEM",
  "Intune troubleshooting",
  "Intune unlock",
  "Intune updates",
  "Intune wip"
]
