/**
 * The services of the throttling-limits page: heading, request area (the URL paths this catalogue
 * attributes to the service), the resource types the page lists, and the statements of the section
 * that no bucket enforces, each with the reason.
 *
 * The page names resource *types*, not URL paths, except where a section says "any request on
 * `/reports`" and the like. Every other area below is this project's mapping of those types to the
 * Graph URL paths that address them; `pathsNote` says which is which.
 *
 * @internal
 */
import type { ServiceInfo } from "../../../LimitCatalog.js"

const users = (navigations: ReadonlyArray<string>, owner = "users/{user}"): Array<string> =>
  navigations.map((navigation) => `${owner}/${navigation}/**`)

/** @internal */
export const pstnFunctions = [
  "getPstnCalls",
  "getDirectRoutingCalls",
  "getPstnBlockedUsersLog",
  "getPstnOnlineMeetingDialoutReport",
  "getSmsLog"
] as const

/** @internal */
export const pstnPattern = `communications/callRecords/{collection|${pstnFunctions.join("|")}}/**`

/** @internal */
export const identityReportApis = [
  "authenticationMethods",
  "applicationSignInDetailedSummary",
  "getAzureADApplicationSignInSummary",
  "azureADUserFeatureUsage",
  "getAzureADUserFeatureUsage",
  "getCredentialUsageSummary",
  "getCredentialUserRegistrationCount",
  "credentialUserRegistrationDetails",
  "getRelyingPartyDetailedSummary",
  "userCredentialUsageDetails"
] as const

/** @internal */
export const identityReportPaths = ["auditLogs/**", `reports/{api|${identityReportApis.join("|")}}/**`] as const

/** @internal */
export const identityUserNavigations = [
  "memberOf",
  "transitiveMemberOf",
  "ownedObjects",
  "licenseDetails",
  "manager",
  "directReports",
  "transitiveReports",
  "checkMemberGroups",
  "checkMemberObjects",
  "getMemberGroups",
  "getMemberObjects",
  "appRoleAssignments",
  "oauth2PermissionGrants",
  "ownedDevices",
  "registeredDevices",
  "createdObjects",
  "assignLicense",
  "revokeSignInSessions",
  "changePassword",
  "reprocessLicenseAssignment"
] as const

/** @internal */
export const identityGroupNavigations = [
  "members",
  "transitiveMembers",
  "owners",
  "memberOf",
  "transitiveMemberOf",
  "checkMemberGroups",
  "checkMemberObjects",
  "getMemberGroups",
  "getMemberObjects",
  "settings",
  "appRoleAssignments",
  "permissionGrants",
  "createdOnBehalfOf",
  "assignLicense",
  "membersWithLicenseErrors",
  "renew",
  "validateProperties"
] as const

/** @internal */
export const identityProviderPaths = [
  "identity/identityProviders/**",
  "identityProviders/**",
  "identity/b2cUserFlows/**",
  "identity/b2xUserFlows/**",
  "identity/userFlows/**",
  "identity/userFlowAttributes/**",
  "identity/apiConnectors/**",
  "trustFramework/**",
  "policies/authenticationFlowsPolicy/**",
  "policies/b2cAuthenticationMethodsPolicy/**"
] as const

/** @internal */
export const identityPaths: readonly [string, ...Array<string>] = [
  "users",
  "users/{user}",
  ...users(identityUserNavigations),
  "groups",
  "groups/{group}",
  ...users(identityGroupNavigations, "groups/{group}"),
  "applications/**",
  "servicePrincipals/**",
  "directoryObjects/**",
  "devices/**",
  "contracts/**",
  "domains/**",
  "directoryRoles/**",
  "directoryRoleTemplates/**",
  "groupSettings/**",
  "groupSettingTemplates/**",
  "oauth2PermissionGrants/**",
  "organization/**",
  "contacts/**",
  "subscribedSkus/**",
  "policies/**",
  "directory/**",
  "administrativeUnits/**",
  "getObjectsById",
  "isMemberOf"
]

