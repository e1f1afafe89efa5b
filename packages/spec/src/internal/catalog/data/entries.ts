/**
 * Every limit of the throttling-limits page (seed `ms.date 06/19/2024`) as a catalogue entry.
 *
 * Each entry quotes the row or sentence it encodes in `source`. Where the page leaves something
 * open (the scope, which paths), the entry's `note` says what was chosen and why.
 *
 * @internal
 */
import { concurrent, entry, type EntryData, per, rate, tokenBucket, unpublished, writeMethods } from "../build.js"
import {
  assignmentPaths,
  filesPaths,
  identityPaths,
  identityProtectionPaths,
  identityProviderPaths,
  identityReportPaths,
  onenotePaths,
  outlookMailboxPaths,
  plannerPaths,
  pstnPattern,
  vivaEngagePaths
} from "./services.js"
import { intuneEntries } from "./intune.js"
import { teamsEntries } from "./teams.js"

const quote = (section: string, text: string): string => `${section}: "${text}"`

const S = {
  global: "Global limits (Microsoft Graph service-specific throttling limits)",
  assignment: "Assignment service limits",
  bookings: "Bookings service limits",
  cloud: "Cloud communication service limits",
  callRecords: "Call records limits",
  pstn: "PSTN call records limits",
  excel: "Excel service limits [include: Excel throttling documentation]",
  education: "Education service limits [include: Education rostering APIS throttling documentation]",
  files: "Files and lists service limits",
  identityReports: "Identity and access reports service limits",
  identity: "Identity and access service limits",
  dataPolicy: "Identity and access data policy operation service limits",
  identityProtection: "Identity protection and conditional access service limits",
  identityProviders: "Identity providers service limits [include: CPIM throttling documentation]",
  informationProtection: "Information protection service limits",
  insights: "Insights service limits",
  invitations: "Invitation manager service limits",
  reports: "Microsoft 365 reports service limits",
  multitenant: "Multitenant management service limits [include: Multi tenant platform throttling documentation]",
  onenote: "OneNote service limits",
  extensions: "Open and schema extensions service limits",
  outlook: "Outlook service limits",
  projectRome: "Project Rome service limits",
  security: "Security detections and incidents service limits",
  eDiscovery: "Security eDiscovery service limits",
  serviceCommunications: "Service Communications service limits",
  subscriptions: "Subscription service limits [include: Subscription services throttling documentation]",
  planner: "Tasks and plans service limits",
  vivaEngage: "Viva Engage service limits"
} as const

const global: ReadonlyArray<EntryData> = [
  entry({
    id: "global.app",
    service: "global",
    group: "global",
    row: "Any",
    paths: ["**"],
    limit: rate("app", 130_000, per(10, "second")),
    source: quote(S.global, "Any | 130,000 requests per 10 seconds") + " (column: Per app across all tenants)"
  })
]

const assignment: ReadonlyArray<EntryData> = [
  entry({
    id: "assignment.any.appTenant.10s",
    service: "assignment",
    group: "assignment",
    row: "Any",
    paths: assignmentPaths,
    limit: rate("appTenant", 500, per(10, "second")),
    source: quote(S.assignment, "Any | 500 requests per 10 seconds | 1,000 requests per 10 seconds") +
      " (column: Limit per app per tenant)"
  }),
  entry({
    id: "assignment.any.tenant.10s",
    service: "assignment",
    group: "assignment",
    row: "Any",
    paths: assignmentPaths,
    limit: rate("tenant", 1_000, per(10, "second")),
    source: quote(S.assignment, "Any | 500 requests per 10 seconds | 1,000 requests per 10 seconds") +
      " (column: Limit per tenant for all apps)"
  }),
  entry({
    id: "assignment.any.appTenant.hour",
    service: "assignment",
    group: "assignment",
    row: "Any",
    paths: assignmentPaths,
    limit: rate("appTenant", 15_000, per(3_600, "second")),
    source: quote(S.assignment, "Any | 15,000 requests per 3,600 seconds | 30,000 requests per 3,600 seconds") +
      " (column: Limit per app per tenant)"
  }),
  entry({
    id: "assignment.any.tenant.hour",
    service: "assignment",
    group: "assignment",
    row: "Any",
    paths: assignmentPaths,
    limit: rate("tenant", 30_000, per(3_600, "second")),
    source: quote(S.assignment, "Any | 15,000 requests per 3,600 seconds | 30,000 requests per 3,600 seconds") +
      " (column: Limit per tenant for all apps)"
  }),
  entry({
    id: "assignment.meAssignment.appTenant",
    service: "assignment",
    group: "assignment",
    row: "GET me/Assignment",
    methods: ["GET"],
    paths: ["me/assignment/**", "education/me/assignments/**"],
    limit: rate("appTenant", 50, per(10, "second")),
    source: quote(S.assignment, "GET me/Assignment | 50 requests per 10 seconds | 150 requests per 10 seconds") +
      " (column: Limit per app per tenant)",
    note: "`me/Assignment` is taken to mean the signed-in user's assignments: the literal path and `education/me/assignments`."
  }),
  entry({
    id: "assignment.meAssignment.tenant",
    service: "assignment",
    group: "assignment",
    row: "GET me/Assignment",
    methods: ["GET"],
    paths: ["me/assignment/**", "education/me/assignments/**"],
    limit: rate("tenant", 150, per(10, "second")),
    source: quote(S.assignment, "GET me/Assignment | 50 requests per 10 seconds | 150 requests per 10 seconds") +
      " (column: Limit per tenant for all apps)",
    note: "`me/Assignment` is taken to mean the signed-in user's assignments: the literal path and `education/me/assignments`."
  })
]

const bookingPaths = ["solutions/bookingBusinesses/{mailbox}/**", "bookingBusinesses/{mailbox}/**"] as const

const bookings: ReadonlyArray<EntryData> = [
  entry({
    id: "bookings.appMailbox.concurrent",
    service: "bookings",
    group: "bookings",
    row: "Four concurrent requests",
    paths: bookingPaths,
    limit: concurrent("appMailbox", 4),
    source: quote(
      S.bookings,
      "The Bookings service applies limits to each app ID and mailbox combination ... Four concurrent requests | v1.0 and beta endpoints"
    )
  })
]

const meetingPaths = [
  "users/{user}/onlineMeetings",
  "users/{user}/onlineMeetings/createOrGet",
  "communications/onlineMeetings",
  "communications/onlineMeetings/createOrGet"
] as const

const cloudCommunications: ReadonlyArray<EntryData> = [
  entry({
    id: "cloudCommunications.calls.appTenant",
    service: "cloudCommunications",
    group: "cloudCommunications",
    row: "Calls",
    paths: ["communications/calls/**"],
    limit: rate("appTenant", 50_000, per(15, "second")),
    source: quote(S.cloud, "Calls | 50,000 requests in a 15-second period, per application per tenant")
  }),
  entry({
    id: "cloudCommunications.meetings.appUser",
    service: "cloudCommunications",
    group: "cloudCommunications",
    row: "Meeting information",
    methods: ["POST"],
    paths: meetingPaths,
    limit: rate("appUser", 2_000, per(1, "month"), { key: ["app", "user"], measure: "meetings" }),
    source: quote(S.cloud, "Meeting information | 2,000 meetings/user each month") + " (column: Limits per app)",
    note:
      "Counts meeting creations (POST to the online meeting paths) per app and organiser. In app-only context without a user in the path, the app stands in for the user. A month is kept as a sliding 31-day window."
  }),
  entry({
    id: "cloudCommunications.presence.appTenant",
    service: "cloudCommunications",
    group: "cloudCommunications",
    row: "Presence",
    paths: ["users/{user}/presence/**", "communications/presences/**", "communications/getPresencesByUserId/**"],
    limit: rate("appTenant", 1_500, per(30, "second")),
    source: quote(S.cloud, "Presence | 1,500 requests in a 30-second period, per application per tenant")
  }),
  entry({
    id: "cloudCommunications.virtualEvent.app",
    service: "cloudCommunications",
    group: "cloudCommunications",
    row: "Virtual event",
    paths: ["solutions/virtualEvents/**"],
    limit: rate("app", 10_000, per(1, "month")),
    source: quote(S.cloud, "Virtual event | 10,000 requests/app each month"),
    note: "A month is kept as a sliding 31-day window, which is never looser than a calendar month."
  })
]

const callRecordPaths = ["communications/callRecords", "communications/callRecords/{callRecord}/**"] as const
const oneCallRecord = ["communications/callRecords/{callRecord}/**"] as const
const firstPage = [{ _tag: "Lacks" as const, param: "$skiptoken" }]
const laterPage = [{ _tag: "Has" as const, param: "$skiptoken" }]

const callRecords: ReadonlyArray<EntryData> = [
  entry({
    id: "callRecords.app",
    service: "callRecords",
    group: "callRecords",
    row: "Per application for all tenants",
    paths: callRecordPaths,
    limit: rate("app", 15_000, per(20, "second")),
    source: quote(S.callRecords, "Per application for all tenants | 15,000 requests per 20 seconds")
  }),
  entry({
    id: "callRecords.tenant",
    service: "callRecords",
    group: "callRecords",
    row: "Per tenant for all applications",
    paths: callRecordPaths,
    limit: rate("tenant", 10_000, per(20, "second")),
    source: quote(S.callRecords, "Per tenant for all applications | 10,000 requests per 20 seconds")
  }),
  entry({
    id: "callRecords.appTenant",
    service: "callRecords",
    group: "callRecords",
    row: "Per application per tenant",
    paths: callRecordPaths,
    limit: rate("appTenant", 1_500, per(20, "second")),
    source: quote(S.callRecords, "Per application per tenant | 1,500 requests per 20 seconds")
  }),
  entry({
    id: "callRecords.record.firstPage",
    service: "callRecords",
    group: "callRecords",
    row: "Per call record (first page)",
    paths: oneCallRecord,
    query: firstPage,
    limit: rate("callRecord", 10, per(20, "second")),
    source: quote(
      S.callRecords,
      "Per call record | 10 requests per 20 seconds (first page) 50 requests per 5 minutes (subsequent pages)"
    ),
    note: "A request without `$skiptoken` is a first page."
  }),
  entry({
    id: "callRecords.record.laterPages",
    service: "callRecords",
    group: "callRecords",
    row: "Per call record (subsequent pages)",
    paths: oneCallRecord,
    query: laterPage,
    limit: rate("callRecord", 50, per(5, "minute")),
    source: quote(
      S.callRecords,
      "Per call record | 10 requests per 20 seconds (first page) 50 requests per 5 minutes (subsequent pages)"
    ),
    note: "A request with `$skiptoken` (a followed `@odata.nextLink`) is a subsequent page."
  }),
  entry({
    id: "callRecords.list.firstPage",
    service: "callRecords",
    group: "callRecords",
    row: "List call records (first page)",
    methods: ["GET"],
    paths: ["communications/callRecords"],
    query: firstPage,
    limit: rate("tenant", 15, per(20, "second")),
    source: quote(
      S.callRecords,
      "List call records | 15 requests per 20 seconds (first page) 55 requests per 5 minutes (subsequent pages)"
    ),
    note: "The page does not state a scope for listing; it is kept per tenant, the widest plausible one."
  }),
  entry({
    id: "callRecords.list.laterPages",
    service: "callRecords",
    group: "callRecords",
    row: "List call records (subsequent pages)",
    methods: ["GET"],
    paths: ["communications/callRecords"],
    query: laterPage,
    limit: rate("tenant", 55, per(5, "minute")),
    source: quote(
      S.callRecords,
      "List call records | 15 requests per 20 seconds (first page) 55 requests per 5 minutes (subsequent pages)"
    ),
    note: "The page does not state a scope for listing; it is kept per tenant, the widest plausible one."
  })
]