/** @internal */
export const outlookUserNavigations = [
  "messages",
  "mailFolders",
  "events",
  "calendar",
  "calendars",
  "calendarGroups",
  "calendarView",
  "contacts",
  "contactFolders",
  "outlook",
  "inferenceClassification",
  "mailboxSettings",
  "sendMail",
  "photo",
  "photos",
  "people",
  "findMeetingTimes",
  "getMailTips",
  "reminderView",
  "findRoomLists",
  "findRooms",
  "translateExchangeIds"
] as const

/** @internal */
export const outlookGroupNavigations = [
  "events",
  "calendar",
  "calendarView",
  "conversations",
  "threads",
  "photo",
  "photos",
  "acceptedSenders",
  "rejectedSenders"
] as const

/** @internal */
export const outlookMailboxPaths: readonly [string, ...Array<string>] = [
  "users/{mailbox}/messages/**",
  ...users(outlookUserNavigations.slice(1), "users/{mailbox}"),
  ...users(outlookGroupNavigations, "groups/{mailbox}")
]

/** @internal */
export const teamsPaths: readonly [string, ...Array<string>] = [
  "teams/**",
  "groups/{team}/team/**",
  "chats/**",
  "users/{user}/chats/**",
  "users/{user}/joinedTeams/**",
  "users/{user}/teamwork/**",
  "teamwork/**",
  "appCatalogs/**"
]

/** @internal */
export const assignmentPaths: readonly [string, ...Array<string>] = [
  "education/classes/{class}/assignments/**",
  "education/classes/{class}/assignmentCategories/**",
  "education/classes/{class}/assignmentDefaults/**",
  "education/classes/{class}/assignmentSettings/**",
  "education/me/assignments/**",
  "education/users/{user}/assignments/**",
  "me/assignment/**",
  "users/{user}/insights/trending/**"
]

/** @internal */
export const filesPaths: readonly [string, ...Array<string>] = [
  "drives/**",
  "drive/**",
  "users/{user}/drive/**",
  "users/{user}/drives/**",
  "users/{user}/followedSites/**",
  "groups/{group}/drive/**",
  "groups/{group}/drives/**",
  "sites/**",
  "shares/**"
]

/** @internal */
export const identityProtectionPaths: readonly [string, ...Array<string>] = [
  "identityProtection/**",
  "riskDetections/**",
  "riskyUsers/**",
  "identity/conditionalAccess/**"
]

/** @internal */
export const onenotePaths: readonly [string, ...Array<string>] = [
  "users/{user}/onenote/**",
  "groups/{group}/onenote/**",
  "sites/{site}/onenote/**"
]

/** @internal */
export const plannerPaths: readonly [string, ...Array<string>] = [
  "planner/**",
  "users/{user}/planner/**",
  "groups/{group}/planner/**"
]

/** @internal */
export const vivaEngagePaths: readonly [string, ...Array<string>] = [
  "employeeExperience/communities/**",
  "employeeExperience/engagementAsyncOperations/**",
  "employeeExperience/roles/**"
]