const pstnCallRecords: ReadonlyArray<EntryData> = [
  entry({
    id: "pstnCallRecords.tenant",
    service: "pstnCallRecords",
    group: "pstnCallRecords",
    row: "Per tenant",
    paths: [pstnPattern],
    limit: rate("tenant", 1_000, per(60, "second")),
    source: quote(S.pstn, "Per tenant | 1,000 requests per 60 seconds")
  }),
  entry({
    id: "pstnCallRecords.appTenant",
    service: "pstnCallRecords",
    group: "pstnCallRecords",
    row: "Per application per tenant",
    paths: [pstnPattern],
    limit: rate("appTenant", 200, per(60, "second")),
    source: quote(S.pstn, "Per application per tenant | 200 requests per 60 seconds")
  }),
  entry({
    id: "pstnCallRecords.collection",
    service: "pstnCallRecords",
    group: "pstnCallRecords",
    row: "Per collection",
    paths: [pstnPattern],
    limit: rate("resource", 50, per(60, "second"), { key: ["tenant", "collection"] }),
    source: quote(S.pstn, "Per collection | 50 requests per 60 seconds"),
    note: "Each PSTN function (getPstnCalls, getDirectRoutingCalls, ...) is one collection, counted per tenant."
  })
]

const workbook = ["**/workbook/**"] as const

const excel: ReadonlyArray<EntryData> = [
  entry({
    id: "excel.app",
    service: "excel",
    group: "excel",
    row: "Any",
    paths: workbook,
    limit: rate("app", 5_000, per(10, "second")),
    source: quote(S.excel, "Any | 5000 requests per 10 seconds | 1500 requests per 10 seconds") +
      " (column: Limit per app for all tenants; include restored in the annotated reference)"
  }),
  entry({
    id: "excel.appTenant",
    service: "excel",
    group: "excel",
    row: "Any",
    paths: workbook,
    limit: rate("appTenant", 1_500, per(10, "second")),
    source: quote(S.excel, "Any | 5000 requests per 10 seconds | 1500 requests per 10 seconds") +
      " (column: Limit per app per tenant; include restored in the annotated reference)"
  })
]

const educationPaths = ["education/**"] as const

const education: ReadonlyArray<EntryData> = [
  entry({
    id: "education.app",
    service: "education",
    group: "education",
    row: "Any",
    paths: educationPaths,
    except: assignmentPaths,
    limit: rate("app", 400_000, per(20, "second")),
    source: quote(S.education, "Any | 400000 requests per 20 seconds | 35000 requests per 10 seconds") +
      " (column: Limit per app for all tenants; include restored in the annotated reference)"
  }),
  entry({
    id: "education.appTenant",
    service: "education",
    group: "education",
    row: "Any",
    paths: educationPaths,
    except: assignmentPaths,
    limit: rate("appTenant", 35_000, per(10, "second")),
    source: quote(S.education, "Any | 400000 requests per 20 seconds | 35000 requests per 10 seconds") +
      " (column: Limit per app per tenant; include restored in the annotated reference)"
  })
]

const filesAndLists: ReadonlyArray<EntryData> = [
  entry({
    id: "filesAndLists.sharePoint",
    service: "filesAndLists",
    group: "filesAndLists",
    row: "(no figures)",
    paths: filesPaths,
    except: ["sites/{site}/onenote/**"],
    limit: unpublished(
      "The page defers to SharePoint Online's own throttling guidance and publishes no figures for Graph."
    ),
    source: quote(
      S.files,
      "For service limits for OneDrive, OneDrive for Business, and SharePoint Online, see Avoid getting throttled or blocked in SharePoint Online."
    ),
    note: "No client-side budget. Requests rely on the 429 and its Retry-After."
  })
]

const identityReports: ReadonlyArray<EntryData> = [
  entry({
    id: "identityReports.appTenant",
    service: "identityReports",
    group: "identityReports",
    row: "Any",
    paths: identityReportPaths,
    limit: rate("appTenant", 5, per(10, "second")),
    source: quote(S.identityReports, "Any | Five requests per 10 seconds") + " (column: Limit per app per tenant)"
  })
]

const identityRuSource = quote(
  S.identity,
  "application+tenant pair | S: 3,500 ResourceUnits per 10 seconds M: 5,000 ResourceUnits per 10 seconds L: 8,000 ResourceUnits per 10 seconds | 3,000 requests per 2 minutes and 30 seconds"
)
const resourceUnits = { measure: "resourceUnits", cost: "identityResourceUnits" } as const
const writeQuota = { measure: "writeRequests", cost: "identityWriteCost" } as const

const identityAccess: ReadonlyArray<EntryData> = [
  ...(["S", "M", "L"] as const).map((size) =>
    entry({
      id: `identityAccess.appTenant.resourceUnits.${size}`,
      service: "identityAccess",
      group: "identityAccess",
      row: `application+tenant pair, resource unit quota (tenant size ${size})`,
      paths: identityPaths,
      except: identityProviderPaths,
      when: { tenantSize: size },
      limit: tokenBucket("appTenant", { S: 3_500, M: 5_000, L: 8_000 }[size], per(10, "second"), resourceUnits),
      source: identityRuSource,
      note: "Token bucket: the cost of each request comes from the cost table (CostCalculator)."
    })
  ),
  entry({
    id: "identityAccess.appTenant.writes",
    service: "identityAccess",
    group: "identityAccess",
    row: "application+tenant pair, write quota",
    methods: writeMethods,
    paths: identityPaths,
    except: identityProviderPaths,
    limit: tokenBucket("appTenant", 3_000, per(150, "second"), writeQuota),
    source: identityRuSource,
    note: "2 minutes and 30 seconds = 150 seconds. Each write costs the table's write cost."
  }),
  entry({
    id: "identityAccess.app.resourceUnits",
    service: "identityAccess",
    group: "identityAccess",
    row: "application, resource unit quota",
    paths: identityPaths,
    except: identityProviderPaths,
    limit: tokenBucket("app", 150_000, per(20, "second"), resourceUnits),
    source: quote(S.identity, "application | 150,000 ResourceUnits per 20 seconds | 35,000 requests per 5 minutes")
  }),
  entry({
    id: "identityAccess.app.writes",
    service: "identityAccess",
    group: "identityAccess",
    row: "application, write quota",
    methods: writeMethods,
    paths: identityPaths,
    except: identityProviderPaths,
    limit: tokenBucket("app", 35_000, per(5, "minute"), writeQuota),
    source: quote(S.identity, "application | 150,000 ResourceUnits per 20 seconds | 35,000 requests per 5 minutes")
  }),
  entry({
    id: "identityAccess.tenant.writes",
    service: "identityAccess",
    group: "identityAccess",
    row: "tenant, write quota",
    methods: writeMethods,
    paths: identityPaths,
    except: identityProviderPaths,
    limit: tokenBucket("tenant", 18_000, per(5, "minute"), writeQuota),
    source: quote(S.identity, "tenant | Not Applicable | 18,000 requests per 5 minutes")
  }),
  entry({
    id: "identityAccess.applications.writes.organizations",
    service: "identityAccess",
    group: "identityAccess",
    row: "POST, PATCH, DELETE on applications (signInAudience AzureADMyOrg or AzureADMultipleOrgs)",
    methods: ["POST", "PATCH", "DELETE"],
    paths: ["applications", "applications/**"],
    when: { signInAudience: ["AzureADMyOrg", "AzureADMultipleOrgs"] },
    limit: tokenBucket("app", 70_000, per(5, "minute"), { measure: "writeRequests" }),
    source: quote(
      S.identity,
      "For apps where the signInAudience is AzureADMyOrg or AzureADMultipleOrgs, the cost is 70,000 requests per 5 minutes"
    ),
    note:
      "The scope is not stated; it is kept per application, like the application write quota it resembles. When the context does not give the signInAudience, both audience entries apply, so the stricter one governs."
  }),
  entry({
    id: "identityAccess.applications.writes.personalAccounts",
    service: "identityAccess",
    group: "identityAccess",
    row: "POST, PATCH, DELETE on applications (signInAudience AzureADandPersonalMicrosoftAccount or PersonalMicrosoftAccount)",
    methods: ["POST", "PATCH", "DELETE"],
    paths: ["applications", "applications/**"],
    when: { signInAudience: ["AzureADandPersonalMicrosoftAccount", "PersonalMicrosoftAccount"] },
    limit: tokenBucket("app", 60, per(1, "minute"), { measure: "writeRequests" }),
    source: quote(
      S.identity,
      "for apps where the signInAudience is AzureADandPersonalMicrosoftAccount or PersonalMicrosoftAccount, the cost is 60 requests per minute"
    ),
    note:
      "The scope is not stated; it is kept per application. When the context does not give the signInAudience, both audience entries apply, so the stricter one governs."
  })
]

const exportPaths = ["users/{subject}/exportPersonalData"] as const

const dataPolicy: ReadonlyArray<EntryData> = [
  entry({
    id: "dataPolicy.exportPersonalData.tenant",
    service: "dataPolicy",
    group: "dataPolicy",
    row: "POST on exportPersonalData",
    methods: ["POST"],
    paths: exportPaths,
    limit: rate("tenant", 1_000, per(1, "day")),
    retryAfter: false,
    source: quote(
      S.dataPolicy,
      "POST on exportPersonalData | 1,000 requests per day for any subject and 100 per subject per day"
    )
  }),
  entry({
    id: "dataPolicy.exportPersonalData.subject",
    service: "dataPolicy",
    group: "dataPolicy",
    row: "POST on exportPersonalData (per subject)",
    methods: ["POST"],
    paths: exportPaths,
    limit: rate("subject", 100, per(1, "day")),
    retryAfter: false,
    source: quote(
      S.dataPolicy,
      "POST on exportPersonalData | 1,000 requests per day for any subject and 100 per subject per day"
    ),
    note: "The subject is the user whose data is exported (the `users/{id}` of the path)."
  }),
  entry({
    id: "dataPolicy.other.tenant",
    service: "dataPolicy",
    group: "dataPolicy",
    row: "Any other request",
    paths: ["users/{subject}/exportPersonalData", "dataPolicyOperations/**"],
    fallback: true,
    limit: rate("tenant", 10_000, per(1, "hour")),
    retryAfter: false,
    source: quote(S.dataPolicy, "Any other request | 10,000 requests per hour")
  })
]