/** @internal */
export const services: ReadonlyArray<typeof ServiceInfo.Encoded> = [
  {
    id: "global",
    heading: "Global limits",
    family: "global",
    area: ["**"],
    resources: ["every request"],
    pathsNote: "Every request.",
    unenforced: [
      {
        statement: "The specific limits described here are subject to change.",
        reason: "Not a limit. Every figure is catalogue data that can be overridden per entry."
      }
    ]
  },
  {
    id: "assignment",
    heading: "Assignment service limits",
    area: assignmentPaths,
    resources: ["educationAssignment", "educationSubmission", "trending", "educationResource"],
    pathsNote:
      "The page lists resource types only. They are mapped here to the assignment paths under `education/` and to `me/insights/trending` (the list includes `trending`). `GET me/Assignment` is a path the page states.",
    unenforced: []
  },
  {
    id: "bookings",
    heading: "Bookings service limits",
    area: ["solutions/bookingBusinesses/**", "bookingBusinesses/**"],
    resources: ["business", "appointment", "customQuestion", "customer", "service", "staffMember"],
    pathsNote:
      "Resource types only; mapped to `solutions/bookingBusinesses/{id}` (the booking mailbox) and the older `bookingBusinesses/{id}`.",
    unenforced: [
      {
        statement: "Listing booking businesses (`solutions/bookingBusinesses` with no id).",
        reason:
          "The limit is per booking mailbox, and a request without a business id names no mailbox. Only the other limits apply to it."
      }
    ]
  },
  {
    id: "cloudCommunications",
    heading: "Cloud communication service limits",
    area: [
      "communications/calls/**",
      "communications/onlineMeetings/**",
      "users/{user}/onlineMeetings/**",
      "users/{user}/presence/**",
      "communications/presences/**",
      "communications/getPresencesByUserId/**",
      "solutions/virtualEvents/**"
    ],
    resources: ["call", "meetingInfo", "presence", "virtualEvent"],
    pathsNote:
      "Resource types only; mapped to `communications/calls`, the online meeting creation paths, presence paths and `solutions/virtualEvents`.",
    unenforced: [
      {
        statement: "Meetings created through other routes, such as a calendar event with `isOnlineMeeting`.",
        reason:
          "The classifier sees the method, URL and body size, not the body's meaning, so only creations through the online meeting paths are counted against 2,000 meetings per user per month."
      }
    ]
  },
  {
    id: "callRecords",
    heading: "Call records limits",
    area: ["communications/callRecords/**"],
    except: [pstnPattern],
    resources: ["callRecord", "participant", "session"],
    pathsNote:
      "Resource types only; mapped to `communications/callRecords` (list) and `communications/callRecords/{id}/...` (one record and its sessions). A `$skiptoken` in the query marks a subsequent page.",
    unenforced: []
  },
  {
    id: "pstnCallRecords",
    heading: "PSTN call records limits",
    area: [pstnPattern],
    resources: [
      "directRoutingLogRow",
      "pstnBlockedUsersLogRow",
      "pstnCallLogRow",
      "pstnOnlineMeetingDialoutReport",
      "smsLogRow"
    ],
    pathsNote: `Resource types only; mapped to the call record functions ${pstnFunctions.map((f) => `\`${f}\``).join(", ")}. Each function is one collection.`,
    unenforced: []
  },
  {
    id: "excel",
    heading: "Excel service limits",
    area: ["**/workbook/**"],
    resources: ["workbook and the 43 workbook* types of the include"],
    pathsNote: "Resource types only; mapped to any path through a `workbook` segment.",
    unenforced: [
      {
        statement: "For explanations and best practices related to Excel service throttling, see Reduce throttling errors.",
        reason: "Guidance on another page, not a limit."
      }
    ]
  },
  {
    id: "education",
    heading: "Education service limits",
    area: ["education/**"],
    except: assignmentPaths,
    resources: [
      "educationClass",
      "educationCourse",
      "educationOnPremisesInfo",
      "educationOrganization",
      "educationRelatedContact",
      "educationRoot",
      "educationSchool",
      "educationStudent",
      "educationTeacher",
      "educationTerm",
      "educationUser"
    ],
    pathsNote: "Resource types only; mapped to `education/...` except the assignment paths, which belong to the Assignment service.",
    unenforced: []
  },
  {
    id: "filesAndLists",
    heading: "Files and lists service limits",
    family: "files",
    area: filesPaths,
    except: ["sites/{site}/onenote/**"],
    resources: [
      "baseItem",
      "baseItemVersion",
      "columnDefinition",
      "columnLink",
      "contentType",
      "drive",
      "driveItem",
      "driveItemVersion",
      "fieldValueSet",
      "itemActivity",
      "itemActivityStat",
      "itemAnalytics",
      "list",
      "listItem",
      "listItemVersion",
      "permission",
      "sharedDriveItem",
      "site",
      "thumbnailSet"
    ],
    pathsNote: "Resource types only; mapped to the drive, site and share paths.",
    unenforced: []
  },
  {
    id: "identityReports",
    heading: "Identity and access reports service limits",
    area: [...identityReportPaths],
    resources: [
      "applicationSignInDetailedSummary",
      "applicationSignInSummary",
      "auditLogRoot",
      "authenticationMethod",
      "azureADUserFeatureUsage",
      "credentialUsageSummary",
      "credentialUserRegistrationCount",
      "credentialUserRegistrationDetails",
      "directoryAudit",
      "provisioningObjectSummary",
      "relyingPartyDetailedSummary",
      "signIn",
      "userCredentialUsageDetails"
    ],
    pathsNote:
      "Resource types only; mapped to `auditLogs/...` and to the Microsoft Entra report functions under `reports/` (which the Microsoft 365 reports limits therefore do not claim).",
    unenforced: [
      {
        statement: "Calls might also be throttled if the service takes too long to respond.",
        reason: "Depends on the service's response time, which a client cannot count in advance. Only the 429 and its back-off handle it."
      },
      {
        statement: "Use `$filter` and `$select`, and narrow `createdDateTime` ranges, to reduce throttling.",
        reason: "Advice for writing queries, not a limit."
      }
    ]
  },
  {
    id: "identityAccess",
    heading: "Identity and access service limits",
    family: "identityAndAccess",
    area: identityPaths,
    except: [...identityProviderPaths],
    resources: [
      "application",
      "contract",
      "device",
      "directoryObjectPartnerReference",
      "directoryObject",
      "directoryRoleTemplate",
      "directoryRole",
      "domainDnsCnameRecord",
      "domainDnsMxRecord",
      "domainDnsRecord",
      "domainDnsSrvRecord",
      "domainDnsTxtRecord",
      "domainDnsUnavailableRecord",
      "domain",
      "endpoint",
      "extensionProperty",
      "groupSettingTemplate",
      "groupSetting",
      "group",
      "homeRealmDiscoveryPolicy",
      "licenseDetails",
      "oAuth2PermissionGrant",
      "organization",
      "orgContact",
      "policyBase",
      "servicePrincipal",
      "stsPolicy",
      "subscribedSku",
      "tokenIssuancePolicy",
      "tokenLifetimePolicy",
      "user"
    ],
    pathsNote:
      "The cost table states request paths; the resource list states types. The area is the directory collections plus the directory navigations of `users/{id}` and `groups/{id}` (mail, calendar, drive, Teams and other workloads under a user or group are not identity requests).",
    unenforced: [
      {
        statement: "tenant | Resource unit quota: Not Applicable",
        reason: "The page states that there is no tenant-wide resource-unit quota, so there is nothing to enforce."
      },
      {
        statement:
          "It's possible to receive 429 Too Many Requests responses even when the following limits aren't reached, in situations when the services are under an important load or based on data volume for a specific tenant.",
        reason: "Depends on server load, which a client cannot see in advance. Only the 429 and its Retry-After handle it."
      },
      {
        statement: "x-ms-throttle-priority request header (Low, Normal, High).",
        reason:
          "A request header the caller chooses. The page says it does not change the limits, so the catalogue has no bucket for it."
      },
      {
        statement:
          "x-ms-resource-unit, x-ms-throttle-limit-percentage, x-ms-throttle-scope and x-ms-throttle-information response headers.",
        reason:
          "Feedback the server sends after a request, not a budget. Demands carry `service` and `scope` so the throttler can match `x-ms-throttle-scope` to buckets."
      }
    ]
  },
  {
    id: "dataPolicy",
    heading: "Identity and access data policy operation service limits",
    area: ["users/{subject}/exportPersonalData", "dataPolicyOperations/**"],
    resources: ["dataPolicyOperation"],
    pathsNote: "`exportPersonalData` is stated; dataPolicyOperation is mapped to `dataPolicyOperations/...`.",
    unenforced: []
  },
  {
    id: "identityProtection",
    heading: "Identity protection and conditional access service limits",
    area: identityProtectionPaths,
    resources: [
      "riskDetection",
      "riskyUser",
      "riskyUserHistoryItem",
      "namedLocation",
      "countryNamedLocation",
      "ipNamedLocation",
      "conditionalAccessPolicy"
    ],
    pathsNote: "Resource types only; mapped to `identityProtection/...`, the older root paths and `identity/conditionalAccess/...`.",
    unenforced: []
  },
  {
    id: "identityProviders",
    heading: "Identity providers service limits",
    area: [...identityProviderPaths],
    resources: [
      "assignmentOrder",
      "authenticationFlowsPolicy",
      "b2cAuthenticationMethodsPolicy",
      "b2cIdentityUserFlow",
      "b2xIdentityUserFlow",
      "builtInIdentityProvider",
      "identityApiConnector",
      "identityBuiltInUserFlowAttribute",
      "identityCustomUserFlowAttribute",
      "identityProvider",
      "identityUserFlow",
      "identityUserFlowAttribute",
      "identityUserFlowAttributeAssignment",
      "openIdConnectIdentityProvider",
      "openIdConnectProvider",
      "socialIdentityProvider",
      "trustFramework",
      "trustFrameworkKeySet",
      "trustFrameworkPolicy",
      "userFlowLanguageConfiguration",
      "userFlowLanguagePage"
    ],
    pathsNote: "Resource types only; mapped to the identity provider, user flow, API connector and trust framework paths.",
    unenforced: []
  },
  {
    id: "informationProtection",
    heading: "Information protection service limits",
    area: ["informationProtection/**"],
    resources: [
      "threatAssessmentRequest",
      "threatAssessmentResult",
      "mailAssessmentRequest",
      "emailFileAssessmentRequest",
      "fileAssessmentRequest",
      "urlAssessmentRequest"
    ],
    pathsNote: "Stated: any request on `/informationProtection`.",
    unenforced: [
      {
        statement: "Per-resource limits when the request body is not given to the classifier.",
        reason:
          "The resource (message id and recipient, URL or file) is in the request body. Without the body the per-resource entries are reported as `missingKey` and only the tenant limits apply."
      }
    ]
  },
  {
    id: "insights",
    heading: "Insights service limits",
    area: ["users/{user}/insights/**"],
    resources: ["people", "sharedInsight", "trending", "usedInsight"],
    pathsNote: "Stated: any request on `me/insights` or `users/{id}/insights`.",
    unenforced: []
  },
  {
    id: "intune",
    heading: "Intune service limits",
    area: ["deviceManagement/**", "deviceAppManagement/**", "users/{user}/managedDevices/**", "users/{user}/managedAppRegistrations/**", "users/{user}/deviceManagementTroubleshootingEvents/**", "users/{user}/mobileAppIntentAndStates/**", "users/{user}/mobileAppTroubleshootingEvents/**"],
    resources: ["the resource types of the 28 Intune includes (see each area's entries)"],
    pathsNote:
      "Resource types only. Each of the 28 areas is mapped to the `deviceManagement/` and `deviceAppManagement/` collections of its types. Intune paths that no area claims get the figures 27 of the 28 areas share (entries `intune.unmapped.*`).",
    unenforced: []
  },
  {
    id: "invitations",
    heading: "Invitation manager service limits",
    area: ["invitations/**"],
    resources: ["invitation"],
    pathsNote: "Stated: any request on `/invitations`.",
    unenforced: []
  },
  {
    id: "reports",
    heading: "Microsoft 365 reports service limits",
    area: ["reports/**"],
    except: [`reports/{api|${identityReportApis.join("|")}}/**`],
    resources: ["report (all usage reports resources)"],
    pathsNote:
      "Stated: any request on `/reports`, except the Microsoft Entra reports under `reports/`, which have their own section. Each report API (the segment after `reports/`) has its own bucket. `$format=application/json` selects the JSON (beta) row, anything else the CSV row.",
    unenforced: [
      {
        statement: "Any request (JSON, beta) | Limit per tenant for all apps: n/a",
        reason: "The page gives no tenant-wide figure for JSON reports, so there is nothing to enforce."
      }
    ]
  },
  {
    id: "teams",
    heading: "Microsoft Teams service limits",
    area: teamsPaths,
    resources: [
      "aadUserConversationMember",
      "appCatalogs",
      "changeTrackedEntity",
      "channel",
      "chatMessage",
      "chatMessageHostedContent",
      "conversationMember",
      "offerShiftRequest",
      "openShift",
      "openShiftChangeRequest",
      "schedule",
      "scheduleChangeRequest",
      "schedulingGroup",
      "shift",
      "shiftPreferences",
      "swapShiftsChangeRequest",
      "team",
      "teamsApp",
      "teamsAppDefinition",
      "teamsAppInstallation",
      "teamsAsyncOperation",
      "teamsTab",
      "teamsTemplate",
      "teamwork",
      "timeOff",
      "timeOffReason",
      "timeOffRequest",
      "userSettings",
      "workforceIntegration"
    ],
    pathsNote:
      "The table states some paths (`/teams/{team-id}/...`, `/chats/{chat-id}/...`); rows that name operations (\"GET channel\") are mapped to their paths. \"Other GET API calls\" and \"Other API calls\" apply only when no other row of the table matched.",
    unenforced: [
      {
        statement: "See also Microsoft Teams limits and polling requirements.",
        reason: "Limits on another page (message sizes, polling frequency), outside this specification."
      }
    ]
  },
  {
    id: "multitenantManagement",
    heading: "Multitenant management service limits",
    area: ["tenantRelationships/managedTenants/**"],
    resources: ["the 23 managedTenants types of the include (managedTenant, tenant, tenantGroup, ...)"],
    pathsNote: "Resource types only; mapped to `tenantRelationships/managedTenants/...`.",
    unenforced: []
  },
  {
    id: "onenote",
    heading: "OneNote service limits",
    area: onenotePaths,
    resources: ["notebook", "onenote", "onenoteOperation", "onenotePage", "onenoteResource", "onenoteSection", "sectionGroup"],
    pathsNote: "Resource types only; mapped to the `onenote` navigation of users, groups and sites.",
    unenforced: []
  },
  {
    id: "extensions",
    heading: "Open and schema extensions service limits",
    area: ["**/extensions/**", "schemaExtensions/**"],
    resources: [
      "administrativeUnit",
      "contact",
      "device",
      "event",
      "group",
      "message",
      "openTypeExtension",
      "organization",
      "post",
      "schemaExtension",
      "user"
    ],
    pathsNote:
      "Resource types only, and the page does not say whether the limit covers every request on those types or only extension operations. Applying 455 requests per 10 s to all user, group and message traffic would be implausible, so it is mapped to the extension operations: any `.../extensions/...` path and `schemaExtensions/...`.",
    unenforced: [
      {
        statement: "Schema extension values read or written as properties of a resource (no `extensions` segment).",
        reason: "Only the request body or `$select` reveals them, and classifying whole user or group traffic as extension traffic would over-throttle it."
      }
    ]
  },
  {
    id: "outlook",
    heading: "Outlook service limits",
    family: "outlook",
    batchWithinCap: true,
    area: [...outlookMailboxPaths, "external/connections/{connection}/items/**"],
    resources: [
      "Search API (preview): externalItem",
      "Profile API: photo",
      "Calendar API: event, eventMessage, calendar, calendarGroup, outlookCategory, attachment, place",
      "Mail API: message, mailFolder, mailSearchFolder, messageRule, outlookCategory, attachment",
      "Personal contacts API: contact, contactFolder, outlookCategory",
      "Social and workplace intelligence: person",
      "To-do tasks API (preview): outlookTask, outlookTaskFolder, outlookTaskGroup, outlookCategory, attachment"
    ],
    pathsNote:
      "Resource types only; mapped to the mailbox navigations of `users/{id}` and `groups/{id}` (messages, mailFolders, events, calendar, contacts, outlook, photo, people, sendMail and so on). The mailbox is the addressed user or group.",
    unenforced: [
      {
        statement:
          "JSON batching: Graph sends the Outlook service up to four individual requests from an unordered batch at a time, and one at a time with dependsOn.",
        reason:
          "Describes how Graph dispatches items inside a batch, not a budget. The client-side bound it protects is the four-concurrent-requests-per-mailbox entry; the service's `batchWithinCap` tells the client that a parallel batch runs within that cap."
      },
      {
        statement: "Search API (preview): external items (`external/connections/{id}/items`).",
        reason: "Not addressed to a mailbox, so the per-mailbox limits have no key. The service is still named, and the global limit applies."
      },
      {
        statement: "The same mailbox addressed by object id in one request and by UPN in another.",
        reason:
          "Only the acting user's id and UPN are known to be the same mailbox (from the context). For anyone else the two spellings are two buckets, unless the caller uses one spelling consistently."
      }
    ]
  },
  {
    id: "projectRome",
    heading: "Project Rome service limits",
    area: ["users/{user}/activities/**"],
    resources: ["activityHistoryItem", "userActivity"],
    pathsNote: "Resource types only; mapped to `me/activities` / `users/{id}/activities` and their history items.",
    unenforced: []
  },
  {
    id: "security",
    heading: "Security detections and incidents service limits",
    area: ["security/**"],
    resources: ["alert", "securityActions", "secureScore", "tiIndicator", "secureScoreControlProfile"],
    pathsNote:
      "Stated: any request on `/security`; the rows name the `alerts`, `securityActions`, `secureScores`, `tiIndicators` and `secureScoreControlProfiles` collections.",
    unenforced: [
      {
        statement: "Other requests on `/security` (incidents, alerts_v2, hunting, ...).",
        reason: "The section gives no figure for them. The service is named, and only the global limit applies."
      }
    ]
  },
  {
    id: "eDiscovery",
    heading: "Security eDiscovery service limits",
    area: ["security/eDiscoveryCases/**", "security/cases/eDiscoveryCases/**"],
    resources: ["ediscoveryCase and its children"],
    pathsNote: "Stated: any request on `/security/eDiscoveryCases`; the v1.0 spelling `security/cases/ediscoveryCases` is included.",
    unenforced: []
  },
  {
    id: "serviceCommunications",
    heading: "Service Communications service limits",
    area: ["admin/serviceAnnouncement/**"],
    resources: ["serviceAnnouncement, serviceHealth, serviceHealthIssue, serviceUpdateMessage"],
    pathsNote: "Stated: any request under `/admin/serviceAnnouncement/`.",
    unenforced: []
  },
  {
    id: "subscriptions",
    heading: "Subscription service limits",
    area: ["subscriptions/**"],
    resources: ["subscription"],
    pathsNote: "Resource type only; mapped to `subscriptions/...`.",
    unenforced: []
  },
  {
    id: "planner",
    heading: "Tasks and plans service limits",
    area: plannerPaths,
    resources: [
      "planner",
      "plannerAssignedToTaskBoardTaskFormat",
      "plannerBucket",
      "plannerBucketTaskBoardTaskFormat",
      "plannerGroup",
      "plannerPlan",
      "plannerPlanDetails",
      "plannerProgressTaskBoardTaskFormat",
      "plannerTask",
      "plannerTaskDetails",
      "plannerUser"
    ],
    pathsNote: "Resource types only; mapped to `planner/...` and the `planner` navigation of users and groups.",
    unenforced: []
  },
  {
    id: "vivaEngage",
    heading: "Viva Engage service limits",
    area: vivaEngagePaths,
    resources: ["(none listed)"],
    pathsNote:
      "The section names neither resources nor paths. It is mapped to the Viva Engage APIs under `employeeExperience/` (communities, engagement async operations, roles).",
    unenforced: []
  }
]