const identityProtection: ReadonlyArray<EntryData> = [
  entry({
    id: "identityProtection.tenant",
    service: "identityProtection",
    group: "identityProtection",
    row: "Any",
    paths: identityProtectionPaths,
    limit: rate("tenant", 1, per(1, "second")),
    retryAfter: false,
    source: quote(S.identityProtection, "Any | One request per second") + " (column: Limit per tenant for all apps)"
  })
]

const identityProviders: ReadonlyArray<EntryData> = [
  entry({
    id: "identityProviders.tenant",
    service: "identityProviders",
    group: "identityProviders",
    row: "Any",
    paths: identityProviderPaths,
    limit: rate("tenant", 300, per(1, "minute")),
    source: quote(S.identityProviders, "Any | 300 requests per 1 minute | 200 requests per 1 minute") +
      " (column: Limit per tenant for all apps; include restored in the annotated reference)"
  }),
  entry({
    id: "identityProviders.appTenant",
    service: "identityProviders",
    group: "identityProviders",
    row: "Any",
    paths: identityProviderPaths,
    limit: rate("appTenant", 200, per(1, "minute")),
    source: quote(S.identityProviders, "Any | 300 requests per 1 minute | 200 requests per 1 minute") +
      " (column: Limit per app per tenant; include restored in the annotated reference)"
  })
]

const informationProtectionRow =
  "POST | 150 requests per 15 minutes and 10,000 requests per 24 hours | One request per 15 minutes and 3 requests per 24 hours"

const informationProtection: ReadonlyArray<EntryData> = [
  entry({
    id: "informationProtection.tenant.15min",
    service: "informationProtection",
    group: "informationProtection",
    row: "POST (per tenant)",
    methods: ["POST"],
    paths: ["informationProtection/**"],
    limit: rate("tenant", 150, per(15, "minute")),
    source: quote(S.informationProtection, informationProtectionRow)
  }),
  entry({
    id: "informationProtection.tenant.day",
    service: "informationProtection",
    group: "informationProtection",
    row: "POST (per tenant)",
    methods: ["POST"],
    paths: ["informationProtection/**"],
    limit: rate("tenant", 10_000, per(24, "hour")),
    source: quote(S.informationProtection, informationProtectionRow)
  }),
  entry({
    id: "informationProtection.resource.15min",
    service: "informationProtection",
    group: "informationProtection",
    row: "POST (per resource: email, URL, file)",
    methods: ["POST"],
    paths: ["informationProtection/**"],
    limit: rate("resource", 1, per(15, "minute")),
    source: quote(S.informationProtection, informationProtectionRow),
    note:
      "The resource is read from the request body: for email the network message id and recipient pair, else the URL, else the file content."
  }),
  entry({
    id: "informationProtection.resource.day",
    service: "informationProtection",
    group: "informationProtection",
    row: "POST (per resource: email, URL, file)",
    methods: ["POST"],
    paths: ["informationProtection/**"],
    limit: rate("resource", 3, per(24, "hour")),
    source: quote(S.informationProtection, informationProtectionRow),
    note:
      "The resource is read from the request body: for email the network message id and recipient pair, else the URL, else the file content."
  })
]

const insightsNote =
  "The page does not state the scope. It is kept per addressed user, because these are the Outlook figures and Outlook counts per mailbox. Lower the figure if the service counts more widely."

const insights: ReadonlyArray<EntryData> = [
  entry({
    id: "insights.requests",
    service: "insights",
    group: "insights",
    row: "10,000 API requests in a 10-minute period",
    paths: ["users/{user}/insights/**"],
    limit: rate("user", 10_000, per(10, "minute")),
    source: quote(S.insights, "10,000 API requests in a 10-minute period | v1.0 and beta endpoints"),
    note: insightsNote
  }),
  entry({
    id: "insights.concurrent",
    service: "insights",
    group: "insights",
    row: "Four concurrent requests",
    paths: ["users/{user}/insights/**"],
    limit: concurrent("user", 4),
    source: quote(S.insights, "Four concurrent requests | v1.0 and beta endpoints"),
    note: insightsNote
  })
]

const invitations: ReadonlyArray<EntryData> = [
  entry({
    id: "invitations.tenant",
    service: "invitations",
    group: "invitations",
    row: "Any operation",
    paths: ["invitations/**"],
    limit: rate("tenant", 150, per(5, "second")),
    source: quote(S.invitations, "Any operation | 150 requests per 5 seconds") + " (column: Limit per tenant for all apps)"
  })
]

const reportApi = ["reports/{reportApi:any}/**"] as const
const json = [{ _tag: "Equals" as const, param: "$format", value: "application/json" }]
const csv = [{ _tag: "NotEquals" as const, param: "$format", value: "application/json" }]
const reportsExcept = [identityReportPaths[1]]
const reportsNote = "Each report API has its own bucket: the limits apply individually to each report API."

const reports: ReadonlyArray<EntryData> = [
  entry({
    id: "reports.csv.appTenant",
    service: "reports",
    group: "reports",
    row: "Any request (CSV)",
    paths: reportApi,
    except: reportsExcept,
    query: csv,
    limit: rate("appTenant", 14, per(10, "minute"), { key: ["app", "tenant", "reportApi"] }),
    source: quote(S.reports, "Any request (CSV) | 14 requests per 10 minutes | 40 requests per 10 minutes") +
      " (column: Limit per app per tenant)",
    note: reportsNote
  }),
  entry({
    id: "reports.csv.tenant",
    service: "reports",
    group: "reports",
    row: "Any request (CSV)",
    paths: reportApi,
    except: reportsExcept,
    query: csv,
    limit: rate("tenant", 40, per(10, "minute"), { key: ["tenant", "reportApi"] }),
    source: quote(S.reports, "Any request (CSV) | 14 requests per 10 minutes | 40 requests per 10 minutes") +
      " (column: Limit per tenant for all apps)",
    note: reportsNote
  }),
  entry({
    id: "reports.json.appTenant",
    service: "reports",
    group: "reports",
    row: "Any request (JSON, beta)",
    paths: reportApi,
    except: reportsExcept,
    query: json,
    limit: rate("appTenant", 100, per(10, "minute"), { key: ["app", "tenant", "reportApi"] }),
    source: quote(S.reports, "Any request (JSON, beta) | 100 requests per 10 minutes | n/a") +
      " (column: Limit per app per tenant)",
    note: reportsNote + " A request is JSON when it carries `$format=application/json`."
  })
]

const multitenantManagement: ReadonlyArray<EntryData> = (() => {
  const paths = ["tenantRelationships/managedTenants/**"] as const
  const writes = "POST, PUT, DELETE, PATCH | 200 requests per 20 seconds | 100 requests per 20 seconds"
  const any = "Any | 2000 requests per 20 seconds | 1000 requests per 20 seconds"
  const restored = "; include restored in the annotated reference)"
  return [
    entry({
      id: "multitenantManagement.writes.tenant",
      service: "multitenantManagement",
      group: "multitenantManagement",
      row: "POST, PUT, DELETE, PATCH",
      methods: writeMethods,
      paths,
      limit: rate("tenant", 200, per(20, "second"), { measure: "writeRequests" }),
      source: quote(S.multitenant, writes) + " (column: Limit per tenant for all apps" + restored
    }),
    entry({
      id: "multitenantManagement.writes.appTenant",
      service: "multitenantManagement",
      group: "multitenantManagement",
      row: "POST, PUT, DELETE, PATCH",
      methods: writeMethods,
      paths,
      limit: rate("appTenant", 100, per(20, "second"), { measure: "writeRequests" }),
      source: quote(S.multitenant, writes) + " (column: Limit per app per tenant" + restored
    }),
    entry({
      id: "multitenantManagement.any.tenant",
      service: "multitenantManagement",
      group: "multitenantManagement",
      row: "Any",
      paths,
      limit: rate("tenant", 2_000, per(20, "second")),
      source: quote(S.multitenant, any) + " (column: Limit per tenant for all apps" + restored
    }),
    entry({
      id: "multitenantManagement.any.appTenant",
      service: "multitenantManagement",
      group: "multitenantManagement",
      row: "Any",
      paths,
      limit: rate("appTenant", 1_000, per(20, "second")),
      source: quote(S.multitenant, any) + " (column: Limit per app per tenant" + restored
    })
  ]
})()

const onenoteRate =
  "Requests rate | 120 requests per 1 minute and 400 per 1 hour | 240 requests per 1 minute and 800 per 1 hour"
const onenoteConcurrent = "Concurrent requests | Five concurrent requests | 20 concurrent requests"

const onenote: ReadonlyArray<EntryData> = [
  entry({
    id: "onenote.delegated.minute",
    service: "onenote",
    group: "onenote",
    row: "Requests rate (delegated)",
    paths: onenotePaths,
    when: { auth: "delegated" },
    limit: rate("appUser", 120, per(1, "minute")),
    retryAfter: false,
    source: quote(S.onenote, onenoteRate) + " (column: Limit per app per user (delegated context))"
  }),
  entry({
    id: "onenote.delegated.hour",
    service: "onenote",
    group: "onenote",
    row: "Requests rate (delegated)",
    paths: onenotePaths,
    when: { auth: "delegated" },
    limit: rate("appUser", 400, per(1, "hour")),
    retryAfter: false,
    source: quote(S.onenote, onenoteRate) + " (column: Limit per app per user (delegated context))"
  }),
  entry({
    id: "onenote.delegated.concurrent",
    service: "onenote",
    group: "onenote",
    row: "Concurrent requests (delegated)",
    paths: onenotePaths,
    when: { auth: "delegated" },
    limit: concurrent("appUser", 5),
    retryAfter: false,
    source: quote(S.onenote, onenoteConcurrent) + " (column: Limit per app per user (delegated context))"
  }),
  entry({
    id: "onenote.appOnly.minute",
    service: "onenote",
    group: "onenote",
    row: "Requests rate (app-only)",
    paths: onenotePaths,
    when: { auth: "appOnly" },
    limit: rate("app", 240, per(1, "minute")),
    retryAfter: false,
    source: quote(S.onenote, onenoteRate) + " (column: Limit per app (app-only context))"
  }),
  entry({
    id: "onenote.appOnly.hour",
    service: "onenote",
    group: "onenote",
    row: "Requests rate (app-only)",
    paths: onenotePaths,
    when: { auth: "appOnly" },
    limit: rate("app", 800, per(1, "hour")),
    retryAfter: false,
    source: quote(S.onenote, onenoteRate) + " (column: Limit per app (app-only context))"
  }),
  entry({
    id: "onenote.appOnly.concurrent",
    service: "onenote",
    group: "onenote",
    row: "Concurrent requests (app-only)",
    paths: onenotePaths,
    when: { auth: "appOnly" },
    limit: concurrent("app", 20),
    retryAfter: false,
    source: quote(S.onenote, onenoteConcurrent) + " (column: Limit per app (app-only context))"
  })
]

const extensions: ReadonlyArray<EntryData> = [
  entry({
    id: "extensions.appTenant",
    service: "extensions",
    group: "extensions",
    row: "Any",
    paths: ["**/extensions/**", "schemaExtensions/**"],
    limit: rate("appTenant", 455, per(10, "second")),
    source: quote(S.extensions, "Any | 455 requests per 10 seconds") + " (column: Limit per app per tenant)",
    note: "Applied to extension operations only; see the service's paths note."
  })
]

const outlookNote =
  "Per mailbox regardless of the app, as the seed says (earlier and later versions of the page say per app ID and mailbox). The mailbox is the addressed user or group."

const outlook: ReadonlyArray<EntryData> = [
  entry({
    id: "outlook.mailbox.requests",
    service: "outlook",
    group: "outlook",
    row: "10,000 API requests in a 10 minute period",
    paths: outlookMailboxPaths,
    limit: rate("mailbox", 10_000, per(10, "minute")),
    source: quote(S.outlook, "10,000 API requests in a 10 minute period | v1.0 and beta endpoints"),
    note: outlookNote
  }),
  entry({
    id: "outlook.mailbox.concurrent",
    service: "outlook",
    group: "outlook",
    row: "Four concurrent requests",
    paths: outlookMailboxPaths,
    limit: concurrent("mailbox", 4),
    source: quote(S.outlook, "Four concurrent requests | v1.0 and beta endpoints"),
    note: outlookNote
  }),
  entry({
    id: "outlook.mailbox.upload",
    service: "outlook",
    group: "outlook",
    row: "150 megabytes (MB) upload (PATCH, POST, PUT) in a 5-minute period",
    methods: ["PATCH", "POST", "PUT"],
    paths: outlookMailboxPaths,
    limit: rate("mailbox", 150_000_000, per(5, "minute"), {
      measure: "bytesUploaded",
      cost: "bodyBytes"
    }),
    source: quote(S.outlook, "150 megabytes (MB) upload (PATCH, POST, PUT) in a 5-minute period | v1.0 and beta endpoints"),
    note: outlookNote + " A megabyte is taken as 1,000,000 bytes, the smaller reading. Each request costs its body size."
  })
]

const romePaths = ["users/{user}/activities/**"] as const
const romeReads = "GET | 400 requests per 5 minutes and 12,000 requests per one day"
const romeWrites = "POST, PUT, PATCH, DELETE | 100 requests per 5 minutes and 8,000 requests per one day"

const projectRome: ReadonlyArray<EntryData> = [
  entry({
    id: "projectRome.reads.5min",
    service: "projectRome",
    group: "projectRome",
    row: "GET",
    methods: ["GET"],
    paths: romePaths,
    limit: rate("user", 400, per(5, "minute")),
    source: quote(S.projectRome, romeReads) + " (column: Limit per user for all apps)"
  }),
  entry({
    id: "projectRome.reads.day",
    service: "projectRome",
    group: "projectRome",
    row: "GET",
    methods: ["GET"],
    paths: romePaths,
    limit: rate("user", 12_000, per(1, "day")),
    source: quote(S.projectRome, romeReads) + " (column: Limit per user for all apps)"
  }),
  entry({
    id: "projectRome.writes.5min",
    service: "projectRome",
    group: "projectRome",
    row: "POST, PUT, PATCH, DELETE",
    methods: writeMethods,
    paths: romePaths,
    limit: rate("user", 100, per(5, "minute"), { measure: "writeRequests" }),
    source: quote(S.projectRome, romeWrites) + " (column: Limit per user for all apps)"
  }),
  entry({
    id: "projectRome.writes.day",
    service: "projectRome",
    group: "projectRome",
    row: "POST, PUT, PATCH, DELETE",
    methods: writeMethods,
    paths: romePaths,
    limit: rate("user", 8_000, per(1, "day"), { measure: "writeRequests" }),
    source: quote(S.projectRome, romeWrites) + " (column: Limit per user for all apps)"
  })
]

const secureScorePaths = ["security/secureScores/**", "security/secureScoreControlProfiles/**"] as const

const security: ReadonlyArray<EntryData> = [
  entry({
    id: "security.alerts.appTenant",
    service: "security",
    group: "security",
    row: "Any operation on alert, securityActions, secureScore",
    paths: ["security/alerts/**", "security/securityActions/**", "security/secureScores/**"],
    limit: rate("appTenant", 150, per(1, "minute")),
    source: quote(S.security, "Any operation on alert, securityActions, secureScore | 150 requests per minute")
  }),
  entry({
    id: "security.tiIndicators.appTenant",
    service: "security",
    group: "security",
    row: "Any operation on tiIndicator",
    paths: ["security/tiIndicators/**"],
    limit: rate("appTenant", 1_000, per(1, "minute")),
    source: quote(S.security, "Any operation on tiIndicator | 1,000 requests per minute")
  }),
  entry({
    id: "security.secureScore.requests",
    service: "security",
    group: "security",
    row: "Any operation on secureScore or secureScorecontrolProfile",
    paths: secureScorePaths,
    limit: rate("appTenant", 10_000, per(10, "minute")),
    source: quote(
      S.security,
      "Any operation on secureScore or secureScorecontrolProfile | 10,000 API requests in a 10-minute period"
    )
  }),
  entry({
    id: "security.secureScore.concurrent",
    service: "security",
    group: "security",
    row: "Any operation on secureScore or secureScorecontrolProfile",
    paths: secureScorePaths,
    limit: concurrent("appTenant", 4),
    source: quote(S.security, "Any operation on secureScore or secureScorecontrolProfile | Four concurrent requests")
  })
]

const eDiscovery: ReadonlyArray<EntryData> = [
  entry({
    id: "eDiscovery.appTenant",
    service: "eDiscovery",
    group: "eDiscovery",
    row: "Any",
    paths: ["security/eDiscoveryCases/**", "security/cases/eDiscoveryCases/**"],
    limit: rate("appTenant", 5, per(1, "minute")),
    source: quote(S.eDiscovery, "Any | Five requests per minute") + " (column: Limit per app per tenant)"
  })
]

const serviceCommunications: ReadonlyArray<EntryData> = [
  entry({
    id: "serviceCommunications.minute",
    service: "serviceCommunications",
    group: "serviceCommunications",
    row: "Any",
    paths: ["admin/serviceAnnouncement/**"],
    limit: rate("appTenant", 240, per(60, "second")),
    source: quote(S.serviceCommunications, "Any | 240 requests per 60 seconds") + " (column: Limit per app per tenant)"
  }),
  entry({
    id: "serviceCommunications.hour",
    service: "serviceCommunications",
    group: "serviceCommunications",
    row: "Any",
    paths: ["admin/serviceAnnouncement/**"],
    limit: rate("appTenant", 800, per(1, "hour")),
    source: quote(S.serviceCommunications, "Any | 800 requests per hour") + " (column: Limit per app per tenant)"
  })
]

const subscriptions: ReadonlyArray<EntryData> = (() => {
  const paths = ["subscriptions/**"] as const
  const writes = "POST, PUT, DELETE, PATCH | 10000 requests per 20 seconds | 5000 requests per 20 seconds | 2000 requests per 20 seconds"
  const any = "Any | 10000 requests per 20 seconds | 5000 requests per 20 seconds | 2000 requests per 20 seconds"
  const columns = {
    app: "Limit per app for all tenants",
    tenant: "Limit per tenant for all apps",
    appTenant: "Limit per app per tenant"
  } as const
  const figures = { app: 10_000, tenant: 5_000, appTenant: 2_000 } as const
  return (["app", "tenant", "appTenant"] as const).flatMap((scope) => [
    entry({
      id: `subscriptions.writes.${scope}`,
      service: "subscriptions",
      group: "subscriptions",
      row: "POST, PUT, DELETE, PATCH",
      methods: writeMethods,
      paths,
      limit: rate(scope, figures[scope], per(20, "second"), { measure: "writeRequests" }),
      source: quote(S.subscriptions, writes) + ` (column: ${columns[scope]}; include restored in the annotated reference)`
    }),
    entry({
      id: `subscriptions.any.${scope}`,
      service: "subscriptions",
      group: "subscriptions",
      row: "Any",
      paths,
      limit: rate(scope, figures[scope], per(20, "second")),
      source: quote(S.subscriptions, any) + ` (column: ${columns[scope]}; include restored in the annotated reference)`
    })
  ])
})()

const planner: ReadonlyArray<EntryData> = [
  entry({
    id: "planner.unavailable",
    service: "planner",
    group: "planner",
    row: "(no figures)",
    paths: plannerPaths,
    limit: unpublished("Service limits for Planner aren't available."),
    source: quote(S.planner, "Service limits for Planner aren't available."),
    note: "No client-side budget. Requests rely on the 429 and its Retry-After."
  })
]

const vivaEngage: ReadonlyArray<EntryData> = [
  entry({
    id: "vivaEngage.appUser",
    service: "vivaEngage",
    group: "vivaEngage",
    row: "10 requests per user, per app, within a 30-second time period",
    paths: vivaEngagePaths,
    limit: rate("appUser", 10, per(30, "second")),
    source: quote(
      S.vivaEngage,
      "Viva Engage API calls are subject to rate limiting, allowing 10 requests per user, per app, within a 30-second time period."
    ),
    note: "The user is the signed-in user; in app-only context the app stands in for the user."
  })
]

/** @internal */
export const entries: ReadonlyArray<EntryData> = [
  ...global,
  ...assignment,
  ...bookings,
  ...cloudCommunications,
  ...callRecords,
  ...pstnCallRecords,
  ...excel,
  ...education,
  ...filesAndLists,
  ...identityReports,
  ...identityAccess,
  ...dataPolicy,
  ...identityProtection,
  ...identityProviders,
  ...informationProtection,
  ...insights,
  ...intuneEntries,
  ...invitations,
  ...reports,
  ...teamsEntries,
  ...multitenantManagement,
  ...onenote,
  ...extensions,
  ...outlook,
  ...projectRome,
  ...security,
  ...eDiscovery,
  ...serviceCommunications,
  ...subscriptions,
  ...planner,
  ...vivaEngage
]
